package mtf

// ReadChunk hands out whole read-ahead chunks with their own CRC-32C, and
// the file's CRC is built from those: CRC(A‖B) = CRC(A)·x^(8·len(B)) mod P
// ⊕ CRC(B), in GF(2)[x] modulo the Castagnoli polynomial P, held
// bit-reflected as the CRC itself is.

const castagnoliReflected = 0x82f63b78

// x2n[k] is x^(2^k) mod P.
var x2n = func() (t [32]uint32) {
	p := uint32(1 << 30) // x¹
	for k := range t {
		t[k] = p
		p = mulModP(p, p)
	}
	return t
}()

func mulModP(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1 << 31); a != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
			a ^= m
		}
		if b&1 != 0 {
			b = b>>1 ^ castagnoliReflected
		} else {
			b >>= 1
		}
	}
	return p
}

// crcCombine returns the CRC-32C of A‖B from CRC(A), CRC(B) and len(B).
func crcCombine(crcA, crcB uint32, lenB uint64) uint32 {
	p := uint32(1 << 31) // x⁰
	for k := 3; lenB != 0; k, lenB = k+1, lenB>>1 {
		if lenB&1 != 0 {
			p = mulModP(x2n[k&31], p)
		}
	}
	return mulModP(p, crcA) ^ crcB
}
