package mtf

import (
	"bytes"
	"io"
	"runtime"
	"testing"
	"time"
)

// BenchmarkDataReadChunk drains a 64 MiB file of an in-memory tape with
// ReadChunk (CSUM and CRC-32C checked, no digest): the reads cost a copy,
// so the time is that of the checksums and of the consumer's critical
// path. Beside the rate, which moves with whatever else the machine runs,
// it reports consumer-cpu-ns/B, the processor time of the draining
// goroutine's own thread: the checksum work left to the consumer.
func BenchmarkDataReadChunk(b *testing.B) {
	const size = 64 << 20
	data := bytes.Repeat([]byte("exbackup data reader benchmark, "), size/32)
	r := openBytes(b, buildTapeWith(b, WriterOptions{BufferSize: 1 << 20}, []testFile{{"priv.edb", data}}))
	c, err := r.Scan()
	if err != nil {
		b.Fatal(err)
	}
	blk := c.Sets[0].Files[0].Block
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(size)
	var consumer time.Duration
	for b.Loop() {
		start := threadTime()
		d, err := r.OpenData(blk, "priv.edb", DataOptions{})
		if err != nil {
			b.Fatal(err)
		}
		var n int
		for {
			p, _, err := d.ReadChunk()
			n += len(p)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		consumer += threadTime() - start
		d.Close()
		if n != size {
			b.Fatalf("read %d of %d bytes", n, size)
		}
	}
	if consumer > 0 {
		b.ReportMetric(float64(consumer.Nanoseconds())/size/float64(b.N), "consumer-cpu-ns/B")
	}
}
