package xlog

import (
	"crypto/rand"
	"errors"
	"exbackup/internal/durable"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// Options configure Open.
type Options struct {
	Base        string   // file base name; default "edb"
	MaxFileSize int64    // roll edb.log once an append makes it this large; default 5 MiB
	Signature   [16]byte // signature of a newly created set; zero picks a random one
	NoSync      bool     // skip every fsync: for tests only, durability is gone
	// Where a newly created set starts: its first generation and first LSN
	// (default 1 and 1). A restore that replaces a store's logs starts the
	// new set above everything its databases have applied.
	FirstGen uint32
	FirstLSN uint64
}

// Log is an open log set, appended to through edb.log. Its methods are safe
// for concurrent use; Append calls are serialized, so group commit is the
// caller's batching of several payloads into one Append.
//
// After a failed write, fsync, rename or file creation the Log is unusable:
// the outcome on disk is unknown, and carrying on could acknowledge records
// that are not durable. Every later Append, Roll and Remove returns the
// error; Close and Open again, which recovers as after a crash.
type Log struct {
	mu       sync.Mutex
	dir      string
	base     string
	opts     Options
	f        *os.File // edb.log
	size     int64    // bytes of edb.log
	gen      uint32   // of edb.log
	firstLSN uint64   // of edb.log
	last     uint64   // last LSN written
	sig      [16]byte
	rolled   []GenInfo // rolled generations present, oldest first
	buf      []byte
	failed   error
	closed   bool
}

// Open opens the log set in dir, creating the directory and a new set
// (edb.log, generation Options.FirstGen, first LSN Options.FirstLSN, both
// 1 by default) if there is none. An existing set is
// checked: every generation header, one signature, generations without a
// gap up to edb.log, edb.log following on from the last rolled generation,
// and every record of edb.log. A torn tail of edb.log — a crash during an
// append — is truncated away; other damage is an error. A crash between
// rolling edb.log and creating its successor leaves no edb.log: Open
// creates it. Leftover temporary files are removed.
func Open(dir string, opts Options) (*Log, error) {
	opts.Base = baseOr(opts.Base)
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.FirstLSN > maxFirstLSN {
		return nil, fmt.Errorf("opening transaction log in %s: first LSN %d is out of range", dir, opts.FirstLSN)
	}
	l := &Log{dir: dir, base: opts.Base, opts: opts}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating transaction log directory: %w", err)
		}
		if err := l.syncDir(filepath.Dir(dir)); err != nil {
			return nil, err
		}
	}
	for _, tmp := range []string{l.curPath() + ".tmp", checkpointPath(dir, l.base) + ".tmp"} {
		if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("removing leftover %s: %w", tmp, err)
		}
	}
	files, err := scanDir(dir, l.base)
	if err != nil {
		return nil, err
	}
	if err := checkChain(dir, l.base, files); err != nil {
		return nil, err
	}
	var cur *genFile
	if n := len(files); n > 0 && files[n-1].Current {
		cur, files = &files[n-1], files[:n-1]
	}
	for _, g := range files {
		l.rolled = append(l.rolled, g.GenInfo)
	}
	// The generation edb.log continues: the last rolled one, if any.
	var prevGen uint32
	var prevEnd uint64
	if n := len(files); n > 0 {
		prev := files[n-1]
		r, err := OpenReader(prev.Path)
		if err != nil {
			return nil, err
		}
		// Rolled files were synced before their rename: no torn tail.
		prevEnd, err = r.scan(false)
		r.Close()
		if err != nil {
			return nil, err
		}
		prevGen = prev.Gen
	}
	switch {
	case cur == nil && len(files) == 0:
		sig := opts.Signature
		if sig == ([16]byte{}) {
			rand.Read(sig[:])
		}
		l.sig = sig
		err = l.createCurrent(max(opts.FirstGen, 1), max(opts.FirstLSN, 1))
	case cur == nil:
		l.sig = files[0].sig
		err = l.createCurrent(prevGen+1, prevEnd+1)
	default:
		l.sig = cur.sig
		if len(files) > 0 && cur.FirstLSN != prevEnd+1 {
			return nil, errorf(ErrCorrupt, "transaction log %s starts at LSN %d but %s ends at LSN %d",
				cur.Path, cur.FirstLSN, filepath.Base(files[len(files)-1].Path), prevEnd)
		}
		err = l.openCurrent()
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// openCurrent checks edb.log to its end, truncates a torn tail and opens it
// for appending.
func (l *Log) openCurrent() error {
	f, err := os.OpenFile(l.curPath(), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("opening transaction log: %w", err)
	}
	r, err := newReader(l.curPath(), f)
	if err != nil {
		f.Close()
		return err
	}
	last, err := r.scan(true)
	if err != nil {
		f.Close()
		return err
	}
	if end := r.Offset(); end < r.size {
		if err := f.Truncate(end); err != nil {
			f.Close()
			return fmt.Errorf("transaction log %s: truncating the torn tail at offset %d: %w", l.curPath(), end, err)
		}
		if err := l.sync(f); err != nil {
			f.Close()
			return err
		}
	}
	l.f, l.size, l.gen, l.firstLSN, l.last = f, r.Offset(), r.hdr.Gen, r.hdr.FirstLSN, last
	return nil
}

// createCurrent makes a new edb.log: written and synced under a temporary
// name, then renamed into place, so edb.log always has a whole header.
func (l *Log) createCurrent(gen uint32, first uint64) error {
	path, tmp := l.curPath(), l.curPath()+".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("creating transaction log: %w", err)
	}
	hdr := FileHeader{Version: formatVersion, Gen: gen, FirstLSN: first, Signature: l.sig}
	_, err = f.Write(hdr.marshal())
	if err == nil {
		err = l.sync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("creating transaction log %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("creating transaction log: %w", err)
	}
	if err := l.syncDir(l.dir); err != nil {
		return err
	}
	if l.f, err = os.OpenFile(path, os.O_RDWR, 0); err != nil {
		return fmt.Errorf("opening transaction log: %w", err)
	}
	l.size, l.gen, l.firstLSN, l.last = HeaderSize, gen, first, first-1
	return nil
}

// Append writes the payloads as consecutive records with one write and one
// fsync, and returns their LSNs. It rolls edb.log afterwards if it has
// reached MaxFileSize. When err is nil every record is durable. When err is
// not nil and the Log became unusable (a write, fsync or roll failed), the
// records may or may not be in the log when it is opened again: the caller
// must stop and recover, as after a crash. Append with no payloads does
// nothing and returns 0, 0, nil.
func (l *Log) Append(payloads ...[]byte) (first, last uint64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return 0, 0, err
	}
	if len(payloads) == 0 {
		return 0, 0, nil
	}
	total := 0
	for i, p := range payloads {
		if len(p) > MaxPayload {
			return 0, 0, fmt.Errorf("transaction log %s: record %d of %d is %d bytes, more than the %d-byte limit",
				l.curPath(), i+1, len(payloads), len(p), MaxPayload)
		}
		total += frameOverhead + len(p)
	}
	buf := l.buf[:0]
	if cap(buf) < total {
		buf = make([]byte, 0, total)
	}
	first = l.last + 1
	for i, p := range payloads {
		buf = appendFrame(buf, first+uint64(i), p)
	}
	if _, err := l.f.WriteAt(buf, l.size); err != nil {
		return 0, 0, l.fail(fmt.Errorf("transaction log %s: writing at offset %d: %w", l.curPath(), l.size, err))
	}
	if err := l.sync(l.f); err != nil {
		return 0, 0, l.fail(err)
	}
	l.size += int64(len(buf))
	l.last = first + uint64(len(payloads)) - 1
	if cap(buf) <= 1<<20 { // keep a small buffer, not one huge batch's
		l.buf = buf[:0]
	}
	if l.size >= l.opts.MaxFileSize {
		if _, err := l.roll(); err != nil {
			return first, l.last, l.fail(err)
		}
	}
	return first, l.last, nil
}

