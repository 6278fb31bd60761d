package mtf

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// bitsOf packs a string of '0' and '1' (spaces ignored) most significant
// bit first, zero-padded to a byte: test vectors written from the bit
// syntax of ANSI X3.241, independent of the encoder.
func bitsOf(s string) []byte {
	s = strings.ReplaceAll(s, " ", "")
	out := make([]byte, (len(s)+7)/8)
	for i, c := range s {
		if c == '1' {
			out[i/8] |= 0x80 >> (i % 8)
		}
	}
	return out
}

func TestLZSVectors(t *testing.T) {
	for _, v := range []struct {
		bits, want string
	}{
		// 'A', then 4 bytes 1 back (length 10), end marker.
		{"0 01000001  1 1 0000001 10  1 1 0000000", "AAAAA"},
		// 'a' 'b', then 23 bytes 2 back: length 1111 1111 0000.
		{"0 01100001 0 01100010  1 1 0000010 1111 1111 0000  1 1 0000000", "ab" + strings.Repeat("ab", 11) + "a"},
		// lengths 2, 3, 5, 7 and 8.
		{"0 01111000  1 1 0000001 00  1 1 0000001 01  1 1 0000001 1100  1 1 0000001 1110  1 1 0000001 1111 0000  1 1 0000000", strings.Repeat("x", 26)},
		// Two segments (18 bits, 6 of padding): an end marker, then more on the next byte.
		{"0 01000001 1 1 0000000 000000   0 01000010 1 1 0000000", "AB"},
	} {
		got, err := DecompressLZS(bitsOf(v.bits), len(v.want))
		if err != nil || string(got) != v.want {
			t.Errorf("%s: %q, %v; want %q", v.bits, got, err, v.want)
		}
	}
	// An 11-bit offset: 200 literal bytes, then 10 bytes 200 back.
	lit := make([]byte, 200)
	for i := range lit {
		lit[i] = byte(i)
	}
	var sb strings.Builder
	for _, c := range lit {
		sb.WriteString("0")
		for k := 7; k >= 0; k-- {
			sb.WriteByte('0' + (c>>k)&1)
		}
	}
	sb.WriteString("1 0 00011001000 1111 0010 1 1 0000000") // offset 200, length 10
	want := append(append([]byte{}, lit...), lit[:10]...)
	got, err := DecompressLZS(bitsOf(sb.String()), len(want))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("11-bit offset: %v", err)
	}
}

func TestLZSRejects(t *testing.T) {
	for _, v := range []struct {
		bits string
		want int
	}{
		{"1 1 0000011 00", 2},                        // 3 back with nothing decoded
		{"0 01000001 1 1 0000001 1111 1111 1111", 5}, // length runs past what is expected
		{"0 0100", 1},                                // cut short
		{"0 01000001 1 1 0000000", 2},                // ends early
	} {
		if _, err := DecompressLZS(bitsOf(v.bits), v.want); !errors.Is(err, errLZS) {
			t.Errorf("%s: %v", v.bits, err)
		}
	}
}

func TestLZSRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{0, 1, 2, 3, 100, 4096, 70000} {
		for _, kind := range []string{"text", "noise", "zeros"} {
			b := make([]byte, n)
			for i := range b {
				switch kind {
				case "text":
					b[i] = "lorem ipsum dolor sit amet "[i%27] + byte(r.IntN(2))
				case "noise":
					b[i] = byte(r.Uint32())
				}
			}
			c := CompressLZS(b)
			got, err := DecompressLZS(c, n)
			if err != nil || !bytes.Equal(got, b) {
				t.Fatalf("%s %d: %v", kind, n, err)
			}
			if kind == "zeros" && n > 1000 && len(c) > n/25 {
				t.Errorf("zeros %d compress to %d bytes", n, len(c))
			}
		}
	}
}

func TestFrames(t *testing.T) {
	data := append(bytes.Repeat([]byte("compressible "), 10000), make([]byte, 100)...)
	noise := make([]byte, 30000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	data = append(data, noise...)
	raw := EncodeFrames(data, 32<<10)
	stored := 0
	for off := 0; off < len(raw); {
		h, err := DecodeFrameHeader(raw[off:])
		if err != nil {
			t.Fatal(err)
		}
		if h.Stored() {
			stored++
		}
		off += FrameHeaderSize + int(h.Compressed)
	}
	if stored == 0 {
		t.Errorf("random bytes were not stored as they are")
	}
	got, err := io.ReadAll(NewFrameReader(bytes.NewReader(raw), int64(len(raw))))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("frames: %v", err)
	}
	// A damaged frame header, or a frame claiming more than the stream
	// holds, is an error, never a panic or a silent short file.
	bad := bytes.Clone(raw)
	bad[5] ^= 1
	if _, err := io.ReadAll(NewFrameReader(bytes.NewReader(bad), int64(len(bad)))); !errors.Is(err, ErrChecksum) {
		t.Errorf("damaged frame header: %v", err)
	}
	if _, err := io.ReadAll(NewFrameReader(bytes.NewReader(raw[:100]), 100)); !errors.Is(err, ErrBounds) {
		t.Errorf("cut stream: %v", err)
	}
}

func FuzzDecompressLZS(f *testing.F) {
	f.Add(bitsOf("0 01000001  1 1 0000001 10  1 1 0000000"), 5)
	f.Add(CompressLZS(bytes.Repeat([]byte("abcabcabd"), 50)), 450)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, 1000)
	f.Fuzz(func(t *testing.T, src []byte, want int) {
		if want < 0 || want > 1<<20 {
			return
		}
		out, err := DecompressLZS(src, want)
		if len(out) > want || err == nil && len(out) != want {
			t.Fatalf("%d bytes for %d (err %v)", len(out), want, err)
		}
	})
}

func FuzzLZSRoundTrip(f *testing.F) {
	f.Add([]byte("hello hello hello"))
	f.Add(make([]byte, 3000))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecompressLZS(CompressLZS(b), len(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip of %d bytes: %v", len(b), err)
		}
	})
}

func FuzzFrameReader(f *testing.F) {
	f.Add(EncodeFrames(bytes.Repeat([]byte("frame "), 3000), 4096))
	f.Add(EncodeFrames([]byte{1, 2, 3, 4, 5}, 0))
	f.Fuzz(func(t *testing.T, raw []byte) {
		n, _ := io.Copy(io.Discard, NewFrameReader(bytes.NewReader(raw), int64(len(raw))))
		// A frame holds at most maxFrame bytes and costs a 24-byte
		// header plus at least one byte: the output is bounded.
		if n > int64(len(raw))/FrameHeaderSize*maxFrame+maxFrame {
			t.Fatalf("%d bytes out of %d", n, len(raw))
		}
	})
}
