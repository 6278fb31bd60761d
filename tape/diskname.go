package tape

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"exbackup/tape/mtf"
)

// DiskName maps one name from a tape to a name a Linux file system holds,
// and says whether it had to change it. The mapping is reversible
// (TapeName undoes it): '%' and every byte that cannot stand in a name, or
// would change its meaning, become %XX escapes:
//
//   - '/' and NUL, which Linux cannot hold; '\' and ':', which would read
//     as a path or an NTFS stream once copied back to Windows;
//   - control characters (below 0x20, and 0x7f);
//   - "." and "..", and names Windows reserves for devices (CON, PRN, AUX,
//     NUL, COM1–COM9, LPT1–LPT9, with or without an extension), whose
//     first letter is escaped;
//   - a lone UTF-16 surrogate, which NTFS allows and UTF-8 cannot carry,
//     as %uD800–%uDFFF; any other byte that is not UTF-8 as %XX.
func DiskName(name string) (string, bool) {
	var b strings.Builder
	changed := false
	for i := 0; i < len(name); {
		if s, ok := mtf.LoneSurrogate(name[i:]); ok {
			fmt.Fprintf(&b, "%%u%04X", s)
			i += 3
			changed = true
			continue
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		if r == utf8.RuneError && size <= 1 {
			fmt.Fprintf(&b, "%%%02X", name[i])
			i++
			changed = true
			continue
		}
		switch {
		case r == '%':
			b.WriteString("%25") // not a change of meaning: it reads back
		case r == '/' || r == '\\' || r == ':' || r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "%%%02X", r)
			changed = true
		default:
			b.WriteString(name[i : i+size])
		}
		i += size
	}
	out := b.String()
	switch {
	case out == ".":
		out, changed = "%2E", true
	case out == "..":
		out, changed = "%2E%2E", true
	case isDeviceName(out):
		out, changed = fmt.Sprintf("%%%02X", out[0])+out[1:], true
	}
	return out, changed
}

// TapeName undoes DiskName.
func TapeName(disk string) string {
	var b strings.Builder
	for i := 0; i < len(disk); i++ {
		c := disk[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+5 < len(disk)+0 && disk[i+1] == 'u' {
			if v, err := strconv.ParseUint(disk[i+2:i+6], 16, 16); err == nil && v >= 0xd800 && v <= 0xdfff {
				b.WriteByte(byte(0xe0 | v>>12))
				b.WriteByte(byte(0x80 | (v>>6)&0x3f))
				b.WriteByte(byte(0x80 | v&0x3f))
				i += 5
				continue
			}
		}
		if i+2 < len(disk) {
			if v, err := strconv.ParseUint(disk[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// VolumeFolder is the folder a volume's files are extracted under: a drive
// letter without its colon ("C:" → "C"); a UNC device as its server and
// share (`\\EXCH01\Microsoft Information Store` → "EXCH01",
// "Microsoft Information Store"); anything else as one mapped name.
func VolumeFolder(device string) []string {
	if len(device) == 2 && device[1] == ':' {
		n, _ := DiskName(device[:1])
		return []string{n}
	}
	var out []string
	for _, p := range strings.FieldsFunc(device, func(r rune) bool { return r == '\\' || r == '/' }) {
		n, _ := DiskName(p)
		out = append(out, n)
	}
	if len(out) == 0 {
		return []string{"Volume"}
	}
	return out
}
