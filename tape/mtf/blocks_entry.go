package mtf

import (
	"strings"
	"time"
)

// VOLB attribute bits.
const (
	VolumeNoRedirect  = 1 << 0
	VolumeNonVolume   = 1 << 1
	VolumeDriveLetter = 1 << 2
	VolumeUNC         = 1 << 3
	VolumeOSSpecific  = 1 << 4
	VolumeVendor      = 1 << 5
)

// DIRB and FILE attribute bits.
const (
	EntryReadOnly     = 1 << 8
	EntryHidden       = 1 << 9
	EntrySystem       = 1 << 10
	EntryModified     = 1 << 11
	DirectoryEmpty    = 1 << 16
	DirectoryInStream = 1 << 17 // the path is in a PNAM stream
	FileInUse         = 1 << 16
	FileNameInStream  = 1 << 17 // the name is in an FNAM stream
	EntryCorrupt      = 1 << 18
)

// Volume is the VOLB block: the volume (device) the following directories
// and files come from.
type Volume struct {
	Attributes uint32
	Device     string
	Name       string
	Machine    string
	WriteDate  time.Time
}

func (*Volume) BlockType() string { return TypeVolume }
func (*Volume) fixedSize() int    { return 73 - HeaderSize }

func (v *Volume) encode(e *encoder) {
	e.u32(52, v.Attributes)
	e.str(56, v.Device)
	e.str(60, v.Name)
	e.str(64, v.Machine)
	e.date(68, v.WriteDate)
}

func (v *Volume) decode(d *decoder) {
	v.Attributes = d.u32(52)
	v.Device = d.str(56)
	v.Name = d.str(60)
	v.Machine = d.str(64)
	v.WriteDate = d.date(68)
}

// Directory is the DIRB block. Name is the raw MTF path: components each
// followed by a NUL, the root a single NUL (see DirName and SplitDirName).
type Directory struct {
	Attributes uint32
	Modified   time.Time
	Created    time.Time
	Backup     time.Time
	Accessed   time.Time
	ID         uint32
	Name       string
}

func (*Directory) BlockType() string { return TypeDirectory }
func (*Directory) fixedSize() int    { return 84 - HeaderSize }

func (v *Directory) encode(e *encoder) {
	e.u32(52, v.Attributes)
	e.date(56, v.Modified)
	e.date(61, v.Created)
	e.date(66, v.Backup)
	e.date(71, v.Accessed)
	e.u32(76, v.ID)
	e.str(80, v.Name)
}

func (v *Directory) decode(d *decoder) {
	v.Attributes = d.u32(52)
	v.Modified = d.date(56)
	v.Created = d.date(61)
	v.Backup = d.date(66)
	v.Accessed = d.date(71)
	v.ID = d.u32(76)
	v.Name = d.str(80)
}

// File is the FILE block.
type File struct {
	Attributes  uint32
	Modified    time.Time
	Created     time.Time
	Backup      time.Time
	Accessed    time.Time
	DirectoryID uint32
	ID          uint32
	Name        string
}

func (*File) BlockType() string { return TypeFile }
func (*File) fixedSize() int    { return 88 - HeaderSize }

func (v *File) encode(e *encoder) {
	e.u32(52, v.Attributes)
	e.date(56, v.Modified)
	e.date(61, v.Created)
	e.date(66, v.Backup)
	e.date(71, v.Accessed)
	e.u32(76, v.DirectoryID)
	e.u32(80, v.ID)
	e.str(84, v.Name)
}

func (v *File) decode(d *decoder) {
	v.Attributes = d.u32(52)
	v.Modified = d.date(56)
	v.Created = d.date(61)
	v.Backup = d.date(66)
	v.Accessed = d.date(71)
	v.DirectoryID = d.u32(76)
	v.ID = d.u32(80)
	v.Name = d.str(84)
}

// CorruptFile is the CFIL block, written in place of a file that could not
// be read whole.
type CorruptFile struct {
	Attributes   uint32
	StreamOffset uint64
	StreamNumber uint16
}

func (*CorruptFile) BlockType() string { return TypeCorrupt }
func (*CorruptFile) fixedSize() int    { return 74 - HeaderSize }

func (v *CorruptFile) encode(e *encoder) {
	e.u32(52, v.Attributes)
	e.u64(64, v.StreamOffset)
	e.u16(72, v.StreamNumber)
}

func (v *CorruptFile) decode(d *decoder) {
	v.Attributes = d.u32(52)
	v.StreamOffset = d.u64(64)
	v.StreamNumber = d.u16(72)
}

// DirName builds the raw MTF directory name of a path given as components:
// each followed by a NUL; the root (no components) is a single NUL.
func DirName(components []string) string {
	if len(components) == 0 {
		return "\x00"
	}
	return strings.Join(components, "\x00") + "\x00"
}

// SplitDirName splits a raw MTF directory name into its components; the root
// gives none. Empty components are dropped.
func SplitDirName(name string) []string {
	var out []string
	for _, c := range strings.Split(name, "\x00") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}
