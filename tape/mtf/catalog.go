package mtf

import (
	"encoding/binary"
	"time"
)

// The type 1 media based catalog (MBC): at the end of a set, the
// file/directory detail (a TFDD stream: one entry per VOLB, DIRB and FILE
// of the set, then FEND) and the set map (a TSMP stream: one entry per set
// of the media family so far, each with its volumes). exbackup writes them
// as the streams of the set's ESET, whose first stream offset puts the TFDD
// stream header on the next FLB; the TSMP stream header follows on an FLB
// too. A second ESET, whose catalog fields hold the physical block
// addresses of the two stream headers, and a filemark close the set.
const (
	StreamFDD    = "TFDD"
	StreamSetMap = "TSMP"

	fddHeaderSize = 36
	smHeaderSize  = 8
	smEntrySize   = 91
	// maxCatalog bounds a catalog stream the reader loads.
	maxCatalog = 256 << 20
)

// FDDEntry is one entry of a file/directory detail: the copy of a VOLB,
// DIRB or FILE block's header fields and fixed part.
type FDDEntry struct {
	Type            string // VOLB, DIRB, FILE (FEND is implied)
	Offset          int    // of the entry in its stream, as read
	MediaSequence   uint16
	BlockAttributes uint32
	FLA             uint64
	DisplayableSize uint64
	Link            int32
	OSID, OSVersion uint8
	Volume          *Volume    // for VOLB
	Directory       *Directory // for DIRB (Name is the raw MTF path)
	File            *File      // for FILE
}

// SetMapEntry is one set of a set map.
type SetMapEntry struct {
	MediaSequence     uint16
	BlockAttributes   uint32
	SetAttributes     uint32
	SSETPBA           uint64
	FDDPBA            uint64
	FDDMediaSequence  uint16
	Number            uint16
	FLA               uint64
	Dirs, Files       uint32
	CorruptFiles      uint32
	Size              uint64
	PasswordAlgorithm uint16
	Name, Password    string
	Description       string
	UserName          string
	WriteDate         time.Time
	TimeZone          int8
	OSID, OSVersion   uint8
	MTFMinor          uint8
	CatalogVersion    uint8
	Volumes           []FDDEntry // VOLB entries
}

// SetMap is a TSMP stream.
type SetMap struct {
	FamilyID uint32
	Sets     []SetMapEntry
}

// catalogEncoder writes one entry: a fixed part, then strings addressed
// from the entry's start.
type catalogEncoder struct {
	e encoder
}

func newEntry(size int) *catalogEncoder {
	return &catalogEncoder{encoder{b: make([]byte, size, size+64), st: StringUTF16}}
}

func (c *catalogEncoder) finish() []byte {
	for len(c.e.b)%4 != 0 {
		c.e.b = append(c.e.b, 0)
	}
	return c.e.b
}

func putFDDHeader(e *encoder, typ string, f *FDDEntry) {
	copy(e.b[2:6], typ)
	if f == nil {
		return
	}
	e.u16(6, f.MediaSequence)
	e.u32(8, f.BlockAttributes)
	e.u64(12, f.FLA)
	e.u64(20, f.DisplayableSize)
	e.u32(28, uint32(f.Link))
	e.u8(32, f.OSID)
	e.u8(33, f.OSVersion)
	e.u8(34, StringUTF16)
}

func encodeFDDEntry(f *FDDEntry) []byte {
	var c *catalogEncoder
	switch f.Type {
	case TypeVolume:
		c = newEntry(61)
		putFDDHeader(&c.e, f.Type, f)
		v := f.Volume
		c.e.u32(36, v.Attributes)
		c.e.str(40, v.Device)
		c.e.str(44, v.Name)
		c.e.str(48, v.Machine)
		c.e.date(56, v.WriteDate)
	case TypeDirectory:
		c = newEntry(68)
		putFDDHeader(&c.e, f.Type, f)
		d := f.Directory
		c.e.date(36, d.Modified)
		c.e.date(41, d.Created)
		c.e.date(46, d.Backup)
		c.e.date(51, d.Accessed)
		c.e.u32(56, d.Attributes)
		c.e.str(60, d.Name)
	case TypeFile:
		c = newEntry(68)
		putFDDHeader(&c.e, f.Type, f)
		d := f.File
		c.e.date(36, d.Modified)
		c.e.date(41, d.Created)
		c.e.date(46, d.Backup)
		c.e.date(51, d.Accessed)
		c.e.u32(56, d.Attributes)
		c.e.str(60, d.Name)
	default:
		return nil
	}
	b := c.finish()
	binary.LittleEndian.PutUint16(b, uint16(len(b)))
	return b
}

