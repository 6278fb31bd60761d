package mtf

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/zeebo/blake3"
)

// ErrNoCatalog is returned by Catalog for a tape without a media based
// catalog it can use.
var ErrNoCatalog = errors.New("no media based catalog")

// CatalogType1 is the TAPE block's catalog type of a type 1 MBC.
const CatalogType1 = 1

// Catalog lists the tape's sets from its media based catalog, reading the
// last set's set map and each set's file/directory detail, never the
// whole tape. The sets come back as Scan gives them, except that their
// blocks hold only what the catalog tells (offset, FLA, displayable size,
// name: reading a file re-reads its block) and End is the set map's word
// that the set was finished. A tape without a type 1 catalog, or whose
// catalog cannot be found where its filemarks say, gives ErrNoCatalog.
func (r *Reader) Catalog() (*Contents, error) {
	if r.tape.CatalogType != CatalogType1 {
		return nil, r.errAt(0, TypeTape, ErrNoCatalog)
	}
	sm, err := r.lastSetMap()
	if err != nil {
		return nil, err
	}
	c := &Contents{Tape: *r.tape, TapeEnd: r.tapeEnd, flb: r.flb, sfm: r.sfm, FromCatalog: true}
	for i := range sm.Sets {
		e := &sm.Sets[i]
		if e.MediaSequence != r.tape.MediaSequence {
			continue // a set that starts on another medium of the family
		}
		s, err := r.catalogSet(e)
		if err != nil {
			return nil, err
		}
		c.Sets = append(c.Sets, s)
	}
	return c, nil
}

// lastSetMap finds the set map after the last set: the filemark at the end
// of the file names the one before it, after which the last set's ESET
// starts; its TSMP stream, or the PBA in the ESET after it, leads to the
// set map.
func (r *Reader) lastSetMap() (*SetMap, error) {
	size := r.src.size
	if size < r.tapeEnd+r.sfm {
		return nil, r.errAt(0, TypeTape, ErrNoCatalog)
	}
	fm, err := r.ReadBlockAt(size - r.sfm)
	if err != nil || fm.Header.Type != TypeFilemark {
		return nil, r.errAt(size-r.sfm, TypeFilemark, detail(ErrNoCatalog, "the tape does not end with a filemark"))
	}
	pbas := fm.Desc.(*Filemark).PBAs
	if len(pbas) < 2 {
		return nil, r.errAt(fm.Offset, TypeFilemark, detail(ErrNoCatalog, "the last filemark lists no earlier one"))
	}
	at := int64(pbas[1])*r.flb + r.sfm
	eset, err := r.ReadBlockAt(at)
	if err != nil {
		return nil, err
	}
	if eset.Header.Type != TypeEndSet {
		return nil, r.errAt(at, eset.Header.Type, detail(ErrNoCatalog, "%s block where the last ESET should be", eset.Header.Type))
	}
	for _, s := range eset.Streams {
		if s.Header.ID == StreamSetMap {
			return r.decodeSetMapAt(s)
		}
	}
	second, err := r.ReadBlockAt(eset.End)
	if err != nil {
		return nil, err
	}
	if es, ok := second.Desc.(*EndSet); ok && es.SetMapPBA != 0 {
		ref, err := r.streamAt(int64(es.SetMapPBA)*r.flb, StreamSetMap)
		if err != nil {
			return nil, err
		}
		return r.decodeSetMapAt(ref)
	}
	return nil, r.errAt(at, TypeEndSet, detail(ErrNoCatalog, "the last set's ESET carries no set map"))
}

// streamAt reads the stream header at off, which must be of the given id
// (any, for "").
func (r *Reader) streamAt(off int64, id string) (StreamRef, error) {
	if off < 0 || off+StreamHeaderSize > r.src.size {
		return StreamRef{}, r.errAt(off, "", detail(ErrBounds, "%s stream at byte %d is past the end of the file", id, off))
	}
	var hb [StreamHeaderSize]byte
	if _, err := r.ra.ReadAt(hb[:], off); err != nil {
		return StreamRef{}, err
	}
	sh, err := DecodeStreamHeader(hb[:])
	if err != nil {
		return StreamRef{}, r.errAt(off, "", err)
	}
	if id != "" && sh.ID != id {
		return StreamRef{}, r.errAt(off, "", detail(ErrBounds, "%s stream where %s should be", printable(sh.ID), id))
	}
	return StreamRef{Header: sh, Offset: off + StreamHeaderSize}, nil
}

