package wire

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"runtime"
	"testing"

	"exbackup/internal/crc32c"
)

// loopStream is a framed stream of frames full-size frames, cycling
// through a few distinct ones, with its trailer: a large stream in little
// memory.
type loopStream struct {
	frames [][]byte // header, payload and CRC of each distinct frame
	left   int      // frames still to send
	i      int
	cur    []byte
	tail   []byte
}

func newLoopStream(frames [][]byte, n int) *loopStream {
	var sum uint32
	for k := range n {
		f := frames[k%len(frames)]
		sum = crc32c.Combine(sum, binary.BigEndian.Uint32(f[len(f)-4:]), uint64(len(f)-8))
	}
	tail := make([]byte, 4+sumSize+8)
	binary.BigEndian.PutUint32(tail[4:], sum)
	binary.BigEndian.PutUint64(tail[4+sumSize:], uint64(n*MaxChunk))
	return &loopStream{frames: frames, left: n, tail: tail}
}

func (s *loopStream) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if s.left == 0 {
			if len(s.tail) == 0 {
				return 0, io.EOF
			}
			s.cur, s.tail = s.tail, nil
			break
		}
		s.cur = s.frames[s.i%len(s.frames)]
		s.i++
		s.left--
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

func loopFrames(n int) [][]byte {
	frames := make([][]byte, n)
	for i := range frames {
		f := make([]byte, 4+MaxChunk+4)
		binary.BigEndian.PutUint32(f, MaxChunk)
		copy(f[4:], frameTestData(MaxChunk, uint64(i)))
		binary.BigEndian.PutUint32(f[4+MaxChunk:], crc32.Checksum(f[4:4+MaxChunk], frameCRCTable))
		frames[i] = f
	}
	return frames
}

// BenchmarkFrameReceive reads a 256 MiB framed stream as a restore's
// receiving goroutine does: into a disk stream's 4 MiB buffer, settled
// before each buffer would go to the disk. Read checks each frame before
// it returns; ReadDeferred leaves the checks to another goroutine.
// recv-cpu-ns/op is the CPU time of the receiving goroutine alone (on
// Linux), which a busy machine does not blur as it does the wall time.
func BenchmarkFrameReceive(b *testing.B) {
	const total = 256
	frames := loopFrames(16)
	buf := make([]byte, 4<<20)
	for _, mode := range []string{"Read", "ReadDeferred"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(total * MaxChunk)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPU()
			defer func() { b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N), "recv-cpu-ns/op") }()
			for b.Loop() {
				fr := NewFrameReader(newLoopStream(frames, total))
				read, settle := fr.Read, func() error { return nil }
				if mode == "ReadDeferred" {
					read, settle = fr.ReadDeferred, fr.Settle
				}
				k := 0
				for {
					n, err := read(buf[k:])
					k += n
					if k == len(buf) || err != nil {
						if serr := settle(); serr != nil {
							b.Fatal(serr)
						}
						k = 0
					}
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkFrameTapeRead reads a 256 MiB framed stream as the console's
// tape writer does: into 1 MiB buffers that start behind a few headers,
// with the CRC-32C of every piece, computed after Read or given by
// ReadCRC.
func BenchmarkFrameTapeRead(b *testing.B) {
	const total = 256
	frames := loopFrames(16)
	buf := make([]byte, 1<<20)
	for _, mode := range []string{"Read+CRC", "ReadCRC"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(total * MaxChunk)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPU()
			defer func() { b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N), "cpu-ns/op") }()
			for b.Loop() {
				fr := NewFrameReader(newLoopStream(frames, total))
				var crc uint32
				k := 1536 // headers
				for {
					var n int
					var err error
					var c uint32
					if mode == "ReadCRC" {
						n, c, err = fr.ReadCRC(buf[k:])
					} else {
						n, err = fr.Read(buf[k:])
						c = crc32.Checksum(buf[k:k+n], frameCRCTable)
					}
					crc ^= c
					if k += n; k == len(buf) {
						k = 0
					}
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				_ = crc
			}
		})
	}
}
