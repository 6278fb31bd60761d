package tape

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"exbackup/tape/mtf"
	"exbackup/tape/mtf/mtftest"
)

var foreignWhen = time.Date(2003, 5, 6, 7, 8, 9, 0, time.UTC)

// foreignFile is a file of the test tape with the content it must extract
// to.
type foreignFile struct {
	path string // tree path
	data []byte
}

func pattern(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		// Text-like, so LZS finds matches; some random bytes too.
		if i%97 < 80 {
			b[i] = "the quick brown fox jumps over the lazy dog "[i%44]
		} else {
			b[i] = byte(r.Uint32())
		}
	}
	return b
}

func noise(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// buildForeign writes a tape as NT Backup or Backup Exec lay one out: a
// C: volume, DIRBs and FILEs with NT streams (NACL, NTEA, NTOI, ADAT), a
// compressed file (LZS frames, one of them stored), a sparse file, names
// Linux cannot hold, and a FILE that comes before its DIRB.
func buildForeign(t *testing.T) (string, []foreignFile, map[string]int64) {
	t.Helper()
	b := mtftest.New()
	b.Tape(mtf.TapeHeader{MediaFamilyID: 0x5eed, MediaName: "Foreign", SoftwareName: "Backup Exec"})
	b.Block(&mtf.StartSet{Attributes: mtf.SetNormal, Number: 1, Name: "Set 1", UserName: `HOST\Administrator`, WriteDate: foreignWhen, TimeZone: 0})
	b.Block(&mtf.Volume{Attributes: mtf.VolumeDriveLetter, Device: "C:", Machine: "HOST", WriteDate: foreignWhen})
	acl := mtftest.Stream{ID: mtf.StreamNTACL, Data: bytes.Repeat([]byte{1, 2, 3}, 40)}
	b.Block(&mtf.Directory{ID: 1, Name: mtf.DirName(nil), Modified: foreignWhen}, acl)
	docsWhen := foreignWhen.Add(-time.Hour)
	b.Block(&mtf.Directory{ID: 2, Name: mtf.DirName([]string{"Documents"}), Modified: docsWhen}, acl)
	var files []foreignFile
	offsets := map[string]int64{}
	file := func(dir uint32, tree, name string, data []byte, display uint64, streams ...mtftest.Stream) {
		at := b.BlockHeader(mtf.Header{DisplayableSize: display}, &mtf.File{DirectoryID: dir, ID: uint32(len(files) + 1), Name: name, Modified: foreignWhen, Accessed: foreignWhen}, streams...)
		files = append(files, foreignFile{tree, data})
		offsets[tree] = at
	}
	hello := []byte("Hello from a foreign tape\n")
	file(2, "C:/Documents/hello.txt", "hello.txt", hello, uint64(len(hello)), acl, mtftest.Stream{ID: mtf.StreamNTEA, Data: []byte("ea")}, mtftest.Data(hello))
	// Compressed: two LZS frames and a stored one (random bytes do not
	// compress), as Backup Exec's software compression writes them.
	comp := append(pattern(40000, 1), noise(5000, 2)...)
	file(2, "C:/Documents/report.doc", "report.doc", comp, uint64(len(comp)), acl, mtftest.Compressed(comp, 16384))
	// Sparse: 1 MiB with two extents and a hole at the end.
	sparse := make([]byte, 1<<20)
	e1, e2 := noise(5000, 3), noise(3000, 4)
	copy(sparse[4096:], e1)
	copy(sparse[600000:], e2)
	file(2, "C:/Documents/disk.vhd", "disk.vhd", sparse, 1<<20, append([]mtftest.Stream{acl}, mtftest.Sparse(map[int64][]byte{4096: e1, 600000: e2}, []int64{4096, 600000})...)...)
	ads := []byte("[ZoneTransfer]\r\nZoneId=3\r\n")
	main := []byte("downloaded\n")
	file(2, "C:/Documents/setup.exe", "setup.exe", main, uint64(len(main)), acl, mtftest.Data(main), mtftest.Alternate("Zone.Identifier", ads), mtftest.Stream{ID: mtf.StreamNTObjectID, Data: make([]byte, 64)})
	files = append(files, foreignFile{"C:/Documents/setup.exe:Zone.Identifier", ads})
	// Names Linux cannot hold as they are.
	odd := []byte("odd\n")
	file(2, `C:/Documents/a:b\c`, `a:b\c`, odd, 4, mtftest.Data(odd))
	file(2, "C:/Documents/CON.txt", "CON.txt", odd, 4, mtftest.Data(odd))
	file(2, "C:/Documents/tab\tname", "tab\tname", odd, 4, mtftest.Data(odd))
	surrogate := mtftest.Stream{ID: mtf.StreamFileName, Data: mtftest.Units('x', 0xd800, 'y')}
	file(2, "C:/Documents/x\xed\xa0\x80y", "", odd, 4, surrogate, mtftest.Data(odd))
	// Out of order: a FILE of directory 4 before the DIRB of 4.
	late := []byte("written before its folder's DIRB\n")
	file(4, "C:/Later/early.txt", "early.txt", late, uint64(len(late)), mtftest.Data(late))
	b.Block(&mtf.Directory{ID: 4, Name: mtf.DirName([]string{"Later"}), Modified: docsWhen})
	empty := []byte{}
	b.Block(&mtf.Directory{ID: 5, Name: mtf.DirName([]string{"Later", "Empty"}), Modified: docsWhen})
	file(1, "C:/zero.bin", "zero.bin", empty, 0)
	b.Filemark()
	b.Block(&mtf.EndSet{Attributes: mtf.SetNormal, Number: 1, WriteDate: foreignWhen})
	b.Filemark()
	p := filepath.Join(t.TempDir(), "foreign.bkf")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, files, offsets
}

func diskPathOf(tree string) string {
	parts := strings.Split(tree, "/")
	out := []string{strings.TrimSuffix(parts[0], ":")}
	for _, p := range parts[1:] {
		d, _ := DiskName(p)
		out = append(out, d)
	}
	return filepath.Join(out...)
}

func TestBrowseForeignSet(t *testing.T) {
	p, files, offsets := buildForeign(t)
	tp, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tp.Tree(1)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Complete || len(tr.Problems) != 0 {
		t.Fatalf("complete %v problems %v", tr.Complete, tr.Problems)
	}
	root, err := tr.Browse("")
	if err != nil || len(root) != 1 || root[0].Name != "C:" || root[0].Kind != KindVolume {
		t.Fatalf("root = %+v, %v", root, err)
	}
	vol, _ := tr.Browse("C:")
	var names []string
	for _, c := range vol {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "Documents,Later,zero.bin" {
		t.Errorf("C: holds %v", names)
	}
	docs, err := tr.Browse(`c\documents`) // Windows separators and case
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 8 {
		t.Errorf("Documents has %d children: %+v", len(docs), docs)
	}
	for _, f := range files {
		if strings.Contains(f.path, ":Zone") {
			continue
		}
		n, err := tr.Lookup(f.path)
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
			continue
		}
		if n.Kind != KindFile || n.Size != int64(len(f.data)) || !n.Modified.Equal(foreignWhen) || n.Offset != offsets[f.path] {
			t.Errorf("%s: %+v", f.path, n)
		}
	}
	if len(tr.Root()) != 1 || tr.Root()[0].Children()[0].Name != "Documents" {
		t.Errorf("root %+v", tr.Root())
	}
	if sel, n, err := tr.Select([]string{"C:/Later", "C:/zero.bin"}); err != nil || len(sel) != 2 || n != int64(len("written before its folder's DIRB\n")) {
		t.Errorf("select: %d files, %d bytes, %v", len(sel), n, err)
	}
	early, _ := tr.Lookup("C:/Later/early.txt")
	if early == nil || early.Parent() == nil || early.Parent().Name != "Later" {
		t.Errorf("a FILE before its DIRB is not in its folder: %+v", early)
	}
	setup, _ := tr.Lookup("C:/Documents/setup.exe")
	if strings.Join(setup.Streams, ",") != "NACL,NTOI,ADAT" {
		t.Errorf("setup.exe streams %v", setup.Streams)
	}
	line := docs[0].String()
	if !strings.HasPrefix(line, "F  2003-05-06 07:08:09") {
		t.Errorf("listing line %q", line)
	}
}

func TestExtractForeignSet(t *testing.T) {
	p, files, _ := buildForeign(t)
	tp, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	res, err := tp.Extract(context.Background(), 1, dest, nil, ExtractOptions{AlternateStreams: true})
	if err != nil {
		t.Fatalf("extract: %v (%+v)", err, res)
	}
	if res.Incomplete || len(res.Failed) != 0 || res.Files != len(files) {
		t.Fatalf("result %+v", res)
	}
	for _, f := range files {
		disk := diskPathOf(strings.ReplaceAll(f.path, ".exe:Zone", ".exe%3AZone"))
		if strings.Contains(f.path, ":Zone") {
			disk = filepath.Join("C", "Documents", "setup.exe%3AZone.Identifier")
		}
		got, err := os.ReadFile(filepath.Join(dest, disk))
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
			continue
		}
		if !bytes.Equal(got, f.data) {
			t.Errorf("%s: %d bytes extracted differ from the %d on tape", f.path, len(got), len(f.data))
		}
		st, _ := os.Stat(filepath.Join(dest, disk))
		if !st.ModTime().Equal(foreignWhen) {
			t.Errorf("%s: modified %v", f.path, st.ModTime())
		}
	}
	// The sparse file keeps its holes: far fewer blocks than its size.
	st, _ := os.Stat(filepath.Join(dest, "C", "Documents", "disk.vhd"))
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Blocks*512 >= st.Size()/2 {
		t.Errorf("disk.vhd takes %d bytes on disk for %d: its holes were written", sys.Blocks*512, st.Size())
	}
	dst, _ := os.Stat(filepath.Join(dest, "C", "Documents"))
	if !dst.ModTime().Equal(foreignWhen.Add(-time.Hour)) {
		t.Errorf("Documents modified %v", dst.ModTime())
	}
	if fi, err := os.Stat(filepath.Join(dest, "C", "Later", "Empty")); err != nil || !fi.IsDir() {
		t.Errorf("empty folder: %v", err)
	}
	// Mapped names are reported and read back to the tape's.
	want := map[string]string{
		`C:/Documents/a:b\c`:          "C/Documents/a%3Ab%5Cc",
		"C:/Documents/CON.txt":        "C/Documents/%43ON.txt",
		"C:/Documents/tab\tname":      "C/Documents/tab%09name",
		"C:/Documents/x\xed\xa0\x80y": "C/Documents/x%uD800y",
	}
	for _, r := range res.Renamed {
		if w, ok := want[r.Path]; ok {
			if r.Disk != w {
				t.Errorf("%q mapped to %q, want %q", r.Path, r.Disk, w)
			}
			if back := TapeName(filepath.Base(r.Disk)); back != filepath.Base(strings.ReplaceAll(r.Path, `\`, "/")) && !strings.Contains(r.Path, `\`) {
				t.Errorf("%q reads back as %q", r.Disk, back)
			}
			delete(want, r.Path)
		}
	}
	if len(want) != 0 {
		t.Errorf("not reported as mapped: %v", want)
	}
	if TapeName("a%3Ab%5Cc") != `a:b\c` {
		t.Errorf("TapeName does not undo DiskName")
	}
	// No temporary file is left anywhere.
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if strings.HasSuffix(p, ".exbackup-part") {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func TestExtractItemsAndExisting(t *testing.T) {
	p, _, _ := buildForeign(t)
	tp, _ := Open(p)
	dest := t.TempDir()
	ctx := context.Background()
	hello := filepath.Join(dest, "C", "Documents", "hello.txt")
	if err := os.MkdirAll(filepath.Dir(hello), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(hello, []byte("mine"), 0o644)
	res, err := tp.Extract(ctx, 1, dest, []string{"C:/Documents/hello.txt", "C:/Later"}, ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(hello); string(got) != "mine" || len(res.Skipped) != 1 || res.Files != 1 {
		t.Errorf("skip: %q, %+v", got, res)
	}
	if _, err := os.Stat(filepath.Join(dest, "C", "Documents", "report.doc")); err == nil {
		t.Errorf("an item not asked for was extracted")
	}
	res, err = tp.Extract(ctx, 1, dest, []string{"C:/Documents/hello.txt"}, ExtractOptions{Existing: KeepBoth})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "C", "Documents", "hello (1).txt")); !strings.HasPrefix(string(got), "Hello") || len(res.Renamed) != 1 {
		t.Errorf("keep both: %q %+v", got, res)
	}
	if _, err := tp.Extract(ctx, 1, dest, []string{"C:/Documents/hello.txt"}, ExtractOptions{Existing: Overwrite}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(hello); !strings.HasPrefix(string(got), "Hello") {
		t.Errorf("overwrite: %q", got)
	}
	if _, err := tp.Extract(ctx, 1, dest, []string{"C:/Nowhere"}, ExtractOptions{}); err == nil {
		t.Errorf("an item not on tape was accepted")
	}
}

func TestExtractDoesNotFollowSymlinks(t *testing.T) {
	p, _, _ := buildForeign(t)
	tp, _ := Open(p)
	dest, outside := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(dest, "C"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dest, "C", "Documents")); err != nil {
		t.Fatal(err)
	}
	// A link in place of a file is replaced by the file, not written through.
	target := filepath.Join(outside, "victim")
	os.WriteFile(target, []byte("keep"), 0o644)
	if err := os.Symlink(target, filepath.Join(dest, "C", "zero.bin")); err != nil {
		t.Fatal(err)
	}
	res, err := tp.Extract(context.Background(), 1, dest, nil, ExtractOptions{Existing: Overwrite})
	if err == nil || !res.Incomplete {
		t.Fatalf("extract through a symlinked folder: %v %+v", err, res)
	}
	var ee *ExtractError
	if !errors.As(err, &ee) || !strings.HasPrefix(ee.Path, "C:/Documents") || !strings.Contains(err.Error(), "symbolic link is not followed") {
		t.Errorf("error %v", err)
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Errorf("files written outside the destination: %v", entries)
	}
	if got, _ := os.ReadFile(target); string(got) != "keep" {
		t.Errorf("written through a symlink: %q", got)
	}
	if fi, err := os.Lstat(filepath.Join(dest, "C", "zero.bin")); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
		t.Errorf("zero.bin: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(dest, "C", "Later", "early.txt")); err != nil {
		t.Errorf("the other files were not extracted: %v", err)
	}
}

func TestDiskNameReversible(t *testing.T) {
	for _, n := range []string{"plain.txt", "50%", "a/b", `a\b`, "x:y", "..", ".", "nul", "LPT3.log", "com0", "\x01\x7f", "x\xed\xb0\x81", "bad\xff", "%41"} {
		d, _ := DiskName(n)
		if strings.ContainsAny(d, "/\x00") || d == "." || d == ".." {
			t.Errorf("%q maps to %q", n, d)
		}
		if back := TapeName(d); back != n {
			t.Errorf("%q → %q → %q", n, d, back)
		}
	}
	// Windows names COM0 and LPT0 among its devices too: they are
	// escaped as the library's file names escape them.
	if d, ch := DiskName("com0"); !ch || d == "com0" {
		t.Errorf("com0 is kept as %q", d)
	}
}

// Verify reads a foreign set's compressed and sparse files as extraction
// does, and finds a damaged frame.
func TestVerifyForeignSet(t *testing.T) {
	p, _, _ := buildForeign(t)
	tp, _ := Open(p)
	rep, err := tp.Verify(context.Background(), 1, VerifyOptions{})
	if err != nil || len(rep.Failed) != 0 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	raw, _ := os.ReadFile(p)
	tr, _ := tp.Tree(1)
	doc, _ := tr.Lookup("C:/Documents/report.doc")
	raw[doc.entry.Block.Content().Data.Offset+5000] ^= 0x10
	os.WriteFile(p, raw, 0o644)
	rep, err = tp.Verify(context.Background(), 1, VerifyOptions{})
	if err == nil || len(rep.Failed) != 1 || !strings.Contains(rep.Failed[0].Error(), "report.doc") {
		t.Errorf("verify of a damaged frame: %v %+v", err, rep.Failed)
	}
}
