package mtf

import "time"

// TAPE attribute bits.
const (
	TapeSoftFilemarks = 1 << 0 // filemarks are SFMB blocks
	TapeMediaLabel    = 1 << 1 // the description holds an MTF media label
)

// TapeHeader is the TAPE block: the media family header at the start of a
// tape.
type TapeHeader struct {
	MediaFamilyID         uint32
	Attributes            uint32
	MediaSequence         uint16
	PasswordAlgorithm     uint16
	SoftFilemarkBlockSize uint16 // in 512-byte units
	CatalogType           uint16
	MediaName             string
	MediaLabel            string // the media description, or label
	MediaPassword         string
	SoftwareName          string
	FLBSize               uint16
	VendorID              uint16
	MediaDate             time.Time
	MajorVersion          uint8
}

func (*TapeHeader) BlockType() string { return TypeTape }
func (*TapeHeader) fixedSize() int    { return 94 - HeaderSize }

func (t *TapeHeader) encode(e *encoder) {
	e.u32(52, t.MediaFamilyID)
	e.u32(56, t.Attributes)
	e.u16(60, t.MediaSequence)
	e.u16(62, t.PasswordAlgorithm)
	e.u16(64, t.SoftFilemarkBlockSize)
	e.u16(66, t.CatalogType)
	e.str(68, t.MediaName)
	e.str(72, t.MediaLabel)
	e.str(76, t.MediaPassword)
	e.str(80, t.SoftwareName)
	e.u16(84, t.FLBSize)
	e.u16(86, t.VendorID)
	e.date(88, t.MediaDate)
	e.u8(93, t.MajorVersion)
}

func (t *TapeHeader) decode(d *decoder) {
	t.MediaFamilyID = d.u32(52)
	t.Attributes = d.u32(56)
	t.MediaSequence = d.u16(60)
	t.PasswordAlgorithm = d.u16(62)
	t.SoftFilemarkBlockSize = d.u16(64)
	t.CatalogType = d.u16(66)
	t.MediaName = d.str(68)
	t.MediaLabel = d.str(72)
	t.MediaPassword = d.str(76)
	t.SoftwareName = d.str(80)
	t.FLBSize = d.u16(84)
	t.VendorID = d.u16(86)
	t.MediaDate = d.date(88)
	t.MajorVersion = d.u8(93)
}

// Filemark is an SFMB block, a soft filemark: it fills one soft filemark
// block and lists the physical block addresses of the filemarks before it,
// its own first (newest first).
type Filemark struct {
	Entries uint32   // capacity of the PBA array
	PBAs    []uint32 // the entries in use
}

func (*Filemark) BlockType() string { return TypeFilemark }
func (*Filemark) fixedSize() int    { return 60 - HeaderSize }

// FilemarkCapacity is the number of PBA entries an SFMB of the given soft
// filemark block size (in bytes) holds.
func FilemarkCapacity(blockSize int) int { return (blockSize - 60) / 4 }

func (f *Filemark) encode(e *encoder) {
	e.u32(52, f.Entries)
	e.u32(56, uint32(len(f.PBAs)))
	for _, p := range f.PBAs {
		e.b = append(e.b, byte(p), byte(p>>8), byte(p>>16), byte(p>>24))
	}
}

func (f *Filemark) decode(d *decoder) {
	f.Entries = d.u32(52)
	used := d.u32(56)
	if used > f.Entries || int64(used) > int64(len(d.b)-60)/4 {
		d.err = detail(ErrBounds, "filemark lists %d of %d entries, room for %d", used, f.Entries, (len(d.b)-60)/4)
		return
	}
	f.PBAs = make([]uint32, used)
	for i := range f.PBAs {
		f.PBAs[i] = d.u32(60 + 4*i)
	}
}

// EndOfMedia is the EOTM block: the medium ends and the family continues on
// the next one.
type EndOfMedia struct {
	LastEndSetPBA uint64
}

func (*EndOfMedia) BlockType() string { return TypeEndOfMedia }
func (*EndOfMedia) fixedSize() int    { return 60 - HeaderSize }
func (m *EndOfMedia) encode(e *encoder) {
	e.u64(52, m.LastEndSetPBA)
}
func (m *EndOfMedia) decode(d *decoder) {
	m.LastEndSetPBA = d.u64(52)
}
