package tape

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"exbackup/tape/mtf"
	"exbackup/tape/mtf/mtftest"
)

// A damaged region or a damaged file costs what it holds and nothing else:
// the walk picks up again at the next valid block on an FLB boundary, the
// loss is reported by name (when it could be read) and offset, every other
// file is extracted, and the result says it is incomplete.
func TestExtractDamagedSet(t *testing.T) {
	p, files, offsets := buildForeign(t)
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// report.doc: its FILE block header no longer checks.
	raw[offsets["C:/Documents/report.doc"]+20] ^= 0xff
	// setup.exe: its block is whole, its first stream header is not.
	raw[offsets["C:/Documents/setup.exe"]+88+30] ^= 0xff
	// disk.vhd: one byte of its second extent's data.
	tp0, _ := Open(p)
	tr0, _ := tp0.Tree(1)
	vhd, _ := tr0.Lookup("C:/Documents/disk.vhd")
	c := vhd.entry.Block.Content()
	raw[c.Sparse[1].Offset+100] ^= 0x01
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	tp, _ := Open(p)
	tr, err := tp.Tree(1)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Complete || len(tr.Problems) != 2 {
		t.Fatalf("complete %v, problems %v", tr.Complete, tr.Problems)
	}
	if msg := tr.Problems[0].Error(); !strings.Contains(msg, "byte 7168") {
		t.Errorf("the damaged FILE block is not located: %s", msg)
	}
	if msg := tr.Problems[1].Error(); !strings.Contains(msg, `file "setup.exe"`) || !strings.Contains(msg, "byte 34816") {
		t.Errorf("the damaged stream is not named: %s", msg)
	}
	dest := t.TempDir()
	res, err := tp.Extract(context.Background(), 1, dest, nil, ExtractOptions{})
	if err == nil || !res.Incomplete {
		t.Fatalf("a damaged set extracts as complete: %v %+v", err, res)
	}
	if len(res.Failed) != 1 {
		t.Fatalf("failed: %v", res.Failed)
	}
	var ee *ExtractError
	if !errors.As(res.Failed[0], &ee) || ee.Path != "C:/Documents/disk.vhd" || ee.Tape != "Foreign" || ee.Set != 1 || !errors.Is(ee, mtf.ErrChecksum) {
		t.Errorf("failure %#v", res.Failed[0])
	}
	if len(res.Lost) != 2 {
		t.Errorf("lost %v", res.Lost)
	}
	if _, err := os.Stat(filepath.Join(dest, "C", "Documents", "disk.vhd")); !os.IsNotExist(err) {
		t.Errorf("a file that failed its check is under its name: %v", err)
	}
	extracted := 0
	for _, f := range files {
		switch {
		case strings.Contains(f.path, "report.doc"), strings.Contains(f.path, "setup.exe"), strings.Contains(f.path, "disk.vhd"):
			continue
		}
		got, err := os.ReadFile(filepath.Join(dest, diskPathOf(f.path)))
		if err != nil || !bytes.Equal(got, f.data) {
			t.Errorf("%s: %v", f.path, err)
		}
		extracted++
	}
	if res.Files != extracted {
		t.Errorf("%d files extracted, %d expected", res.Files, extracted)
	}
}

// The fixture, written by an independent writer, extracts whole: both
// sets, each file byte for byte.
func TestExtractFixture(t *testing.T) {
	tp, err := Open(filepath.Join("mtf", "testdata", "foreign-2001.bkf"))
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 3001)
	for i := range big {
		big[i] = byte(i * 7)
	}
	for n := 1; n <= 2; n++ {
		dest := t.TempDir()
		res, err := tp.Extract(context.Background(), n, dest, nil, ExtractOptions{})
		if err != nil || res.Incomplete || res.Files != 2 {
			t.Fatalf("set %d: %v %+v", n, err, res)
		}
		dir := filepath.Join(dest, "C", "docs"+string(rune('0'+n)))
		hello, _ := os.ReadFile(filepath.Join(dir, "hello.txt"))
		if string(hello) != "Hello from set "+string(rune('0'+n))+"\n" {
			t.Errorf("set %d hello.txt = %q", n, hello)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "big.bin")); !bytes.Equal(got, big) {
			t.Errorf("set %d big.bin differs", n)
		}
		st, _ := os.Stat(filepath.Join(dir, "big.bin"))
		if y, m, d := st.ModTime().Date(); y != 2001 || m != 7 || d != 14 {
			t.Errorf("set %d big.bin modified %v", n, st.ModTime())
		}
	}
}

// A set whose end never came to tape extracts what it holds, and says so.
func TestExtractUnfinishedSet(t *testing.T) {
	b := mtftest.New()
	b.Tape(mtf.TapeHeader{MediaName: "Cut"})
	b.Block(&mtf.StartSet{Attributes: mtf.SetNormal, Number: 1})
	b.Block(&mtf.Volume{Device: "C:"})
	b.Block(&mtf.Directory{ID: 1, Name: mtf.DirName(nil)})
	b.Block(&mtf.File{DirectoryID: 1, ID: 1, Name: "kept.txt"}, mtftest.Data([]byte("kept")))
	p := filepath.Join(t.TempDir(), "cut.bkf")
	os.WriteFile(p, b.Bytes(), 0o644)
	tp, _ := Open(p)
	dest := t.TempDir()
	res, err := tp.Extract(context.Background(), 1, dest, nil, ExtractOptions{})
	if err == nil || !strings.Contains(err.Error(), "no end of set") || !res.Incomplete || res.Files != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "C", "kept.txt")); string(got) != "kept" {
		t.Errorf("kept.txt = %q", got)
	}
}

// Names that would climb out of the destination are mapped, never
// followed: "..", "/etc" and a drive letter inside a path stay below it.
func TestExtractStaysInsideDestination(t *testing.T) {
	b := mtftest.New()
	b.Tape(mtf.TapeHeader{MediaName: "Hostile"})
	b.Block(&mtf.StartSet{Attributes: mtf.SetNormal, Number: 1})
	b.Block(&mtf.Volume{Device: `..\..`})
	b.Block(&mtf.Directory{ID: 1, Name: mtf.DirName([]string{"..", "..", "etc"})})
	b.Block(&mtf.File{DirectoryID: 1, ID: 1, Name: "/tmp/escaped"}, mtftest.Data([]byte("x")))
	b.Block(&mtf.File{DirectoryID: 1, ID: 2, Name: ".."}, mtftest.Data([]byte("y")))
	b.Filemark()
	b.Block(&mtf.EndSet{Attributes: mtf.SetNormal, Number: 1})
	b.Filemark()
	top := t.TempDir()
	p := filepath.Join(top, "hostile.bkf")
	os.WriteFile(p, b.Bytes(), 0o644)
	tp, _ := Open(p)
	dest := filepath.Join(top, "dest")
	res, err := tp.Extract(context.Background(), 1, dest, nil, ExtractOptions{})
	if err != nil || res.Files != 2 {
		t.Fatalf("%v %+v", err, res)
	}
	var found []string
	filepath.Walk(top, func(p string, fi os.FileInfo, err error) error {
		if fi != nil && !fi.IsDir() && p != filepath.Join(top, "hostile.bkf") {
			rel, _ := filepath.Rel(dest, p)
			found = append(found, rel)
		}
		return nil
	})
	want := []string{"%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/%2E%2E", "%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/%2Ftmp%2Fescaped"}
	if strings.Join(found, " ") != strings.Join(want, " ") {
		t.Errorf("files written: %q, want %q", found, want)
	}
}
