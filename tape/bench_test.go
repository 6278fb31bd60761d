package tape

import (
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The benchmarks write and read a set holding one file of benchBytes
// (1 GiB unless EXBACKUP_BENCH_BYTES says otherwise) in EXBACKUP_BENCH_DIR
// (default the temporary folder), so that scripts/bench-tape.sh can set
// them beside dd on the same disk.

func benchBytes() int64 {
	if v, err := strconv.ParseInt(os.Getenv("EXBACKUP_BENCH_BYTES"), 10, 64); err == nil && v > 0 {
		return v
	}
	return 1 << 30
}

func benchDir(b *testing.B) string {
	dir, err := os.MkdirTemp(os.Getenv("EXBACKUP_BENCH_DIR"), "exbackup-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// patternReader yields n bytes of a repeating random block, cheaply.
type patternReader struct {
	block []byte
	left  int64
	off   int
}

func newPatternReader(n int64) *patternReader {
	return &patternReader{block: randomBytes(42, 1<<20), left: n}
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n := 0
	for n < len(b) {
		k := copy(b[n:], p.block[p.off:])
		n += k
		p.off = (p.off + k) % len(p.block)
	}
	p.left -= int64(n)
	return n, nil
}

func writeBenchSet(b *testing.B, l *Library, size int64) Set {
	tp, err := l.Create("bench", CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	w, err := tp.AppendSet(SetOptions{Owner: "bench@host"})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.BeginVolume(`\\BENCH\Microsoft Information Store`, "BENCH"); err != nil {
		b.Fatal(err)
	}
	if _, err := w.AddFile("priv.edb", size, time.Now(), newPatternReader(size)); err != nil {
		b.Fatal(err)
	}
	s, err := w.End()
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkWriteSet writes a set of one file and fsyncs it (End), as dd
// conv=fsync does.
func BenchmarkWriteSet(b *testing.B) {
	size := benchBytes()
	l, err := OpenLibrary(benchDir(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		writeBenchSet(b, l, size)
	}
}

func benchRead(b *testing.B, o ReadOptions) {
	size := benchBytes()
	l, err := OpenLibrary(benchDir(b))
	if err != nil {
		b.Fatal(err)
	}
	s := writeBenchSet(b, l, size)
	settle()
	tp, err := l.Open("bench")
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	// The first read of freshly written data is slower on some disks
	// (virtual ones fetch it from the host's storage); scripts/bench-tape.sh
	// gives dd the same untimed first pass.
	dropCaches()
	if r, err := tp.OpenEntry(s.Entries[0], ReadOptions{Fast: true}); err == nil {
		io.CopyBuffer(struct{ io.Writer }{io.Discard}, r, buf)
		r.Close()
	}
	peak := watchHeap()
	defer peak.stop()
	b.SetBytes(size)
	cold := 1.0
	for b.Loop() {
		b.StopTimer()
		if !dropCaches() {
			cold = 0
		}
		runtime.GC()
		peak.reset()
		b.StartTimer()
		r, err := tp.OpenEntry(s.Entries[0], o)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, r, buf)
		r.Close()
		if err != nil || n != size {
			b.Fatalf("read %d of %d: %v", n, size, err)
		}
	}
	b.ReportMetric(float64(peak.max())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(cold, "cold-cache")
}

// BenchmarkReadSet reads the file back with every check (CSUM, CRC-32C,
// SHA-256), from a cold page cache when the benchmark may drop it.
func BenchmarkReadSet(b *testing.B) { benchRead(b, ReadOptions{}) }

// BenchmarkReadSetFast reads it back checking CSUM and CRC-32C only.
func BenchmarkReadSetFast(b *testing.B) { benchRead(b, ReadOptions{Fast: true}) }

// heapWatch samples the heap in use (live and unused object memory) every
// few milliseconds and keeps the peak; runtime/metrics reads it without
// stopping the world.
type heapWatch struct {
	peak atomic.Uint64
	done chan struct{}
	wg   sync.WaitGroup
}

func watchHeap() *heapWatch {
	h := &heapWatch{done: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		for {
			select {
			case <-h.done:
				return
			case <-t.C:
				metrics.Read(samples)
				inuse := samples[0].Value.Uint64() + samples[1].Value.Uint64()
				for {
					p := h.peak.Load()
					if inuse <= p || h.peak.CompareAndSwap(p, inuse) {
						break
					}
				}
			}
		}
	}()
	return h
}

func (h *heapWatch) reset()      { h.peak.Store(0) }
func (h *heapWatch) max() uint64 { return h.peak.Load() }
func (h *heapWatch) stop()       { close(h.done); h.wg.Wait() }
