package tape

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Ext is the file extension of a tape.
const Ext = ".bkf"

// maxFileName keeps file names under the 255-byte limit of common file
// systems, extension included.
const maxFileName = 200

// FileName maps a tape name (free text, such as "Tape created on
// 11/25/2026") to a safe file name: characters that are unsafe in a file
// name on any desktop system are escaped as %XX (and so is '%'), as are a
// leading or trailing space or dot and the first letter of a Windows device
// name. The mapping is one to one, so NameFromFile undoes it; names too long
// for a file system are cut and given a hash of the whole name instead.
func FileName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		c := name[i]
		edge := i == 0 || i+size == len(name)
		switch {
		case r == utf8.RuneError && size == 1,
			c < 0x20, c == 0x7f,
			strings.ContainsRune(`%/\:*?"<>|`, r),
			edge && (c == ' ' || c == '.'):
			for _, x := range []byte(name[i : i+size]) {
				fmt.Fprintf(&b, "%%%02X", x)
			}
		default:
			b.WriteString(name[i : i+size])
		}
		i += size
	}
	s := b.String()
	if isDeviceName(s) {
		s = fmt.Sprintf("%%%02X", s[0]) + s[1:]
	}
	if s == "" {
		s = "%00"
	}
	if len(s) > maxFileName {
		sum := sha256.Sum256([]byte(name))
		cut := maxFileName - 18
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		// Do not cut an escape in half.
		if i := strings.LastIndexByte(s[:cut], '%'); i >= 0 && i > cut-3 {
			cut = i
		}
		s = s[:cut] + "~" + hex.EncodeToString(sum[:8])
	}
	return s + Ext
}

// NameFromFile returns the tape name a file name stands for, undoing
// FileName's escapes (a cut long name cannot be undone: the name on the
// tape itself is the authority).
func NameFromFile(file string) string {
	s := strings.TrimSuffix(file, Ext)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := hex.DecodeString(s[i+1 : i+3]); err == nil {
				b.WriteByte(v[0])
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isDeviceName(s string) bool {
	base := strings.ToUpper(s)
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	base = strings.TrimRight(base, " ")
	switch base {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && base[3] >= '0' && base[3] <= '9' {
		return true
	}
	return false
}
