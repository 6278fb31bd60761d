package tape

import (
	"io"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// chunkBenchBytes is the size of the entry BenchmarkReadChunk drains:
// 256 MiB unless EXBACKUP_CHUNK_BYTES says otherwise.
func chunkBenchBytes() int64 {
	if v, err := strconv.ParseInt(os.Getenv("EXBACKUP_CHUNK_BYTES"), 10, 64); err == nil && v > 0 {
		return v
	}
	return 256 << 20
}

// BenchmarkReadChunk opens an entry and drains it with ReadChunk, as a
// restore's upload does (CSUM and CRC-32C checked, no digest), the tape in
// the page cache or not as the system keeps it. Beside the rate it reports
// consumer-cpu-ns/B, the processor time of the draining goroutine's own
// thread, which ReadChunk's work sets (its waits for the disk cost none),
// and cpu-ns/B, the whole process's.
func BenchmarkReadChunk(b *testing.B) {
	benchDrain(b, func(r *EntryReader) (int64, error) {
		var n int64
		for {
			p, _, err := r.ReadChunk()
			n += int64(len(p))
			if err == io.EOF {
				return n, nil
			}
			if err != nil {
				return n, err
			}
		}
	})
}

// BenchmarkReadEntry drains the entry as BenchmarkReadChunk does, with
// io.Copy (WriteTo) as an extract or a verify reads it.
func BenchmarkReadEntry(b *testing.B) {
	benchDrain(b, func(r *EntryReader) (int64, error) { return io.Copy(io.Discard, r) })
}

func benchDrain(b *testing.B, drain func(*EntryReader) (int64, error)) {
	size := chunkBenchBytes()
	l, err := OpenLibrary(benchDir(b))
	if err != nil {
		b.Fatal(err)
	}
	s := writeBenchSetWith(b, l, size, SetOptions{})
	tp, err := l.Open("bench")
	if err != nil {
		b.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(size)
	var consumer, process time.Duration
	for b.Loop() {
		cpu, thread := cpuTime(), threadTime()
		r, err := tp.OpenEntry(s.Entries[0], ReadOptions{Fast: true})
		if err != nil {
			b.Fatal(err)
		}
		n, err := drain(r)
		consumer += threadTime() - thread
		r.Close()
		process += cpuTime() - cpu
		if err != nil || n != size {
			b.Fatalf("read %d of %d bytes: %v", n, size, err)
		}
	}
	if consumer > 0 {
		b.ReportMetric(float64(consumer.Nanoseconds())/float64(size)/float64(b.N), "consumer-cpu-ns/B")
		b.ReportMetric(float64(process.Nanoseconds())/float64(size)/float64(b.N), "cpu-ns/B")
	}
}
