package tape

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"exbackup/internal/durable"
	"exbackup/tape/mtf"
)

// DefaultSoftware is the software name written in the TAPE block.
const DefaultSoftware = "exbackup"

// ErrBusy is returned when a tape is being written by another set writer.
var ErrBusy = errors.New("tape is in use by another backup")

// ErrNoSet is returned for a set number the tape does not hold.
var ErrNoSet = errors.New("no such set on tape")

// Info is what the TAPE block says about a tape.
type Info struct {
	Name        string // the media name, "Tape created on 11/25/2026"
	FamilyID    uint32
	Sequence    int
	Description string // the media description or label
	Created     time.Time
	Software    string
	FLBSize     int
	Path        string // the .bkf file
	Size        int64  // bytes on disk when read
	Err         error  // set by Library.List for a file that is not a readable tape
}

// Capabilities tells what a tape drive can do, so that callers can refuse
// options the drive lacks.
type Capabilities struct {
	// HardwareCompression is false for file tapes: NT Backup greyed the
	// option for drives without it.
	HardwareCompression bool
	// Append is true when sets can be added.
	Append bool
}

// CreateOptions describe a new tape.
type CreateOptions struct {
	Description string    // media description or label
	FamilyID    uint32    // media family id; 0 draws a random one
	Software    string    // default DefaultSoftware
	FLBSize     int       // 512 or 1024 (default)
	Created     time.Time // default now
}

// Tape is a file tape: one .bkf file. A Tape holds no open file between
// calls; methods may be called from several goroutines, but a tape has at
// most one set writer at a time, and Commit must not run beside any other
// call.
type Tape struct {
	path  string
	final string // a staged tape's destination (Stage), "" once committed
	hold  func() // a staged tape's hold on the lock, until Commit or Discard
	mu    sync.Mutex
	info  Info
}

// writers holds the tapes being written, by absolute path, so that two set
// writers (or a writer and an erase) of this process never meet on one
// file; the lock file (lock.go) keeps other processes away.
var (
	writersMu sync.Mutex
	writers   = map[string]bool{}
)

func lockPath(path, name, job string) (unlock func(), err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	writersMu.Lock()
	defer writersMu.Unlock()
	if writers[abs] {
		return nil, fmt.Errorf("%s: %w", path, ErrBusy)
	}
	release, err := acquire(abs, name, job)
	if err != nil {
		return nil, err
	}
	writers[abs] = true
	return func() {
		writersMu.Lock()
		delete(writers, abs)
		writersMu.Unlock()
		release()
	}, nil
}

// Create writes a new tape at path holding only its TAPE header (media
// family id, sequence 1, name, label, software, FLB size) and soft filemark,
// replacing any file there. The new file is written beside the old one and
// renamed over it once synced, so a failed create leaves the old tape.
func Create(path, name string, o CreateOptions) (*Tape, error) {
	unlock, err := lockPath(path, name, "backup")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := writeHeader(path, name, o); err != nil {
		return nil, err
	}
	return Open(path)
}

// StagePath is where a tape being replaced at path is written until
// Commit: beside it, hidden from the library's listing.
func StagePath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".new")
}

// Stage starts a new tape that is to replace the one at path (NT Backup's
// Replace) without touching it: the new tape is written at StagePath and
// its sets appended there; Commit puts it in place of the old one in one
// rename, Discard drops it. The old tape stays whole and readable until
// Commit. A staged file a killed process left behind is written over.
func Stage(path, name string, o CreateOptions) (*Tape, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	// The staged tape holds the tape's lock until Commit or Discard, so
	// that no one else writes the tape, or takes the staged file for one a
	// dead process left, between its sets.
	hold, err := acquire(abs, name, "backup")
	if err != nil {
		return nil, err
	}
	unlock, err := lockPath(path, name, "backup")
	if err != nil {
		hold()
		return nil, err
	}
	defer unlock()
	stage := StagePath(path)
	if err := writeHeader(stage, name, o); err != nil {
		hold()
		return nil, err
	}
	t, err := Open(stage)
	if err != nil {
		os.Remove(stage)
		hold()
		return nil, err
	}
	t.final, t.hold = path, hold
	return t, nil
}

// Commit replaces the tape a staged tape stands for with it: a rename over
// the old file and a sync of the folder, so that after a crash the folder
// holds the old tape or the new one, whole. The Tape is then the tape at
// its own path.
func (t *Tape) Commit() error {
	t.mu.Lock()
	final := t.final
	t.mu.Unlock()
	if final == "" {
		return nil
	}
	unlock, err := lockPath(final, t.displayName(), "backup")
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Rename(t.path, final); err != nil {
		return fmt.Errorf("tape %q: putting the new tape in place: %w", t.displayName(), err)
	}
	t.mu.Lock()
	t.path, t.final, t.info.Path = final, "", final
	hold := t.hold
	t.hold = nil
	t.mu.Unlock()
	defer hold()
	if err := durable.SyncDir(filepath.Dir(final)); err != nil {
		return fmt.Errorf("tape %q: %w", t.displayName(), err)
	}
	return nil
}

// Discard removes a staged tape that is not to be committed; the tape it
// was to replace is left as it was.
func (t *Tape) Discard() error {
	t.mu.Lock()
	final, path := t.final, t.path
	t.mu.Unlock()
	if final == "" {
		return nil
	}
	unlock, err := lockPath(final, t.displayName(), "backup")
	if err != nil {
		return err
	}
	defer unlock()
	err = os.Remove(path)
	t.mu.Lock()
	t.final = ""
	hold := t.hold
	t.hold = nil
	t.mu.Unlock()
	hold()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("tape %q: removing the unfinished new tape %s: %w", t.displayName(), path, err)
	}
	return nil
}

