package crc32c

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

var table = crc32.MakeTable(crc32.Castagnoli)

func TestCombine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, split := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {1, 1}, {1000, 1 << 20}, {1 << 20, 1 << 20}, {3, 2<<20 + 12345}} {
		a, b := data[:split[0]], data[split[0]:split[0]+split[1]]
		want := crc32.Checksum(data[:split[0]+split[1]], table)
		got := Combine(crc32.Checksum(a, table), crc32.Checksum(b, table), uint64(len(b)))
		if got != want {
			t.Errorf("lengths %d+%d: combined %08x, want %08x", len(a), len(b), got, want)
		}
	}
	// Long streams: a chain of frames gives the CRC of their concatenation.
	var sum uint32
	for off := 0; off < len(data); off += 777_777 {
		frame := data[off:min(off+777_777, len(data))]
		sum = Combine(sum, crc32.Checksum(frame, table), uint64(len(frame)))
	}
	if want := crc32.Checksum(data, table); sum != want {
		t.Errorf("chained: %08x, want %08x", sum, want)
	}
}

func BenchmarkCombine(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Combine(uint32(i), 0x12345678, 1<<20)
	}
}
