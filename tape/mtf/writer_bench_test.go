package mtf

import (
	"hash/crc32"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// benchFileBytes is the size of the file BenchmarkWriteFile writes.
const benchFileBytes = 256 << 20

// frameSource yields n bytes in frames of one repeating random frame, as
// the API's framed stream does: a Read returns at most the rest of the
// current frame. Its ReadCRC gives, like the frame reader, the CRC-32C of
// what it read, known beforehand for a whole frame.
type frameSource struct {
	frame []byte
	crc   uint32 // of the whole frame
	left  int64
	off   int // into the current frame
}

func newFrameSource(n int64) *frameSource {
	rng := rand.New(rand.NewPCG(3, 4))
	f := make([]byte, 64<<10)
	for i := range f {
		f[i] = byte(rng.Uint32())
	}
	return &frameSource{frame: f, crc: crc32.Checksum(f, castagnoli), left: n}
}

func (s *frameSource) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(int64(len(p)), s.left)], s.frame[s.off:])
	s.off = (s.off + n) % len(s.frame)
	s.left -= int64(n)
	return n, nil
}

// crcFrameSource is a frameSource with ReadCRC.
type crcFrameSource struct{ frameSource }

func (s *crcFrameSource) ReadCRC(p []byte) (int, uint32, error) {
	whole := s.off == 0
	n, err := s.Read(p)
	if whole && n == len(s.frame) {
		return n, s.crc, err
	}
	return n, crc32.Checksum(p[:n], castagnoli), err
}

// BenchmarkWriteFile writes one file of benchFileBytes into a set whose
// tape is thrown away: the writer's own work, from a source without
// ReadCRC and from one with it. Beside the rate it reports cpu-ns/B, the
// processor time of the whole process, and reader-cpu-ns/B, that of the
// thread of the goroutine reading the source into the buffers (on the
// console, the one receiving the server's stream): the work left on the
// critical path.
func BenchmarkWriteFile(b *testing.B) {
	for _, c := range []struct {
		name string
		src  func() io.Reader
	}{
		{"Read", func() io.Reader { return newFrameSource(benchFileBytes) }},
		{"ReadCRC", func() io.Reader { return &crcFrameSource{*newFrameSource(benchFileBytes)} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.SetBytes(benchFileBytes)
			var used, reader time.Duration
			for b.Loop() {
				cpu, own := cpuTime(), threadTime()
				w, err := NewWriter(io.Discard, 0, WriterOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if err := w.WriteTape(&TapeHeader{MediaName: "bench", MediaDate: when}); err != nil {
					b.Fatal(err)
				}
				if _, err := w.BeginSet(&StartSet{Attributes: SetNormal, Number: 1, WriteDate: when}, nil); err != nil {
					b.Fatal(err)
				}
				if _, err := w.WriteBlock(&Volume{Device: "BENCH", WriteDate: when}); err != nil {
					b.Fatal(err)
				}
				if _, _, err := w.WriteFile(&File{ID: 1, Name: "priv.edb", Modified: when}, benchFileBytes, c.src()); err != nil {
					b.Fatal(err)
				}
				if _, err := w.EndSet(&EndSet{WriteDate: when}); err != nil {
					b.Fatal(err)
				}
				used += cpuTime() - cpu
				reader += threadTime() - own
			}
			if used > 0 {
				b.ReportMetric(float64(used.Nanoseconds())/benchFileBytes/float64(b.N), "cpu-ns/B")
			}
			if reader > 0 {
				b.ReportMetric(float64(reader.Nanoseconds())/benchFileBytes/float64(b.N), "reader-cpu-ns/B")
			}
		})
	}
}
