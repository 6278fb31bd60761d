package mtf

import (
	"errors"
	"io"
	"strings"
	"time"
)

// Contents is what a walk over a whole tape found.
type Contents struct {
	Tape      TapeHeader
	TapeEnd   int64      // offset just past the TAPE block
	Sets      []*Set     // in tape order
	Filemarks []Filemark // soft filemarks in tape order, with their offsets
	Marks     []int64    // the offsets of Filemarks
	// Problems met outside any set (and the TAPE block's digest check).
	Problems []error
	// EndOfMedia is set when an EOTM block was met: the family continues
	// on another medium and nothing may be appended.
	EndOfMedia bool
	// FromCatalog is set when the sets come from the media based catalog
	// (Reader.Catalog), not from a walk over the blocks.
	FromCatalog bool
	flb, sfm    int64
}

// Set is one data set: its SSET, volumes, files and, when it was finished,
// its ESET.
type Set struct {
	Offset  int64 // of the SSET
	Start   StartSet
	Info    *SetInfo   // the EXBS stream: present on exbackup's sets
	Keys    *KeyHeader // the EXBK stream: present on encrypted sets
	Volumes []SetVolume
	Files   []*Entry
	// End is the ESET, nil when the set was never finished (aborted).
	End       *EndSet
	EndOffset int64 // of the ESET
	EndEnd    int64 // just past the ESET
	// Err is the first problem met inside the set: a damaged block, a
	// digest that does not match. Nil on a sound set.
	Err error
	// Problems lists every problem met inside the set, Err first: each
	// damaged region the walk skipped names its offset (and the file, when
	// its name could be read).
	Problems []error
	// Dirs are the set's DIRBs in tape order.
	Dirs []*DirEntry
	// CatalogEnd is the second ESET, after the media based catalog.
	CatalogEnd *EndSet
	// DigestsErr is, on one of exbackup's sets read from its media based
	// catalog (Reader.Catalog), why its files carry no digests: its ESET
	// has no EXBC digest table (ErrNoDigestTable), or the table is damaged
	// or disagrees with the catalog or the SSET. Such a set must be read
	// from its blocks to be listed whole. Nil otherwise.
	DigestsErr error
	// Continues is set when the medium ended inside the set (EOTM): it
	// goes on on the next member of the media family. Continuation is set
	// on the part of a set that began on an earlier member.
	Continues, Continuation bool
}

// DirEntry is a directory of a set.
type DirEntry struct {
	Volume int      // index into Set.Volumes, -1 before any VOLB
	Path   []string // its components; none for the root
	Dir    Directory
	Offset int64
	FLA    uint64
}

// SetVolume is a VOLB of a set.
type SetVolume struct {
	Volume
	Offset int64
	FLA    uint64
}

// Entry is a file of a set.
type Entry struct {
	Volume     int      // index into Set.Volumes, -1 when the file came before any VOLB
	Dir        []string // directory components, from the DIRB
	Name       string
	Block      *Block // the FILE block with its stream references
	File       File   // the FILE block's fixed part
	FLA        uint64
	Size       int64 // length of the STAN data (of the plaintext when encrypted)
	Corrupt    bool  // marked corrupt by its attributes or a following CFIL
	Attributes uint32
}

// Path returns the entry's path with '/' separators.
func (e *Entry) Path() string {
	if len(e.Dir) == 0 {
		return e.Name
	}
	n := len(e.Name)
	for _, d := range e.Dir {
		n += len(d) + 1
	}
	var b strings.Builder
	b.Grow(n)
	for _, d := range e.Dir {
		b.WriteString(d)
		b.WriteByte('/')
	}
	b.WriteString(e.Name)
	return b.String()
}

// Modified returns the FILE's modification date.
func (e *Entry) Modified() time.Time { return e.File.Modified }