// Roll closes the current generation: edb.log is synced and renamed to
// edbXXXXX.log, and a new edb.log with the next generation and first LSN
// LastLSN()+1 is created. Rolling an empty edb.log gives an empty
// generation. It returns the generation closed.
func (l *Log) Roll() (closed uint32, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return 0, err
	}
	return l.roll()
}

func (l *Log) roll() (uint32, error) {
	gen, dst := l.gen, genPath(l.dir, l.base, l.gen)
	if _, err := os.Lstat(dst); err == nil {
		return 0, errorf(ErrCorrupt, "cannot roll transaction log %s: %s already exists", l.curPath(), dst)
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("cannot roll transaction log %s: %w", l.curPath(), err)
	}
	if err := l.sync(l.f); err != nil {
		return 0, l.fail(err)
	}
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return 0, l.fail(fmt.Errorf("transaction log %s: %w", l.curPath(), err))
	}
	if err := os.Rename(l.curPath(), dst); err != nil {
		return 0, l.fail(fmt.Errorf("rolling transaction log: %w", err))
	}
	if err := l.syncDir(l.dir); err != nil {
		return 0, l.fail(err)
	}
	l.rolled = append(l.rolled, GenInfo{Gen: gen, Path: dst, FirstLSN: l.firstLSN})
	if err := l.createCurrent(gen+1, l.last+1); err != nil {
		return 0, l.fail(err)
	}
	return gen, nil
}

