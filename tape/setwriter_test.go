package tape

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"os"
	"strings"
	"testing"

	"exbackup/internal/crc32c"
	"exbackup/tape/mtf"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// framedSource hands out data in frames with the CRC-32C of each, as the
// server's framed stream does; lie, when set, turns the CRC it gives.
type framedSource struct {
	r     *bytes.Reader
	frame int
	lie   bool
	calls int
	given uint32
}

func (f *framedSource) Read(p []byte) (int, error) {
	n, _, err := f.ReadCRC(p)
	return n, err
}

func (f *framedSource) ReadCRC(p []byte) (int, uint32, error) {
	f.calls++
	n, err := f.r.Read(p[:min(len(p), f.frame)])
	crc := crc32.Checksum(p[:n], castagnoli)
	if f.lie {
		crc = ^crc
	}
	f.given = crc32c.Combine(f.given, crc, uint64(n))
	return n, crc, err
}

var _ mtf.CRCReader = (*framedSource)(nil)

// The set writer takes the CRC-32C of a source that vouches for it: an
// honest one makes the tape a computing writer makes; a lying one is
// recorded as it said, and the verify of the set finds the file whose
// data does not give it.
func TestAddFileTakesSourceCRC(t *testing.T) {
	l := newLibrary(t)
	data := randomBytes(21, 3<<20+777)
	var files [][]byte // each tape's FILE block, data to SPAD
	for i, src := range []func() *framedSource{
		nil,
		func() *framedSource { return &framedSource{r: bytes.NewReader(data), frame: 256 << 10} },
		func() *framedSource { return &framedSource{r: bytes.NewReader(data), frame: 256 << 10, lie: true} },
	} {
		name := []string{"computed", "vouched", "lied"}[i]
		tp, err := l.Create(name, CreateOptions{Created: when})
		if err != nil {
			t.Fatal(err)
		}
		w, err := tp.AppendSet(SetOptions{Created: when})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.BeginVolume(`\\SERVER\Microsoft Information Store`, "SERVER"); err != nil {
			t.Fatal(err)
		}
		var fs *framedSource
		if src != nil {
			fs = src()
			_, err = w.AddFile("priv.edb", int64(len(data)), when, fs)
		} else {
			_, err = w.AddFile("priv.edb", int64(len(data)), when, bytes.NewReader(data))
		}
		if err != nil {
			t.Fatal(err)
		}
		s, err := w.End()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(tp.Path())
		if err != nil {
			t.Fatal(err)
		}
		at := s.Entries[0].Offset
		files = append(files, b[at:at+int64(len(data))+1024])
		_, verr := tp.Verify(context.Background(), 1, VerifyOptions{})
		if fs == nil || !fs.lie {
			if verr != nil {
				t.Errorf("%s: verify: %v", name, verr)
			}
			continue
		}
		if s.Entries[0].CRC32C != fs.given || fs.given == crc32.Checksum(data, castagnoli) {
			t.Errorf("lied: entry CRC-32C %#08x, the source gave %#08x", s.Entries[0].CRC32C, fs.given)
		}
		var fe *mtf.FormatError
		if !errors.As(verr, &fe) || fe.File != "priv.edb" || !errors.Is(verr, mtf.ErrHash) || !strings.Contains(verr.Error(), "CRC-32C") {
			t.Errorf("lied: verify = %v, want the CRC-32C of priv.edb to fail", verr)
		}
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("a source vouching for its CRC-32C made another tape than one read plainly")
	}
}
