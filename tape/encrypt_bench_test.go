package tape

import (
	"io"
	"runtime"
	"testing"
	"time"

	"filippo.io/age"
)

// The encryption benchmarks write and read the same set as BenchmarkWriteSet
// and BenchmarkReadSet, encrypted for one recipient; EXBACKUP_BENCH_BYTES
// sets the size (tape/bench.sh compares them with dd).

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

// BenchmarkWriteSetEncrypted is BenchmarkWriteSet with the data encrypted.
func BenchmarkWriteSetEncrypted(b *testing.B) {
	size := benchBytes()
	l, err := OpenLibrary(benchDir(b))
	if err != nil {
		b.Fatal(err)
	}
	id := newIdentity(b)
	b.SetBytes(size)
	for b.Loop() {
		writeBenchSetWith(b, l, size, SetOptions{Encrypt: []age.Recipient{id.Recipient()}})
	}
}

// BenchmarkReadSetEncrypted is BenchmarkReadSet (every check) with the
// data decrypted.
func BenchmarkReadSetEncrypted(b *testing.B) {
	size := benchBytes()
	l, err := OpenLibrary(benchDir(b))
	if err != nil {
		b.Fatal(err)
	}
	id := newIdentity(b)
	s := writeBenchSetWith(b, l, size, SetOptions{Encrypt: []age.Recipient{id.Recipient()}})
	settle()
	tp, err := l.Open("bench")
	if err != nil {
		b.Fatal(err)
	}
	o := ReadOptions{Keys: Identities{id}}
	buf := make([]byte, 1<<20)
	dropCaches()
	if r, err := tp.OpenEntry(s.Entries[0], o); err == nil {
		io.CopyBuffer(struct{ io.Writer }{io.Discard}, r, buf)
		r.Close()
	}
	peak := watchHeap()
	defer peak.stop()
	b.SetBytes(size)
	for b.Loop() {
		b.StopTimer()
		dropCaches()
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
}
