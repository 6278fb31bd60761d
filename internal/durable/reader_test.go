package durable

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Every stretch of a file reads back right, at offsets and lengths on and
// off block boundaries, up to and past the file's end, with direct I/O
// and without.
func TestReaderReadsEveryStretch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 3*streamAlign*64+777)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	path := filepath.Join(t.TempDir(), "tape")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, direct := range []bool{true, false} {
		r, err := OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		if !direct {
			r.direct.Store(setDirect(r.f, false))
		}
		cases := [][2]int{{0, 1}, {0, streamAlign}, {1, streamAlign}, {streamAlign - 1, 2}, {5000, 300000},
			{len(data) - 10, 10}, {len(data) - 10, 20}, {len(data), 5}, {len(data) + 4096, 1}}
		for i := 0; i < 50; i++ {
			off := rng.IntN(len(data))
			cases = append(cases, [2]int{off, 1 + rng.IntN(1<<20)})
		}
		for _, c := range cases {
			off, n := c[0], c[1]
			p := make([]byte, n)
			got, err := r.ReadAt(p, int64(off))
			want := max(0, min(n, len(data)-off))
			if got != want || !bytes.Equal(p[:got], data[min(off, len(data)):min(off, len(data))+want]) {
				t.Fatalf("direct %v: ReadAt(%d bytes at %d) = %d, %v; want %d bytes", direct, n, off, got, err, want)
			}
			if (got < n) != (err == io.EOF) {
				t.Fatalf("direct %v: ReadAt(%d bytes at %d) = %d, %v", direct, n, off, got, err)
			}
		}
		if direct && directWorks(t) && !r.direct.Load() {
			t.Error("direct I/O was dropped: a read was refused for its alignment")
		}
		r.Close()
	}
}

// A read into aligned memory at a block boundary for whole blocks goes
// straight into the caller's memory, up to and past the file's end; any
// other read still goes through a buffer of the Reader's.
func TestReaderReadsAlignedMemoryInPlace(t *testing.T) {
	data := make([]byte, 5*streamAlign+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, c := range [][2]int{{0, 2 * streamAlign}, {2 * streamAlign, 2 * streamAlign}, {4 * streamAlign, 2 * streamAlign}, {8 * streamAlign, streamAlign}} {
		off, n := c[0], c[1]
		p := AlignedBuffer(n)
		got, err := r.ReadAt(p, int64(off))
		want := max(0, min(n, len(data)-off))
		if got != want || !bytes.Equal(p[:got], data[min(off, len(data)):min(off, len(data))+want]) || (got < n) != (err == io.EOF) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d bytes", n, off, got, err, want)
		}
	}
	if c := r.copied.Load(); c != 0 {
		t.Errorf("%d bytes of aligned reads were copied through the Reader's buffer", c)
	}
	p := AlignedBuffer(2 * streamAlign)
	if _, err := r.ReadAt(p[1:streamAlign+1], 0); err != nil {
		t.Fatal(err)
	}
	if c := r.copied.Load(); directWorks(t) && c != streamAlign {
		t.Errorf("an unaligned read copied %d bytes, want %d", c, streamAlign)
	}
}
