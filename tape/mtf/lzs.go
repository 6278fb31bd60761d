package mtf

import "errors"

// Stac LZS (ANSI X3.241-1994), the one software compression MTF defines
// (MTF_LZS221). The bit stream is read most significant bit first:
//
//	0 bbbbbbbb               a literal byte
//	1 1 ooooooo  length      a match 1–127 bytes back
//	1 0 ooooooooooo length   a match 128–2047 bytes back
//	1 1 0000000              end marker; the stream resumes on a byte boundary
//
// Lengths: 00 = 2, 01 = 3, 10 = 4, 1100 = 5, 1101 = 6, 1110 = 7, and from 8
// on 1111 followed by nibbles, each 1111 adding 15, the last one below 15.

// LZSWindow is how far back an LZS match may reach.
const LZSWindow = 2047

// errLZS is wrapped by the decoder's errors.
var errLZS = errors.New("LZS data")

type bitReader struct {
	src  []byte
	pos  int    // next byte of src
	acc  uint64 // bits not yet consumed, left-aligned at bit 63
	have uint
}

func (b *bitReader) bits(n uint) (uint32, bool) {
	for b.have < n {
		if b.pos >= len(b.src) {
			return 0, false
		}
		b.acc |= uint64(b.src[b.pos]) << (56 - b.have)
		b.pos++
		b.have += 8
	}
	v := uint32(b.acc >> (64 - n))
	b.acc <<= n
	b.have -= n
	return v, true
}

// align drops the bits left in the current byte.
func (b *bitReader) align() {
	drop := b.have % 8
	b.acc <<= drop
	b.have -= drop
}

func (b *bitReader) more() bool { return b.have >= 8 || b.pos < len(b.src) }

// DecompressLZS decodes LZS data into exactly want bytes. The history is
// the output itself (a frame does not reach into the one before); an end
// marker followed by more input continues the same output. Nothing is
// allocated beyond want bytes, whatever the input says.
func DecompressLZS(src []byte, want int) ([]byte, error) {
	out := make([]byte, 0, want)
	br := &bitReader{src: src}
	for len(out) < want {
		flag, ok := br.bits(1)
		if !ok {
			return out, detail(errLZS, "ends after %d of %d bytes", len(out), want)
		}
		if flag == 0 {
			c, ok := br.bits(8)
			if !ok {
				return out, detail(errLZS, "literal cut short after %d bytes", len(out))
			}
			out = append(out, byte(c))
			continue
		}
		short, ok := br.bits(1)
		if !ok {
			return out, detail(errLZS, "match cut short after %d bytes", len(out))
		}
		var off uint32
		if short == 1 {
			off, ok = br.bits(7)
			if ok && off == 0 {
				// End marker: what follows, if anything, starts on a
				// byte boundary.
				br.align()
				if !br.more() {
					break
				}
				continue
			}
		} else {
			off, ok = br.bits(11)
			if ok && off < 128 {
				// Valid in the bit syntax but never written; accepted.
				ok = off != 0
			}
		}
		if !ok {
			return out, detail(errLZS, "bad match offset after %d bytes", len(out))
		}
		n, ok := lzsLength(br)
		if !ok {
			return out, detail(errLZS, "match length cut short after %d bytes", len(out))
		}
		if int(off) > len(out) {
			return out, detail(errLZS, "match %d bytes back with only %d bytes decoded", off, len(out))
		}
		if n > want-len(out) {
			return out, detail(errLZS, "match of %d bytes runs past the %d bytes expected", n, want)
		}
		start := len(out) - int(off)
		for i := range n {
			out = append(out, out[start+i])
		}
	}
	if len(out) != want {
		return out, detail(errLZS, "decodes to %d bytes, %d expected", len(out), want)
	}
	return out, nil
}

func lzsLength(br *bitReader) (int, bool) {
	v, ok := br.bits(2)
	if !ok {
		return 0, false
	}
	if v < 3 {
		return int(v) + 2, true
	}
	v, ok = br.bits(2)
	if !ok {
		return 0, false
	}
	if v < 3 {
		return int(v) + 5, true
	}
	n := 8
	for {
		v, ok = br.bits(4)
		if !ok {
			return 0, false
		}
		n += int(v)
		if v != 15 {
			return n, true
		}
		if n > 1<<30 {
			return 0, false
		}
	}
}

type bitWriter struct {
	out  []byte
	acc  uint64
	have uint
}

func (b *bitWriter) put(v uint32, n uint) {
	b.acc |= uint64(v) << (64 - n - b.have)
	b.have += n
	for b.have >= 8 {
		b.out = append(b.out, byte(b.acc>>56))
		b.acc <<= 8
		b.have -= 8
	}
}

func (b *bitWriter) flush() {
	if b.have > 0 {
		b.out = append(b.out, byte(b.acc>>56))
		b.acc, b.have = 0, 0
	}
}

// CompressLZS encodes src as LZS data ending with an end marker. It is a
// plain greedy encoder (one candidate per 3-byte hash), enough to build
// tapes as Backup Exec wrote them; the output may be longer than src, in
// which case a frame stores the data as it is.
func CompressLZS(src []byte) []byte {
	const hashBits = 13
	var head [1 << hashBits]int32
	for i := range head {
		head[i] = -1
	}
	hash := func(i int) uint32 {
		v := uint32(src[i]) | uint32(src[i+1])<<8 | uint32(src[i+2])<<16
		return (v * 2654435761) >> (32 - hashBits)
	}
	bw := &bitWriter{out: make([]byte, 0, len(src)/2+16)}
	for i := 0; i < len(src); {
		best, bestOff := 0, 0
		if i+3 <= len(src) {
			h := hash(i)
			if c := int(head[h]); c >= 0 && i-c <= LZSWindow {
				n := 0
				for i+n < len(src) && src[c+n] == src[i+n] {
					n++
				}
				if n >= 2 {
					best, bestOff = n, i-c
				}
			}
			head[h] = int32(i)
		}
		if best == 0 {
			bw.put(uint32(src[i]), 9) // flag 0 + the byte
			i++
			continue
		}
		if bestOff < 128 {
			bw.put(0b11<<7|uint32(bestOff), 9)
		} else {
			bw.put(0b10<<11|uint32(bestOff), 13)
		}
		putLZSLength(bw, best)
		for j := i + 1; j < i+best && j+3 <= len(src); j++ {
			head[hash(j)] = int32(j)
		}
		i += best
	}
	bw.put(0b110000000, 9)
	bw.flush()
	return bw.out
}

func putLZSLength(bw *bitWriter, n int) {
	switch {
	case n <= 4:
		bw.put(uint32(n-2), 2)
	case n <= 7:
		bw.put(0b1100|uint32(n-5), 4)
	default:
		bw.put(0b1111, 4)
		n -= 8
		for n >= 15 {
			bw.put(15, 4)
			n -= 15
		}
		bw.put(uint32(n), 4)
	}
}
