package mtf

import (
	"encoding/binary"

	"github.com/zeebo/blake3"
)

// CatalogBuilder gathers a set's file/directory detail as its blocks are
// written, and the counts its set map entry needs.
type CatalogBuilder struct {
	MediaSequence uint16
	fdd           []byte
	lastDir       int // offset of the last DIRB entry
	dirs, files   uint32
	corrupt       uint32
	size          uint64
	volumes       []FDDEntry
	digests       []TableEntry // for the EXBC stream of exbackup's sets
}

// Add records a VOLB, DIRB or FILE block as written (h holds its FLA,
// attributes and displayable size); other blocks are ignored.
func (c *CatalogBuilder) Add(h Header, d Descriptor) {
	f := FDDEntry{MediaSequence: c.MediaSequence, BlockAttributes: h.Attributes, FLA: h.FLA, DisplayableSize: h.DisplayableSize, OSID: h.OSID, OSVersion: h.OSVersion}
	switch v := d.(type) {
	case *Volume:
		f.Type, f.Volume = TypeVolume, v
		c.volumes = append(c.volumes, f)
	case *Directory:
		f.Type, f.Directory = TypeDirectory, v
		c.lastDir = len(c.fdd)
		c.dirs++
	case *File:
		f.Type, f.File, f.Link = TypeFile, v, int32(c.lastDir)
		c.files++
		c.size += h.DisplayableSize
		if v.Attributes&EntryCorrupt != 0 {
			c.corrupt++
		}
	default:
		return
	}
	if b := encodeFDDEntry(&f); len(b) <= 0xffff {
		c.fdd = append(c.fdd, b...)
	}
}

// FDD returns the TFDD stream's data for a stream header at headerAt:
// the entries, and FEND stretched so that what follows the stream starts
// on the next FLB boundary.
func (c *CatalogBuilder) FDD(headerAt, flb int64) []byte {
	out := append([]byte(nil), c.fdd...)
	end := headerAt + StreamHeaderSize + int64(len(out))
	// The FLB is at most 64 KiB: FEND's 16-bit length always reaches it
	// but for the largest FLBs, where the stream's own zeros do.
	pad := fddHeaderSize + (flb-(end+fddHeaderSize)%flb)%flb
	fend := make([]byte, pad)
	binary.LittleEndian.PutUint16(fend, uint16(min(pad, 0xfffc)))
	copy(fend[2:6], "FEND")
	return append(out, fend...)
}

// Entry returns the set's set map entry.
func (c *CatalogBuilder) Entry(s *StartSet, h Header, setFLA uint64, fddPBA uint64) SetMapEntry {
	return SetMapEntry{
		MediaSequence: c.MediaSequence, BlockAttributes: h.Attributes, SetAttributes: s.Attributes,
		SSETPBA: s.PBA, FDDPBA: fddPBA, FDDMediaSequence: c.MediaSequence, Number: s.Number, FLA: setFLA,
		Dirs: c.dirs, Files: c.files, CorruptFiles: c.corrupt, Size: c.size, PasswordAlgorithm: s.PasswordAlgorithm,
		Name: s.Name, Password: s.Password, Description: s.Description, UserName: s.UserName,
		WriteDate: s.WriteDate, TimeZone: s.TimeZone, OSID: h.OSID, OSVersion: h.OSVersion,
		MTFMinor: s.MTFMinor, CatalogVersion: s.CatalogVersion, Volumes: c.volumes,
	}
}

// SetMapFrom rebuilds set map entries from the sets a walk found, for a
// writer appending to a tape: the sets' volumes, counts and, when the
// walk saw one, where their detail is.
func SetMapFrom(c *Contents, flb int64) []SetMapEntry {
	var out []SetMapEntry
	for _, s := range c.Sets {
		if s.End == nil {
			continue
		}
		e := SetMapEntry{
			MediaSequence: c.Tape.MediaSequence, SetAttributes: s.Start.Attributes, SSETPBA: uint64(s.Offset / flb),
			FDDMediaSequence: c.Tape.MediaSequence, Number: s.Start.Number, Dirs: uint32(len(s.Dirs)),
			Files: uint32(len(s.Files)), CorruptFiles: s.End.CorruptFiles, PasswordAlgorithm: s.Start.PasswordAlgorithm,
			Name: s.Start.Name, Password: s.Start.Password, Description: s.Start.Description, UserName: s.Start.UserName,
			WriteDate: s.Start.WriteDate, TimeZone: s.Start.TimeZone, OSID: OSWindowsNT, MTFMinor: s.Start.MTFMinor,
			CatalogVersion: s.Start.CatalogVersion,
		}
		if s.CatalogEnd != nil {
			e.FDDPBA = s.CatalogEnd.FDDPBA
		}
		for _, f := range s.Files {
			e.Size += uint64(f.Size)
		}
		for _, v := range s.Volumes {
			vv := v.Volume
			e.Volumes = append(e.Volumes, FDDEntry{Type: TypeVolume, MediaSequence: c.Tape.MediaSequence, FLA: v.FLA, Volume: &vv})
		}
		out = append(out, e)
	}
	return out
}

// endSetCatalog closes the open set with its media based catalog: the
// ESET with the TFDD and TSMP streams (each header on an FLB), on an
// exbackup set its EXBC digest table, and the EXBM digest, the second ESET pointing at both, and the filemark.
func (w *Writer) endSetCatalog(e *EndSet) (Written, error) {
	fddAt := w.pos + w.flb
	fdd := w.cat.FDD(fddAt, w.flb)
	smAt := fddAt + StreamHeaderSize + int64(len(fdd))
	entry := w.cat.Entry(w.catSet, w.catSetH, 0, uint64(fddAt/w.flb))
	sets := append(append([]SetMapEntry(nil), w.setMap...), entry)
	e.FDDPBA, e.SetMapPBA = uint64(fddAt/w.flb), uint64(smAt/w.flb)
	at, err := w.head(&Header{FirstStream: uint16(w.flb)}, e)
	if err != nil {
		return at, err
	}
	w.zero(fddAt - w.pos)
	w.stream(Stream{ID: StreamFDD, Data: fdd})
	w.stream(Stream{ID: StreamSetMap, Data: EncodeSetMap(&SetMap{FamilyID: w.family, Sets: sets})})
	if !w.plain {
		t := DigestTable{SSET: w.ssetHash, FDD: blake3.Sum256(fdd), Files: w.cat.digests}
		w.stream(Stream{ID: StreamCatalogDigests, Data: t.Encode()})
	}
	w.digestStream()
	w.pad()
	if _, err := w.head(&Header{}, e); err != nil {
		return at, err
	}
	w.pad()
	w.inSet, w.cat, w.setMap = false, nil, sets
	if err := w.WriteFilemark(); err != nil {
		return at, err
	}
	return at, w.Flush()
}