// Scan walks the whole tape from the block after TAPE and gathers its sets.
// Problems inside a set are recorded on the set and the walk carries on at
// the next valid block, so one damaged set does not hide the others; only
// I/O errors stop it.
func (r *Reader) Scan() (*Contents, error) {
	c := &Contents{Tape: *r.tape, TapeEnd: r.tapeEnd, flb: r.flb, sfm: r.sfm}
	if r.tapeProblem != nil {
		c.Problems = append(c.Problems, r.tapeProblem)
	}
	r.Goto(r.tapeEnd)
	var cur *Set
	dirs := map[uint32][]string{}
	var dir []string
	var pending []*Entry // files whose DIRB had not been seen yet
	problem := func(err error) {
		if cur != nil {
			if cur.Err == nil {
				cur.Err = err
			}
			if len(cur.Problems) < 1<<16 {
				cur.Problems = append(cur.Problems, err)
			}
		} else {
			c.Problems = append(c.Problems, err)
		}
	}
	closeSet := func() {
		if cur != nil {
			// Blocks out of order: a FILE may come before the DIRB it
			// names; it takes its directory once the DIRB has been seen.
			for _, e := range pending {
				if d, ok := dirs[e.File.DirectoryID]; ok {
					e.Dir = d
				}
			}
			pending = nil
			c.Sets = append(c.Sets, cur)
			cur = nil
		}
	}
	// An exbackup set whose ESET carries a media based catalog is
	// finished only once the second ESET is on tape: the writer syncs after
	// it.
	var awaiting *Set
	unfinished := func() {
		if awaiting != nil {
			awaiting.End = nil
			awaiting.EndEnd = awaiting.EndOffset
			if awaiting.Err == nil {
				awaiting.Err = r.errAt(awaiting.EndOffset, TypeEndSet, detail(ErrTruncated, "the set's media based catalog was not finished"))
			}
			awaiting = nil
		}
	}
	for {
		at := r.Offset()
		b, err := r.Next()
		if awaiting != nil {
			if e, ok := blockDesc(b, err).(*EndSet); !ok || e.Number != awaiting.Start.Number {
				unfinished()
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				return c, err // an I/O error
			}
			problem(err)
			if !r.Resync(at) {
				break
			}
			// The digest of a set cannot be checked past a hole.
			if cur != nil && cur.Info != nil {
				r.src.meta = nil
			}
			continue
		}
		if b.Problem != nil {
			problem(b.Problem)
		}
		switch v := b.Desc.(type) {
		case *Filemark:
			c.Filemarks = append(c.Filemarks, *v)
			c.Marks = append(c.Marks, b.Offset)
		case *StartSet:
			closeSet()
			cur = &Set{Offset: b.Offset, Start: *v, Info: b.SetInfo, Keys: b.Keys, Continuation: b.Header.Attributes&BlockContinuation != 0}
			dirs, dir = map[uint32][]string{}, nil
		case *EndSet:
			if last := len(c.Sets) - 1; cur == nil && last >= 0 && c.Sets[last].End != nil &&
				c.Sets[last].EndEnd == b.Offset && c.Sets[last].Start.Number == v.Number {
				// The second ESET of a set with a media based catalog.
				c.Sets[last].CatalogEnd = v
				c.Sets[last].EndEnd = b.End
				awaiting = nil
				continue
			}
			if cur == nil {
				problem(r.errAt(b.Offset, TypeEndSet, detail(ErrBounds, "ESET of set %d without its SSET", v.Number)))
				continue
			}
			if v.Number != cur.Start.Number && cur.Err == nil {
				cur.Err = r.errAt(b.Offset, TypeEndSet, detail(ErrBounds, "ESET of set %d closes set %d", v.Number, cur.Start.Number))
			}
			cur.End, cur.EndOffset, cur.EndEnd = v, b.Offset, b.End
			if cur.Info != nil && hasStream(b, StreamSetMap) {
				awaiting = cur
			}
			closeSet()
		case *EndOfMedia:
			c.EndOfMedia = true
			if cur != nil {
				cur.Continues = true
			}
			closeSet()
			return c, nil
		case *TapeHeader:
			problem(r.errAt(b.Offset, TypeTape, detail(ErrBounds, "a second TAPE block")))
		default:
			if cur == nil {
				problem(r.errAt(b.Offset, b.Header.Type, detail(ErrBounds, "%s block outside a set", b.Header.Type)))
				continue
			}
			switch v := v.(type) {
			case *Volume:
				for _, e := range pending {
					if d, ok := dirs[e.File.DirectoryID]; ok {
						e.Dir = d
					}
				}
				pending = nil
				cur.Volumes = append(cur.Volumes, SetVolume{Volume: *v, Offset: b.Offset, FLA: b.Header.FLA})
				dirs, dir = map[uint32][]string{}, nil
			case *Directory:
				dir = SplitDirName(b.Name)
				if len(dirs) < 1<<20 {
					dirs[v.ID] = dir
				}
				d := *v
				d.Name = b.Name
				cur.Dirs = append(cur.Dirs, &DirEntry{Volume: len(cur.Volumes) - 1, Path: dir, Dir: d, Offset: b.Offset, FLA: b.Header.FLA})
			case *File:
				d := dir
				known, ok := dirs[v.DirectoryID]
				if ok {
					d = known
				}
				e := &Entry{
					Volume: len(cur.Volumes) - 1, Dir: d, Name: b.Name, Block: b, File: *v,
					FLA: b.Header.FLA, Attributes: v.Attributes, Corrupt: v.Attributes&EntryCorrupt != 0,
				}
				e.Size = b.DataSize()
				b.Desc = &e.File
				cur.Files = append(cur.Files, e)
				if !ok && v.DirectoryID != 0 && len(pending) < 1<<20 {
					pending = append(pending, e)
				}
			case *CorruptFile:
				if n := len(cur.Files); n > 0 {
					cur.Files[n-1].Corrupt = true
				}
			}
		}
	}
	closeSet()
	return c, nil
}

func blockDesc(b *Block, err error) Descriptor {
	if err != nil || b == nil {
		return nil
	}
	return b.Desc
}

func hasStream(b *Block, id string) bool {
	for _, s := range b.Streams {
		if s.Header.ID == id {
			return true
		}
	}
	return false
}

// AppendPoint tells where a new set goes and how the writer continues the
// tape's filemarks.
type AppendPoint struct {
	Offset int64  // where the next block goes
	Number uint16 // the next data set number
	// NeedFilemark is set when the soft filemark that should close what
	// precedes the offset is missing (a crash between ESET and it).
	NeedFilemark  bool
	Filemarks     []uint32 // PBAs of the filemarks before Offset, newest first
	FilemarkCount uint32
}

// AppendPoint returns where a set is appended: after the last set that has
// its ESET (and the filemark after it), so an aborted set at the end is
// written over.
func (c *Contents) AppendPoint() AppendPoint {
	end := c.TapeEnd
	p := AppendPoint{Number: 1}
	for i := len(c.Sets) - 1; i >= 0; i-- {
		if s := c.Sets[i]; s.End != nil {
			end = s.EndEnd
			p.Number = s.Start.Number + 1
			break
		}
	}
	p.Offset, p.NeedFilemark = end, true
	for _, off := range c.Marks {
		if off == end {
			p.Offset, p.NeedFilemark = end+c.sfm, false
		}
	}
	for i := len(c.Marks) - 1; i >= 0; i-- {
		if c.Marks[i] < p.Offset {
			p.FilemarkCount++
			if len(p.Filemarks) < FilemarkCapacity(int(c.sfm)) {
				p.Filemarks = append(p.Filemarks, uint32(c.Marks[i]/c.flb))
			}
		}
	}
	return p
}
