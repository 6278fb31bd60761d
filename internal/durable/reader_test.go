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