// lockKey is the path whose lock guards the tape: a staged tape is guarded
// as the tape it replaces.
func (t *Tape) lockKey() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.final != "" {
		return t.final
	}
	return t.path
}

func writeHeader(path, name string, o CreateOptions) error {
	if o.FamilyID == 0 {
		var b [4]byte
		for o.FamilyID == 0 {
			rand.Read(b[:])
			o.FamilyID = binary.LittleEndian.Uint32(b[:])
		}
	}
	if o.Software == "" {
		o.Software = DefaultSoftware
	}
	if o.FLBSize == 0 {
		o.FLBSize = mtf.DefaultFLBSize
	}
	if o.Created.IsZero() {
		o.Created = time.Now()
	}
	o.Created = o.Created.UTC().Truncate(time.Second)
	// A new tape is its header and nothing else: small enough to build in
	// memory and write whole.
	var buf bytes.Buffer
	w, err := mtf.NewWriter(&buf, 0, mtf.WriterOptions{FLBSize: o.FLBSize, SoftFilemarkSize: max(o.FLBSize, mtf.DefaultSoftFilemarkSize), BufferSize: 64 << 10})
	if err != nil {
		return fmt.Errorf("creating tape %q: %w", name, err)
	}
	th := &mtf.TapeHeader{
		MediaFamilyID: o.FamilyID,
		MediaSequence: 1,
		MediaName:     name,
		MediaLabel:    o.Description,
		SoftwareName:  o.Software,
		MediaDate:     o.Created,
		// Each set ends with a type 1 media based catalog (see AppendSet).
		CatalogType: mtf.CatalogType1,
	}
	if err := w.WriteTape(th); err != nil {
		return fmt.Errorf("creating tape %q: %w", name, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("creating tape %q: %w", name, err)
	}
	if err := durable.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("creating tape %q: %w", name, err)
	}
	return nil
}

// Open opens the tape in the .bkf file at path, reading its TAPE header.
func Open(path string) (*Tape, error) {
	t := &Tape{path: path}
	f, r, err := t.open()
	if err != nil {
		return nil, err
	}
	f.Close()
	t.info = infoOf(r, path)
	return t, nil
}

func infoOf(r *mtf.Reader, path string) Info {
	th := r.Tape()
	return Info{
		Name:        th.MediaName,
		FamilyID:    th.MediaFamilyID,
		Sequence:    int(th.MediaSequence),
		Description: th.MediaLabel,
		Created:     th.MediaDate,
		Software:    th.SoftwareName,
		FLBSize:     int(th.FLBSize),
		Path:        path,
		Size:        r.Size(),
	}
}

// open opens the file and reads its TAPE block; errors name the file.
func (t *Tape) open() (*os.File, *mtf.Reader, error) {
	f, err := os.Open(t.path)
	if err != nil {
		return nil, nil, fmt.Errorf("opening tape: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("opening tape: %w", err)
	}
	r, err := mtf.NewReader(f, st.Size(), t.displayName())
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, r, nil
}

func (t *Tape) displayName() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.info.Name != "" {
		return t.info.Name
	}
	return t.path
}

// Info returns what the TAPE header says, as read when the tape was opened.
func (t *Tape) Info() Info {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.info
}

// Path returns the tape's file.
func (t *Tape) Path() string { return t.path }

// Capabilities of a file tape: no hardware compression; appending is
// possible.
func (t *Tape) Capabilities() Capabilities {
	return Capabilities{HardwareCompression: false, Append: true}
}

// Listing is what reading a whole tape found.
type Listing struct {
	Info Info
	Sets []Set
	// Problems are damage found outside any set: the TAPE block failing
	// its digest, bytes after the last set that are no block (the start of
	// a set cut before its header was whole).
	Problems []error
	// FromCatalog is set when the sets were read from the tape's media
	// based catalog (QuickScan), not from its blocks.
	FromCatalog bool
	// Fallback is, when QuickScan read the blocks of a tape with a media
	// based catalog, why it could not use the catalog: the catalog, or an
	// exbackup set's digest table, missing or not checking out.
	Fallback error
}

// Scan reads the whole tape's metadata (file data is stepped over) and lists
// its sets in tape order, with their entries. Aborted and damaged sets are
// listed with their state and reason; the error is for a tape that cannot
// be read at all.
func (t *Tape) Scan() (Listing, error) {
	f, r, err := t.open()
	if err != nil {
		return Listing{}, err
	}
	defer f.Close()
	c, err := r.Scan()
	if err != nil {
		return Listing{}, fmt.Errorf("reading tape %q: %w", t.displayName(), err)
	}
	l := Listing{Info: infoOf(r, t.path), Problems: c.Problems, Sets: make([]Set, 0, len(c.Sets))}
	for i, s := range c.Sets {
		l.Sets = append(l.Sets, fromContents(t.displayName(), s, i == len(c.Sets)-1, r.Size()))
	}
	return l, nil
}

// Sets lists the tape's sets in tape order (see Scan).
func (t *Tape) Sets() ([]Set, error) {
	l, err := t.Scan()
	return l.Sets, err
}

// Set returns the set with the given number (the last one so numbered when
// a foreign tape repeats a number).
func (t *Tape) Set(number int) (Set, error) {
	sets, err := t.Sets()
	if err != nil {
		return Set{}, err
	}
	for i := len(sets) - 1; i >= 0; i-- {
		if sets[i].Number == number {
			return sets[i], nil
		}
	}
	return Set{}, fmt.Errorf("tape %q, set %d: %w", t.displayName(), number, ErrNoSet)
}
