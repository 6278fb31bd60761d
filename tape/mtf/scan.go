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
	flb, sfm   int64
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
	return strings.Join(append(append([]string(nil), e.Dir...), e.Name), "/")
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
	problem := func(err error) {
		if cur != nil {
			if cur.Err == nil {
				cur.Err = err
			}
		} else {
			c.Problems = append(c.Problems, err)
		}
	}
	closeSet := func() {
		if cur != nil {
			c.Sets = append(c.Sets, cur)
			cur = nil
		}
	}
	for {
		at := r.Offset()
		b, err := r.Next()
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
			cur = &Set{Offset: b.Offset, Start: *v, Info: b.SetInfo, Keys: b.Keys}
			dirs, dir = map[uint32][]string{}, nil
		case *EndSet:
			if cur == nil {
				problem(r.errAt(b.Offset, TypeEndSet, detail(ErrBounds, "ESET of set %d without its SSET", v.Number)))
				continue
			}
			if v.Number != cur.Start.Number && cur.Err == nil {
				cur.Err = r.errAt(b.Offset, TypeEndSet, detail(ErrBounds, "ESET of set %d closes set %d", v.Number, cur.Start.Number))
			}
			cur.End, cur.EndOffset, cur.EndEnd = v, b.Offset, b.End
			closeSet()
		case *EndOfMedia:
			c.EndOfMedia = true
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
				cur.Volumes = append(cur.Volumes, SetVolume{Volume: *v, Offset: b.Offset, FLA: b.Header.FLA})
				dirs, dir = map[uint32][]string{}, nil
			case *Directory:
				dir = SplitDirName(b.Name)
				if len(dirs) < 1<<20 {
					dirs[v.ID] = dir
				}
			case *File:
				d := dir
				if known, ok := dirs[v.DirectoryID]; ok {
					d = known
				}
				e := &Entry{
					Volume: len(cur.Volumes) - 1, Dir: d, Name: b.Name, Block: b, File: *v,
					FLA: b.Header.FLA, Attributes: v.Attributes, Corrupt: v.Attributes&EntryCorrupt != 0,
				}
				e.Size = b.DataSize()
				b.Desc = &e.File
				cur.Files = append(cur.Files, e)
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
