package mtf

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"
)

// foreign-2001.bkf was written by an independent MTF writer (see
// testdata/README.md): TAPE, SFMB, two sets of a C: volume whose DIRBs
// and FILEs carry NACL streams, each set closed by SFMB, ESET, SFMB.
func openFixture(t *testing.T) *Reader {
	t.Helper()
	f, err := os.Open("testdata/foreign-2001.bkf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	r, err := NewReader(f, st.Size(), "foreign-2001")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestForeignTape(t *testing.T) {
	r := openFixture(t)
	tp := r.Tape()
	if tp.MediaFamilyID != 0x1234ABCD || tp.MediaSequence != 1 || tp.FLBSize != 1024 ||
		tp.SoftFilemarkBlockSize != 2 || tp.MediaName != "Tape created 7/14/2001" ||
		tp.Attributes&TapeSoftFilemarks == 0 || tp.MajorVersion != 1 {
		t.Fatalf("TAPE = %+v", tp)
	}
	c, err := r.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Problems) != 0 {
		t.Fatalf("problems: %v", c.Problems)
	}
	if len(c.Sets) != 2 {
		t.Fatalf("%d sets", len(c.Sets))
	}
	when := time.Date(2001, 7, 14, 13, 45, 30, 0, time.Local)
	for i, s := range c.Sets {
		n := i + 1
		if s.End == nil || s.Err != nil {
			t.Fatalf("set %d: end %v err %v", n, s.End, s.Err)
		}
		if int(s.Start.Number) != n || s.Start.Attributes&SetNormal == 0 ||
			s.Start.Description != "synthetic set" || s.Start.UserName != `HOST\Administrator` ||
			!s.Start.WriteDate.Equal(when) {
			t.Errorf("set %d SSET = %+v", n, s.Start)
		}
		if len(s.Volumes) != 1 || s.Volumes[0].Device != "C:" || s.Volumes[0].Machine != "HOST" ||
			s.Volumes[0].Attributes&VolumeDriveLetter == 0 {
			t.Errorf("set %d volumes = %+v", n, s.Volumes)
		}
		if len(s.Files) != 2 {
			t.Fatalf("set %d: %d files", n, len(s.Files))
		}
		hello := []byte("Hello from set " + string(rune('0'+n)) + "\n")
		big := make([]byte, 3001)
		for j := range big {
			big[j] = byte(j * 7)
		}
		for j, want := range [][]byte{hello, big} {
			e := s.Files[j]
			wantPath := []string{"docs1/hello.txt", "docs1/big.bin"}[j]
			if n == 2 {
				wantPath = []string{"docs2/hello.txt", "docs2/big.bin"}[j]
			}
			if e.Path() != wantPath || e.Size != int64(len(want)) || !e.Block.HasChecksum || !e.Modified().Equal(when) {
				t.Errorf("set %d entry %d = %s size %d csum %v mod %v", n, j, e.Path(), e.Size, e.Block.HasChecksum, e.Modified())
			}
			d, err := r.OpenData(e.Block, e.Path(), DataOptions{Strong: true})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			got, err := io.ReadAll(d)
			if err != nil {
				t.Fatalf("set %d %s: %v", n, e.Path(), err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("set %d %s: data differs", n, e.Path())
			}
		}
	}
	ap := c.AppendPoint()
	if ap.Offset != 26624 || ap.Number != 3 || ap.NeedFilemark || ap.FilemarkCount != 5 ||
		len(ap.Filemarks) != 5 || ap.Filemarks[0] != 25 || ap.Filemarks[4] != 1 {
		t.Errorf("append point = %+v", ap)
	}
}

func readFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/foreign-2001.bkf")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