// Remove deletes rolled generations, e.g. those wholly below the
// checkpoint. The current generation cannot be removed, and the ones left
// must stay contiguous, so only the oldest can go.
func (l *Log) Remove(gens ...uint32) error { return l.remove("", gens) }

// RemoveInto is Remove that moves the generations' files into dir, a
// folder on the same file system, instead of deleting them: renaming
// takes the log's lock for a moment, where freeing the blocks of a large
// log set can take a second. The caller deletes dir.
func (l *Log) RemoveInto(dir string, gens ...uint32) error { return l.remove(dir, gens) }

func (l *Log) remove(into string, gens []uint32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	drop := map[uint32]bool{}
	for _, g := range gens {
		if g == l.gen {
			return fmt.Errorf("cannot remove transaction log generation %d of %s: it is the current one", g, l.dir)
		}
		drop[g] = true
	}
	k := 0
	for k < len(l.rolled) && drop[l.rolled[k].Gen] {
		k++
	}
	if k != len(drop) {
		for g := range drop {
			if !l.hasRolled(g) {
				return fmt.Errorf("cannot remove transaction log %s: there is no such generation", genPath(l.dir, l.base, g))
			}
		}
		return fmt.Errorf("cannot remove those transaction log generations of %s: %s would be left before a gap; remove the oldest first",
			l.dir, GenName(l.base, l.rolled[k].Gen))
	}
	for i := range k {
		var err error
		if into == "" {
			err = os.Remove(l.rolled[i].Path)
		} else {
			err = os.Rename(l.rolled[i].Path, filepath.Join(into, filepath.Base(l.rolled[i].Path)))
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			l.rolled = slices.Clone(l.rolled[i:])
			return fmt.Errorf("removing transaction log: %w", err)
		}
	}
	l.rolled = slices.Clone(l.rolled[k:])
	return l.syncDir(l.dir)
}

func (l *Log) hasRolled(g uint32) bool {
	for _, r := range l.rolled {
		if r.Gen == g {
			return true
		}
	}
	return false
}

// LastLSN is the LSN of the last record appended (FirstLSN-1 of a new set: 0).
func (l *Log) LastLSN() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// Signature is the log set's signature.
func (l *Log) Signature() [16]byte { return l.sig }

// CurrentGen is the generation of edb.log.
func (l *Log) CurrentGen() uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// Generations lists the rolled generations present and then edb.log.
func (l *Log) Generations() []GenInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append(make([]GenInfo, 0, len(l.rolled)+1), l.rolled...)
	return append(out, GenInfo{Gen: l.gen, Path: l.curPath(), FirstLSN: l.firstLSN, Current: true})
}

// Close closes edb.log. Every acknowledged record is already durable.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("closing transaction log %s: %w", l.curPath(), err)
	}
	return nil
}

func (l *Log) usable() error {
	if l.closed {
		return errorf(ErrClosed, "transaction log %s is closed", l.curPath())
	}
	if l.failed != nil {
		return fmt.Errorf("transaction log %s is unusable after an earlier failure: %w", l.curPath(), l.failed)
	}
	return nil
}

// fail makes the Log unusable and returns err.
func (l *Log) fail(err error) error {
	l.failed = err
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	return err
}

func (l *Log) curPath() string { return filepath.Join(l.dir, currentName(l.base)) }

func (l *Log) sync(f *os.File) error {
	if l.opts.NoSync {
		return nil
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("transaction log %s: fsync: %w", f.Name(), err)
	}
	return nil
}

func (l *Log) syncDir(dir string) error {
	if l.opts.NoSync {
		return nil
	}
	return syncDir(dir)
}

// syncDir makes renames, creations and removals in dir durable. Windows
// has no directory fsync; NTFS journals the metadata itself.
func syncDir(dir string) error { return durable.SyncDir(dir) }
