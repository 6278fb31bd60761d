// Package crc32c combines CRC-32C (Castagnoli) checksums, so that the CRC of
// a whole stream is built from its pieces' own CRCs instead of a second pass
// over the bytes: the API's framed streams and the tape reader's chunks both
// use it. For CRCs with the usual pre- and post-inversion, CRC(A‖B) = CRC(A)·x^(8·len(B)) mod P ⊕
// CRC(B), where the product is taken in GF(2)[x] modulo the CRC's
// polynomial P. Polynomials are held bit-reflected, as the CRC itself is:
// the top bit is x⁰.
package crc32c

// castagnoliReflected is the Castagnoli polynomial, bit-reflected.
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

// mulModP returns a·b mod P.
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

// xPow8n returns x^(8n) mod P.
func xPow8n(n uint64) uint32 {
	p := uint32(1 << 31) // x⁰
	for k := 3; n != 0; k, n = k+1, n>>1 {
		if n&1 != 0 {
			p = mulModP(x2n[k&31], p)
		}
	}
	return p
}

// Combine returns the CRC-32C of A‖B from crcA = CRC(A), crcB = CRC(B)
// and the length of B.
func Combine(crcA, crcB uint32, lenB uint64) uint32 {
	return mulModP(xPow8n(lenB), crcA) ^ crcB
}
