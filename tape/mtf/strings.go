package mtf

import (
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
)

// TapeAddress locates variable-length data inside a block: its size in bytes
// and its offset from the block start.
type TapeAddress struct {
	Size   uint16
	Offset uint16
}

func (a TapeAddress) put(b []byte) {
	binary.LittleEndian.PutUint16(b[0:], a.Size)
	binary.LittleEndian.PutUint16(b[2:], a.Offset)
}

func getAddress(b []byte) TapeAddress {
	return TapeAddress{Size: binary.LittleEndian.Uint16(b[0:]), Offset: binary.LittleEndian.Uint16(b[2:])}
}

// EncodeString encodes s in the given string type. ANSI strings are written as
// Latin-1, with '?' for characters outside it.
func EncodeString(s string, stringType uint8) []byte {
	switch stringType {
	case StringANSI:
		out := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				r = '?'
			}
			out = append(out, byte(r))
		}
		return out
	default:
		u := utf16.Encode([]rune(s))
		out := make([]byte, 2*len(u))
		for i, c := range u {
			binary.LittleEndian.PutUint16(out[2*i:], c)
		}
		return out
	}
}

// DecodeString decodes bytes of the given string type. UTF-16 with an odd
// byte count drops the last byte; ANSI bytes are read as Windows-1252.
func DecodeString(b []byte, stringType uint8) string {
	switch stringType {
	case StringANSI:
		out := make([]byte, 0, len(b))
		for _, c := range b {
			r := rune(c)
			if c >= 0x80 && c < 0xa0 {
				r = cp1252[c-0x80]
			}
			out = utf8.AppendRune(out, r)
		}
		return string(out)
	case StringUTF16:
		return decodeUTF16(b)
	}
	return ""
}

// decodeUTF16 decodes UTF-16LE. A lone surrogate, which NTFS names may
// hold, is kept as its three-byte generalized UTF-8 form (WTF-8) rather
// than replaced, so that two such names stay distinct and an extractor can
// map it reversibly.
func decodeUTF16(b []byte) string {
	out := make([]byte, 0, len(b))
	n := len(b) / 2
	for i := 0; i < n; i++ {
		c := rune(binary.LittleEndian.Uint16(b[2*i:]))
		if utf16.IsSurrogate(c) {
			if c < 0xdc00 && i+1 < n {
				if d := rune(binary.LittleEndian.Uint16(b[2*i+2:])); d >= 0xdc00 && d <= 0xdfff {
					out = utf8.AppendRune(out, utf16.DecodeRune(c, d))
					i++
					continue
				}
			}
			out = append(out, byte(0xe0|c>>12), byte(0x80|(c>>6)&0x3f), byte(0x80|c&0x3f))
			continue
		}
		out = utf8.AppendRune(out, c)
	}
	return string(out)
}

// LoneSurrogate reports whether s starts with a lone surrogate as
// decodeUTF16 keeps it, and returns its code.
func LoneSurrogate(s string) (rune, bool) {
	if len(s) >= 3 && s[0] == 0xed && s[1] >= 0xa0 && s[1] <= 0xbf && s[2] >= 0x80 && s[2] <= 0xbf {
		return rune(s[0]&0x0f)<<12 | rune(s[1]&0x3f)<<6 | rune(s[2]&0x3f), true
	}
	return 0, false
}

// cp1252 maps bytes 0x80–0x9f of Windows-1252 (the usual "ANSI" code page).
var cp1252 = [32]rune{
	0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
	0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0xfffd,
}