// EncodeFDD encodes a file/directory detail: the entries, then FEND. An
// entry whose strings do not fit its 16-bit length is left out.
func EncodeFDD(entries []FDDEntry) []byte {
	var out []byte
	for i := range entries {
		if b := encodeFDDEntry(&entries[i]); b != nil && len(b) <= 0xffff {
			out = append(out, b...)
		}
	}
	end := make([]byte, fddHeaderSize)
	binary.LittleEndian.PutUint16(end, fddHeaderSize)
	copy(end[2:6], "FEND")
	return append(out, end...)
}

// DecodeFDD decodes a file/directory detail up to its FEND entry. Entries
// of types it does not know are skipped, as the specification asks.
func DecodeFDD(b []byte) ([]FDDEntry, error) {
	// Sized for entries of short names, and files handed out of slabs: a
	// detail may list hundreds of thousands.
	out := make([]FDDEntry, 0, len(b)/128)
	var files []File
	for off := 0; ; {
		if len(b)-off < fddHeaderSize {
			return out, detail(ErrTruncated, "file/directory detail ends at byte %d without FEND", off)
		}
		e := b[off:]
		typ := string(e[2:6])
		if typ == "FEND" {
			return out, nil
		}
		n := int(binary.LittleEndian.Uint16(e))
		if n < fddHeaderSize || n > len(e) {
			return out, detail(ErrBounds, "file/directory detail entry at byte %d of %d bytes, %d left", off, n, len(e))
		}
		e = e[:n]
		d := &decoder{b: e, st: e[34], loc: time.UTC}
		f := FDDEntry{
			Type: typ, Offset: off, MediaSequence: d.u16(6), BlockAttributes: d.u32(8), FLA: d.u64(12),
			DisplayableSize: d.u64(20), Link: int32(d.u32(28)), OSID: d.u8(32), OSVersion: d.u8(33),
		}
		switch {
		case typ == TypeVolume && n >= 61:
			f.Volume = &Volume{Attributes: d.u32(36), Device: d.str(40), Name: d.str(44), Machine: d.str(48), WriteDate: d.date(56)}
		case typ == TypeDirectory && n >= 68:
			f.Directory = &Directory{Modified: d.date(36), Created: d.date(41), Backup: d.date(46), Accessed: d.date(51), Attributes: d.u32(56), Name: d.str(60)}
		case typ == TypeFile && n >= 68:
			if len(files) == cap(files) {
				files = make([]File, 0, 1024)
			}
			files = append(files, File{Modified: d.date(36), Created: d.date(41), Backup: d.date(46), Accessed: d.date(51), Attributes: d.u32(56), Name: d.str(60)})
			f.File = &files[len(files)-1]
		case typ == TypeVolume || typ == TypeDirectory || typ == TypeFile:
			return out, detail(ErrBounds, "%s entry at byte %d of %d bytes is too short", typ, off, n)
		default:
			off += n
			continue
		}
		if d.err != nil {
			return out, detail(ErrBounds, "%s entry at byte %d: %v", typ, off, d.err)
		}
		out = append(out, f)
		off += n
	}
}

// EncodeSetMap encodes a set map.
func EncodeSetMap(m *SetMap) []byte {
	out := make([]byte, smHeaderSize)
	binary.LittleEndian.PutUint32(out, m.FamilyID)
	binary.LittleEndian.PutUint16(out[4:], uint16(len(m.Sets)))
	for i := range m.Sets {
		s := &m.Sets[i]
		c := newEntry(smEntrySize)
		e := &c.e
		e.u16(2, s.MediaSequence)
		e.u32(4, s.BlockAttributes)
		e.u32(8, s.SetAttributes)
		e.u64(12, s.SSETPBA)
		e.u64(20, s.FDDPBA)
		e.u16(28, s.FDDMediaSequence)
		e.u16(30, s.Number)
		e.u64(32, s.FLA)
		e.u32(40, s.Dirs)
		e.u32(44, s.Files)
		e.u32(48, s.CorruptFiles)
		e.u64(52, s.Size)
		e.u16(60, uint16(len(s.Volumes)))
		e.u16(62, s.PasswordAlgorithm)
		e.str(64, s.Name)
		e.str(68, s.Password)
		e.str(72, s.Description)
		e.str(76, s.UserName)
		e.date(80, s.WriteDate)
		e.u8(85, uint8(s.TimeZone))
		e.u8(86, s.OSID)
		e.u8(87, s.OSVersion)
		e.u8(88, StringUTF16)
		e.u8(89, s.MTFMinor)
		e.u8(90, s.CatalogVersion)
		b := c.finish()
		binary.LittleEndian.PutUint16(b, uint16(len(b)))
		out = append(out, b...)
		for j := range s.Volumes {
			v := s.Volumes[j]
			v.Type = TypeVolume
			out = append(out, encodeFDDEntry(&v)...)
		}
	}
	return out
}

