package engine

import (
	"bytes"
	"hash/crc32"
	"io"
	"testing"
)

// crcSource hands out data with a CRC it claims, so that a test sees
// whether a wrapper passed it on or computed its own.
type crcSource struct {
	data []byte
	off  int
}

func (s *crcSource) Read([]byte) (int, error) { panic("read without its CRC") }

func (s *crcSource) ReadCRC(p []byte) (int, uint32, error) {
	if s.off == len(s.data) {
		return 0, 0, io.EOF
	}
	n := copy(p, s.data[s.off:])
	s.off += n
	return n, uint32(s.off), nil
}

// countingReader passes its source's CRCs on and counts what it hands out;
// over a source without them it computes them.
func TestCountingReaderReadCRC(t *testing.T) {
	data := bytes.Repeat([]byte("mailbox data "), 1000)
	p := NewProgress("Backup")
	cr := &countingReader{r: &crcSource{data: data}, p: p}
	buf := make([]byte, 4000)
	for {
		n, crc, err := cr.ReadCRC(buf)
		if n > 0 && crc != uint32(cr.n) {
			t.Fatalf("after %d bytes: CRC %d, not the source's", cr.n, crc)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if cr.n != int64(len(data)) || p.Snapshot().Bytes != int64(len(data)) {
		t.Fatalf("counted %d, progress %d, want %d", cr.n, p.Snapshot().Bytes, len(data))
	}

	cr = &countingReader{r: bytes.NewReader(data), p: NewProgress("Backup")}
	n, crc, err := cr.ReadCRC(buf)
	if err != nil || n != len(buf) || crc != crc32.Checksum(buf, crc32.MakeTable(crc32.Castagnoli)) || cr.n != int64(n) {
		t.Fatalf("over a plain reader: %d, %08x, %v", n, crc, err)
	}
}
