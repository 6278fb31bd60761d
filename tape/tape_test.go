package tape

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"exbackup/tape/mtf"
)

var when = time.Date(2026, 11, 25, 14, 59, 0, 0, time.UTC)

func newLibrary(t *testing.T) *Library {
	t.Helper()
	l, err := OpenLibrary(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

type file struct {
	name string
	data []byte
}

// writeSet appends a set holding files on one volume of SERVER's store.
func writeSet(t *testing.T, tp *Tape, o SetOptions, store string, files []file) Set {
	t.Helper()
	w, err := tp.AppendSet(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.BeginVolume(`\\SERVER\`+store, "SERVER"); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, err := w.AddFile(f.name, int64(len(f.data)), when, bytes.NewReader(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := w.End()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readEntry(t *testing.T, tp *Tape, e Entry, o ReadOptions) ([]byte, error) {
	t.Helper()
	r, err := tp.OpenEntry(e, o)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func storeFiles() []file {
	return []file{
		{"priv.edb", randomBytes(1, 300_000)},
		{"pub.edb", randomBytes(2, 70_001)},
		{"edb00003.log", randomBytes(3, 4096)},
		{"restore.env", []byte("store=IS\ntype=normal\n")},
		{"empty.log", nil},
	}
}

func TestWriteReadSets(t *testing.T) {
	l := newLibrary(t)
	tp, err := l.Create("Tape created on 11/25/2026", CreateOptions{Description: "weekly", FamilyID: 0xCAFE, Created: when})
	if err != nil {
		t.Fatal(err)
	}
	files := storeFiles()
	ds := writeSet(t, tp, SetOptions{Type: Normal, Description: "full", Owner: "admin@console", Restricted: true,
		Created: when, Properties: map[string]string{"server": "SERVER"}}, "Microsoft Directory", files[:1])
	is := writeSet(t, tp, SetOptions{Type: Copy, Created: when}, "Microsoft Information Store", files)
	if ds.Number != 1 || is.Number != 2 {
		t.Fatalf("set numbers %d %d", ds.Number, is.Number)
	}
	sets, err := tp.Sets()
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 2 {
		t.Fatalf("%d sets", len(sets))
	}
	s := sets[0]
	if s.State != SetComplete || s.Err != nil || s.Type != Normal || s.Name != "Set created 11/25/2026 at 2:59 PM" ||
		s.Description != "full" || s.Owner != "admin@console" || !s.Restricted || s.Properties["server"] != "SERVER" ||
		!s.Created.Equal(when) || !s.Exbackup || s.Files != 1 || s.Bytes != 300_000 ||
		len(s.Volumes) != 1 || s.Volumes[0] != (Volume{`\\SERVER\Microsoft Directory`, "Microsoft Directory", "SERVER"}) {
		t.Errorf("set 1 = %+v", s)
	}
	s = sets[1]
	if s.State != SetComplete || s.Type != Copy || s.Restricted || s.Files != len(files) {
		t.Errorf("set 2 = %+v", s)
	}
	// The listing matches what the writer returned, for the catalog.
	for i, e := range s.Entries {
		w := is.Entries[i]
		if e != w {
			t.Errorf("entry %d: listed %+v, written %+v", i, e, w)
		}
		if e.Path != files[i].name || e.Size != int64(len(files[i].data)) || !e.Modified.Equal(when) || e.Hash.IsZero() {
			t.Errorf("entry %d = %+v", i, e)
		}
		got, err := readEntry(t, tp, e, ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", e.Path, err)
		}
		if !bytes.Equal(got, files[i].data) {
			t.Errorf("%s: data differs", e.Path)
		}
	}
	rep, err := tp.Verify(context.Background(), 2, VerifyOptions{})
	if err != nil || rep.Files != len(files) {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	info := tp.Info()
	if info.Name != "Tape created on 11/25/2026" || info.FamilyID != 0xCAFE || info.Sequence != 1 ||
		info.Description != "weekly" || !info.Created.Equal(when) || info.Software != DefaultSoftware || info.FLBSize != 1024 {
		t.Errorf("info = %+v", info)
	}
	if tp.Capabilities().HardwareCompression {
		t.Error("file tapes have no hardware compression")
	}
}

func TestFlippedByteDetected(t *testing.T) {
	l := newLibrary(t)
	tp, err := l.Create("flip", CreateOptions{Created: when})
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(9, 50_000)
	s := writeSet(t, tp, SetOptions{Created: when}, "Microsoft Information Store", []file{{"priv.edb", data}})
	e := s.Entries[0]
	b, _ := os.ReadFile(tp.Path())
	// Find the data on tape and flip one byte in the middle of it.
	at := bytes.Index(b, data[:64])
	if at < 0 {
		t.Fatal("data not found")
	}
	b[at+25_000] ^= 0x01
	os.WriteFile(tp.Path(), b, 0o644)
	_, err = readEntry(t, tp, e, ReadOptions{})
	var fe *mtf.FormatError
	if !errors.As(err, &fe) || fe.Set != 1 || fe.File != "priv.edb" || fe.Tape != "flip" {
		t.Fatalf("read error = %v", err)
	}
	_, err = tp.Verify(context.Background(), 1, VerifyOptions{})
	if err == nil {
		t.Fatal("verify passed a flipped byte")
	}
	t.Log(err)
}

// A tape whose first set carries SHA-256 digests, as the first tapes do,
// takes a set with BLAKE3 digests after it; both list, read and verify,
// and each entry names its digest's algorithm.
func TestSHA256TapesStillRead(t *testing.T) {
	l := newLibrary(t)
	tp, err := l.Create("mixed", CreateOptions{Created: when})
	if err != nil {
		t.Fatal(err)
	}
	files := storeFiles()
	writeSet(t, tp, SetOptions{Created: when, fileHash: mtf.HashSHA256}, "Microsoft Information Store", files)
	writeSet(t, tp, SetOptions{Created: when}, "Microsoft Information Store", files)
	sets, err := tp.Sets()
	if err != nil || len(sets) != 2 {
		t.Fatalf("Sets = %d, %v", len(sets), err)
	}
	for i, want := range []string{"sha256:", "blake3:"} {
		s := sets[i]
		for j, e := range s.Entries {
			if !strings.HasPrefix(e.Hash.String(), want) || len(e.Hash.String()) != len(want)+64 {
				t.Errorf("set %d, %s: hash %s", s.Number, e.Path, e.Hash)
			}
			got, err := readEntry(t, tp, e, ReadOptions{})
			if err != nil || !bytes.Equal(got, files[j].data) {
				t.Errorf("set %d, %s: %v", s.Number, e.Path, err)
			}
		}
		if rep, err := tp.Verify(context.Background(), s.Number, VerifyOptions{}); err != nil || rep.Files != len(files) {
			t.Errorf("verify set %d: %+v %v", s.Number, rep, err)
		}
	}
	// An entry whose recorded digest is of the other algorithm is refused.
	e := sets[1].Entries[0]
	e.Hash.Algo = mtf.HashSHA256
	if _, err := readEntry(t, tp, e, ReadOptions{}); !errors.Is(err, mtf.ErrHash) {
		t.Errorf("an entry with the other algorithm: %v", err)
	}
}
