package mtf

import "time"

// Backup type bits, shared by SSET and ESET attributes.
const (
	SetTransfer     = 1 << 0
	SetCopy         = 1 << 1
	SetNormal       = 1 << 2
	SetDifferential = 1 << 3
	SetIncremental  = 1 << 4
	SetDaily        = 1 << 5
)

// SSET attribute bits beyond the backup type.
const (
	SetFDDExists  = 1 << 16
	SetEncryption = 1 << 17
)

// ESET attribute bits beyond the backup type.
const (
	EndSetFDDAborted = 1 << 16
	EndOfFamily      = 1 << 17
	EndSetAborted    = 1 << 18
)

// StartSet is the SSET block that opens a data set.
type StartSet struct {
	Attributes           uint32
	PasswordAlgorithm    uint16
	CompressionAlgorithm uint16
	VendorID             uint16
	Number               uint16 // data set number, 1 for the first set of the family
	Name                 string
	Description          string
	Password             string
	UserName             string
	PBA                  uint64 // physical block address of this SSET
	WriteDate            time.Time
	SoftwareMajor        uint8
	SoftwareMinor        uint8
	TimeZone             int8 // 15-minute steps east of UTC, 127 = local
	MTFMinor             uint8
	CatalogVersion       uint8
}

func (*StartSet) BlockType() string { return TypeStartSet }
func (*StartSet) fixedSize() int    { return 98 - HeaderSize }

func (s *StartSet) encode(e *encoder) {
	e.u32(52, s.Attributes)
	e.u16(56, s.PasswordAlgorithm)
	e.u16(58, s.CompressionAlgorithm)
	e.u16(60, s.VendorID)
	e.u16(62, s.Number)
	e.str(64, s.Name)
	e.str(68, s.Description)
	e.str(72, s.Password)
	e.str(76, s.UserName)
	e.u64(80, s.PBA)
	e.date(88, s.WriteDate)
	e.u8(93, s.SoftwareMajor)
	e.u8(94, s.SoftwareMinor)
	e.u8(95, uint8(s.TimeZone))
	e.u8(96, s.MTFMinor)
	e.u8(97, s.CatalogVersion)
}

func (s *StartSet) decode(d *decoder) {
	s.TimeZone = int8(d.u8(95))
	d.loc = ZoneLocation(s.TimeZone)
	s.Attributes = d.u32(52)
	s.PasswordAlgorithm = d.u16(56)
	s.CompressionAlgorithm = d.u16(58)
	s.VendorID = d.u16(60)
	s.Number = d.u16(62)
	s.Name = d.str(64)
	s.Description = d.str(68)
	s.Password = d.str(72)
	s.UserName = d.str(76)
	s.PBA = d.u64(80)
	s.WriteDate = d.date(88)
	s.SoftwareMajor = d.u8(93)
	s.SoftwareMinor = d.u8(94)
	s.MTFMinor = d.u8(96)
	s.CatalogVersion = d.u8(97)
}

// EndSet is the ESET block that closes a data set.
type EndSet struct {
	Attributes   uint32
	CorruptFiles uint32
	// FDDPBA and SetMapPBA are, in the ESET that closes a set with a type 1
	// media based catalog, where its TFDD and TSMP stream headers are.
	FDDPBA           uint64
	SetMapPBA        uint64
	FDDMediaSequence uint16
	Number           uint16
	WriteDate        time.Time
}

func (*EndSet) BlockType() string { return TypeEndSet }
func (*EndSet) fixedSize() int    { return 85 - HeaderSize }

func (s *EndSet) encode(e *encoder) {
	e.u32(52, s.Attributes)
	e.u32(56, s.CorruptFiles)
	e.u64(60, s.FDDPBA)
	e.u64(68, s.SetMapPBA)
	e.u16(76, s.FDDMediaSequence)
	e.u16(78, s.Number)
	e.date(80, s.WriteDate)
}

func (s *EndSet) decode(d *decoder) {
	s.Attributes = d.u32(52)
	s.CorruptFiles = d.u32(56)
	s.FDDPBA = d.u64(60)
	s.SetMapPBA = d.u64(68)
	s.FDDMediaSequence = d.u16(76)
	s.Number = d.u16(78)
	s.WriteDate = d.date(80)
}

// EndSetPad is the ESPB block, padding before an ESET; it has no fixed part.
type EndSetPad struct{}

func (*EndSetPad) BlockType() string { return TypeEndSetPad }
func (*EndSetPad) fixedSize() int    { return 0 }
func (*EndSetPad) encode(*encoder)   {}
func (*EndSetPad) decode(*decoder)   {}