// DecodeSetMap decodes a set map.
func DecodeSetMap(b []byte) (*SetMap, error) {
	if len(b) < smHeaderSize {
		return nil, detail(ErrTruncated, "set map of %d bytes", len(b))
	}
	m := &SetMap{FamilyID: binary.LittleEndian.Uint32(b)}
	count := int(binary.LittleEndian.Uint16(b[4:]))
	off := smHeaderSize
	for i := 0; i < count; i++ {
		if len(b)-off < smEntrySize {
			return m, detail(ErrTruncated, "set map entry %d at byte %d: %d bytes left", i+1, off, len(b)-off)
		}
		n := int(binary.LittleEndian.Uint16(b[off:]))
		if n < smEntrySize || n > len(b)-off {
			return m, detail(ErrBounds, "set map entry %d at byte %d of %d bytes, %d left", i+1, off, n, len(b)-off)
		}
		e := b[off : off+n]
		d := &decoder{b: e, st: e[88], loc: time.UTC}
		s := SetMapEntry{
			MediaSequence: d.u16(2), BlockAttributes: d.u32(4), SetAttributes: d.u32(8), SSETPBA: d.u64(12),
			FDDPBA: d.u64(20), FDDMediaSequence: d.u16(28), Number: d.u16(30), FLA: d.u64(32), Dirs: d.u32(40),
			Files: d.u32(44), CorruptFiles: d.u32(48), Size: d.u64(52), PasswordAlgorithm: d.u16(62),
			TimeZone: int8(d.u8(85)), OSID: d.u8(86), OSVersion: d.u8(87), MTFMinor: d.u8(89), CatalogVersion: d.u8(90),
		}
		d.loc = ZoneLocation(s.TimeZone)
		s.Name, s.Password, s.Description, s.UserName = d.str(64), d.str(68), d.str(72), d.str(76)
		s.WriteDate = d.date(80)
		if d.err != nil {
			return m, detail(ErrBounds, "set map entry %d: %v", i+1, d.err)
		}
		vols := int(d.u16(60))
		off += n
		if vols > 0 {
			fdd, err := decodeVolumes(b[off:], vols)
			if err != nil {
				return m, detail(ErrBounds, "set map entry %d: %v", i+1, err)
			}
			for _, v := range fdd {
				off += int(v.Link) // the entry's length, see decodeVolumes
				v.Link = 0
				s.Volumes = append(s.Volumes, v)
			}
		}
		m.Sets = append(m.Sets, s)
	}
	return m, nil
}

// decodeVolumes decodes n VOLB entries; each comes back with its length in
// Link, for the caller to step over.
func decodeVolumes(b []byte, n int) ([]FDDEntry, error) {
	var out []FDDEntry
	off := 0
	for range n {
		if len(b)-off < fddHeaderSize {
			return out, detail(ErrTruncated, "volume entry at byte %d", off)
		}
		ln := int(binary.LittleEndian.Uint16(b[off:]))
		if ln < fddHeaderSize || ln > len(b)-off {
			return out, detail(ErrBounds, "volume entry at byte %d of %d bytes", off, ln)
		}
		// Decode it as a detail of one entry, its FEND supplied.
		one := append(append([]byte(nil), b[off:off+ln]...), make([]byte, fddHeaderSize)...)
		copy(one[ln+2:], "FEND")
		es, err := DecodeFDD(one)
		if err != nil {
			return out, err
		}
		if len(es) != 1 || es[0].Volume == nil {
			return out, detail(ErrBounds, "set map volume entry at byte %d is not a VOLB", off)
		}
		es[0].Link = int32(ln)
		out = append(out, es[0])
		off += ln
	}
	return out, nil
}