func (r *Reader) loadStream(s StreamRef) ([]byte, error) {
	if s.Header.Length > maxCatalog || int64(s.Header.Length) > r.src.size-s.Offset {
		return nil, r.errAt(s.Offset, "", detail(ErrBounds, "%s stream of %d bytes", s.Header.ID, s.Header.Length))
	}
	b := make([]byte, s.Header.Length)
	if _, err := r.ra.ReadAt(b, s.Offset); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

func (r *Reader) decodeSetMapAt(s StreamRef) (*SetMap, error) {
	b, err := r.loadStream(s)
	if err != nil {
		return nil, err
	}
	m, err := DecodeSetMap(b)
	if err != nil {
		return nil, r.errAt(s.Offset, "", err)
	}
	return m, nil
}

// catalogSet builds a set from its set map entry and its detail.
func (r *Reader) catalogSet(e *SetMapEntry) (*Set, error) {
	off := int64(e.SSETPBA) * r.flb
	loc := ZoneLocation(e.TimeZone)
	s := &Set{
		Offset: off,
		Start: StartSet{
			Attributes: e.SetAttributes, PasswordAlgorithm: e.PasswordAlgorithm, Number: e.Number,
			Name: e.Name, Description: e.Description, Password: e.Password, UserName: e.UserName,
			PBA: e.SSETPBA, WriteDate: rezone(e.WriteDate, loc), TimeZone: e.TimeZone, MTFMinor: e.MTFMinor, CatalogVersion: e.CatalogVersion,
		},
		End: &EndSet{Attributes: e.SetAttributes, CorruptFiles: e.CorruptFiles, Number: e.Number, FDDPBA: e.FDDPBA},
	}
	if e.FDDPBA == 0 || e.FDDMediaSequence != r.tape.MediaSequence {
		for _, v := range e.Volumes {
			s.Volumes = append(s.Volumes, SetVolume{Volume: *v.Volume, FLA: v.FLA, Offset: off + int64(v.FLA)*r.flb})
		}
		r.catalogDigests(s, StreamRef{}, nil)
		return s, nil // the set map alone: volumes, no files
	}
	ref, err := r.streamAt(int64(e.FDDPBA)*r.flb, StreamFDD)
	if err != nil {
		return nil, err
	}
	b, err := r.loadStream(ref)
	if err != nil {
		return nil, err
	}
	fdd, err := DecodeFDD(b)
	if err != nil {
		return nil, r.errAt(ref.Offset, "", err)
	}
	dirsAt := map[int][]string{}
	var dir []string
	// One allocation for all the files' entries and blocks: a set may
	// list hundreds of thousands.
	nfiles := 0
	for i := range fdd {
		if fdd[i].File != nil {
			nfiles++
		}
	}
	entries, blocks := make([]Entry, 0, nfiles), make([]Block, 0, nfiles)
	s.Files = make([]*Entry, 0, nfiles)
	for _, f := range fdd {
		at := off + int64(f.FLA)*r.flb
		switch {
		case f.Volume != nil:
			v := *f.Volume
			v.WriteDate = rezone(v.WriteDate, loc)
			s.Volumes = append(s.Volumes, SetVolume{Volume: v, Offset: at, FLA: f.FLA})
			dir = nil
		case f.Directory != nil:
			d := *f.Directory
			d.Modified, d.Created, d.Backup, d.Accessed = rezone(d.Modified, loc), rezone(d.Created, loc), rezone(d.Backup, loc), rezone(d.Accessed, loc)
			dir = SplitDirName(d.Name)
			dirsAt[f.Offset] = dir
			s.Dirs = append(s.Dirs, &DirEntry{Volume: len(s.Volumes) - 1, Path: dir, Dir: d, Offset: at, FLA: f.FLA})
		case f.File != nil:
			fl := *f.File
			fl.Modified, fl.Created, fl.Backup, fl.Accessed = rezone(fl.Modified, loc), rezone(fl.Created, loc), rezone(fl.Backup, loc), rezone(fl.Accessed, loc)
			*f.File = fl // the block's descriptor
			d := dir
			if p, ok := dirsAt[int(f.Link)]; ok {
				d = p
			}
			blocks = append(blocks, Block{Offset: at, Header: Header{Type: TypeFile, Attributes: f.BlockAttributes, FLA: f.FLA, DisplayableSize: f.DisplayableSize}, Name: fl.Name, Desc: f.File})
			entries = append(entries, Entry{
				Volume: len(s.Volumes) - 1, Dir: d, Name: fl.Name, Block: &blocks[len(blocks)-1], File: fl, FLA: f.FLA,
				Size: int64(f.DisplayableSize), Attributes: fl.Attributes, Corrupt: fl.Attributes&EntryCorrupt != 0,
			})
			s.Files = append(s.Files, &entries[len(entries)-1])
		}
	}
	r.catalogDigests(s, ref, b)
	return s, nil
}

// catalogDigests completes a set read from its catalog when it is one of
// exbackup's (its SSET carries an EXBS stream): the SSET's own fields and
// streams, and each file's EXBH from the set's EXBC digest table, once
// the table has checked out against its own digest, the SSET, the detail
// (fdd, its data b) and each file's place and size. Why it could not be
// completed is Set.DigestsErr; another program's set is left as its
// catalog lists it.
func (r *Reader) catalogDigests(s *Set, fdd StreamRef, b []byte) {
	num := int(s.Start.Number)
	bad := func(off int64, block string, err error) {
		s.DigestsErr = &FormatError{Tape: r.name, Offset: off, Block: block, Set: num, Err: err}
	}
	table, tableAt, tableErr := r.digestTableAfter(fdd)
	// Without a table only the SSET tells whether the set is exbackup's.
	sset, err := r.ReadBlockAt(s.Offset)
	var start *StartSet
	if err == nil {
		start, _ = sset.Desc.(*StartSet)
	}
	ours := start != nil && start.Number == s.Start.Number && sset.SetInfo != nil
	switch {
	case !ours && table == nil && tableErr == nil:
		return // another program's set
	case !ours:
		if err == nil {
			err = detail(ErrBounds, "no SSET of set %d with an EXBS stream at its place", num)
		}
		bad(s.Offset, TypeStartSet, err)
		return
	}
	s.Start, s.Info, s.Keys = *start, sset.SetInfo, sset.Keys
	if tableErr != nil {
		bad(tableAt, TypeEndSet, tableErr)
		return
	}
	if table == nil {
		s.DigestsErr = fmt.Errorf("tape %q, set %d: %w beside its media based catalog (written before sets carried one)", r.name, num, ErrNoDigestTable)
		return
	}
	if sset.End-sset.Offset > maxCatalog {
		bad(sset.Offset, TypeStartSet, detail(ErrBounds, "SSET of %d bytes", sset.End-sset.Offset))
		return
	}
	raw := make([]byte, sset.End-sset.Offset)
	if _, err := r.ra.ReadAt(raw, sset.Offset); err != nil {
		bad(sset.Offset, TypeStartSet, err)
		return
	}
	if blake3.Sum256(raw) != table.SSET {
		bad(sset.Offset, TypeStartSet, detail(ErrDigest, "the SSET does not match the digest in its set's %s stream", StreamCatalogDigests))
		return
	}
	if blake3.Sum256(b) != table.FDD {
		bad(fdd.Offset, "", detail(ErrDigest, "the %s stream does not match the digest in its set's %s stream", StreamFDD, StreamCatalogDigests))
		return
	}
	if len(table.Files) != len(s.Files) {
		bad(fdd.Offset, "", detail(ErrBounds, "the %s stream lists %d files, the %s stream %d", StreamCatalogDigests, len(table.Files), StreamFDD, len(s.Files)))
		return
	}
	for i, f := range s.Files {
		t := &table.Files[i]
		if t.FLA != f.FLA || int64(t.Hash.Size) != f.Size {
			s.DigestsErr = &FormatError{Tape: r.name, Offset: f.Block.Offset, Block: TypeFile, Set: num, File: f.Path(),
				Err: detail(ErrBounds, "the %s stream lists the file at FLA %d with %d bytes, the %s stream at FLA %d with %d", StreamCatalogDigests, t.FLA, t.Hash.Size, StreamFDD, f.FLA, f.Size)}
			return
		}
	}
	for i, f := range s.Files {
		f.Block.Hash = &table.Files[i].Hash
	}
}

// digestTableAfter finds and decodes the EXBC stream of the set whose
// TFDD stream is fdd: it follows the TFDD and TSMP streams in their ESET.
// Neither a table nor an error comes back when the ESET has none (another
// program's set, or one of exbackup's written before the table came); at
// is where the table's data is.
func (r *Reader) digestTableAfter(fdd StreamRef) (t *DigestTable, at int64, err error) {
	if fdd.Offset == 0 {
		return nil, 0, nil
	}
	at = fdd.Offset + int64(fdd.Header.Length)
	for range 3 {
		at += Pad4(at)
		ref, err := r.streamAt(at, "")
		if err != nil {
			return nil, 0, nil
		}
		switch ref.Header.ID {
		case StreamCatalogDigests:
			if ref.Header.Length > maxCatalog || int64(ref.Header.Length) > r.src.size-ref.Offset {
				return nil, ref.Offset, detail(ErrBounds, "%s stream of %d bytes", StreamCatalogDigests, ref.Header.Length)
			}
			b := make([]byte, ref.Header.Length)
			if _, err := r.ra.ReadAt(b, ref.Offset); err != nil && err != io.EOF {
				return nil, ref.Offset, err
			}
			t, err := DecodeDigestTable(b)
			return t, ref.Offset, err
		case StreamPad, StreamDigest:
			return nil, 0, nil
		}
		at = ref.Offset + int64(ref.Header.Length)
	}
	return nil, 0, nil
}

// rezone reads a date decoded as UTC as the wall clock of loc.
func rezone(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() || loc == time.UTC {
		return t
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
}
