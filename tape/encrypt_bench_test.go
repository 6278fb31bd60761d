package tape

import (
	"io"
	"runtime"
	"testing"
	"time"

	"filippo.io/age"
)

// The encryption benchmarks write and read the same set as BenchmarkWriteSet
// and BenchmarkReadSet, plain and encrypted for one recipient;
// EXBACKUP_BENCH_BYTES sets the size (tape/bench-encryption.sh runs them in
// alternating rounds).

func writeBenchSetWith(b *testing.B, l *Library, size int64, o SetOptions) Set {
	tp, err := l.Create("bench", CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	o.Owner = "bench@host"
	w, err := tp.AppendSet(o)
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

// BenchmarkEncryption writes and reads the set plain and encrypted in
// turn (with -count, the rounds alternate), reporting the processor time
// per byte beside the rate: on a busy machine the rate moves with the
// load, the processor time much less.
func BenchmarkEncryption(b *testing.B) {
	id := newIdentity(b)
	for _, c := range []struct {
		name string
		o    SetOptions
		keys KeyProvider
	}{
		{"plain", SetOptions{}, nil},
		{"encrypted", SetOptions{Encrypt: []age.Recipient{id.Recipient()}}, Identities{id}},
	} {
		b.Run("write/"+c.name, func(b *testing.B) { benchWrite(b, c.o) })
		b.Run("read/"+c.name, func(b *testing.B) { benchReadWith(b, c.o, ReadOptions{Keys: c.keys}) })
	}
}

func reportCPU(b *testing.B, start time.Duration, size int64) {
	if used := cpuTime() - start; used > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(size)/float64(b.N), "cpu-ns/B")
	}
}

func benchWrite(b *testing.B, o SetOptions) {
	size := benchBytes()
	l, err := OpenLibrary(benchDir(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	cpu := cpuTime()
	for b.Loop() {
		writeBenchSetWith(b, l, size, o)
	}
	reportCPU(b, cpu, size)
}

func benchReadWith(b *testing.B, wo SetOptions, o ReadOptions) {
	size := benchBytes()
	l, err := OpenLibrary(benchDir(b))
	if err != nil {
		b.Fatal(err)
	}
	s := writeBenchSetWith(b, l, size, wo)
	settle()
	tp, err := l.Open("bench")
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	dropCaches()
	if r, err := tp.OpenEntry(s.Entries[0], o); err == nil {
		io.CopyBuffer(struct{ io.Writer }{io.Discard}, r, buf)
		r.Close()
	}
	peak := watchHeap()
	defer peak.stop()
	b.SetBytes(size)
	var used time.Duration
	for b.Loop() {
		b.StopTimer()
		dropCaches()
		runtime.GC()
		peak.reset()
		cpu := cpuTime()
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
		b.StopTimer()
		used += cpuTime() - cpu
		b.StartTimer()
	}
	if used > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(size)/float64(b.N), "cpu-ns/B")
	}
	b.ReportMetric(float64(peak.max())/(1<<20), "peak-heap-MiB")
}
