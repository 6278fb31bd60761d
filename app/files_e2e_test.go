package app_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"exbackup/tape/mtf/mtftest"
)

// Old .bkf files of other programs through the real binary: cataloged,
// browsed and extracted, as an administrator would.

const fixtureName = "Tape created 7/14/2001"

// home is an exbackup home with no organization: browse and restore --to
// need none.
type home struct {
	t   *testing.T
	dir string
}

func newHome(t *testing.T) *home { return &home{t: t, dir: filepath.Join(t.TempDir(), "home")} }

func (h *home) run(args ...string) (string, error) {
	cmd := exec.Command(bins.exbackup, args...)
	cmd.Env = append(os.Environ(), "EXBACKUP_HOME="+h.dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (h *home) ok(args ...string) string {
	h.t.Helper()
	out, err := h.run(args...)
	if err != nil {
		h.t.Fatalf("exbackup %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// fails expects a non-zero exit whose last line is a one-line reason with
// every one of want.
func (h *home) fails(args []string, want ...string) string {
	h.t.Helper()
	out, err := h.run(args...)
	if err == nil {
		h.t.Fatalf("exbackup %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	for _, w := range want {
		if !strings.HasPrefix(last, "exbackup ") || !strings.Contains(last, w) {
			h.t.Fatalf("exbackup %s: want a one-line reason with %q, got:\n%s", strings.Join(args, " "), w, out)
		}
	}
	return out
}

// fixtureCopy copies the foreign fixture into a temp folder, passing its
// bytes through edit first.
func fixtureCopy(t *testing.T, edit func([]byte)) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "tape", "mtf", "testdata", "foreign-2001.bkf"))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(raw)
	}
	p := filepath.Join(t.TempDir(), "foreign-2001.bkf")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func bigBin() []byte {
	b := make([]byte, 3001)
	for i := range b {
		b[i] = byte(i * 7 % 256)
	}
	return b
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestForeignTapeCatalogBrowseExtract(t *testing.T) {
	h := newHome(t)
	bkf := fixtureCopy(t, nil)
	out := h.ok("catalog", "--tape", bkf)
	if !strings.Contains(out, "Set 2: Normal") || !strings.Contains(out, "Cataloged 2 sets.") {
		t.Fatalf("catalog:\n%s", out)
	}
	if out := h.ok("tapes"); !strings.Contains(out, fixtureName) || !strings.Contains(out, "1234ABCD") {
		t.Fatalf("tapes:\n%s", out)
	}

	if out := h.ok("verify", "--tape", fixtureName); !strings.Contains(out, "verified 2 sets, 4 files") {
		t.Errorf("verify:\n%s", out)
	}

	// By name (the catalog knows it) and by file.
	root := h.ok("browse", "--tape", fixtureName, "--set", "1")
	if !strings.Contains(root, "1 items  C:") {
		t.Fatalf("browse of the set:\n%s", root)
	}
	dir := h.ok("browse", "--tape", bkf, "--set", "2", `C:\docs2`)
	lines := strings.Split(strings.TrimSpace(dir), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "3001  big.bin") || !strings.HasSuffix(lines[1], "17  hello.txt") ||
		!strings.Contains(lines[0], "2001-07-14 13:45:30") {
		t.Fatalf("browse C:/docs2:\n%s", dir)
	}
	if out := h.ok("browse", "--tape", bkf, "--set", "1", "C:"); !strings.Contains(out, "2 items  docs1/") {
		t.Fatalf("browse C::\n%s", out)
	}
	h.fails([]string{"browse", "--tape", bkf, "--set", "1", "C:/nothing"}, "nothing", "set 1")

	// The whole set.
	dest := t.TempDir()
	out = h.ok("restore", "--tape", fixtureName, "--set", "1", "--to", dest)
	if !strings.Contains(out, "extracted 2 files, 3,018 bytes") {
		t.Fatalf("restore --to:\n%s", out)
	}
	if got := readFile(t, filepath.Join(dest, "C", "docs1", "hello.txt")); got != "Hello from set 1\n" {
		t.Errorf("hello.txt = %q", got)
	}
	if got := readFile(t, filepath.Join(dest, "C", "docs1", "big.bin")); got != string(bigBin()) {
		t.Errorf("big.bin differs (%d bytes)", len(got))
	}
	st, _ := os.Stat(filepath.Join(dest, "C", "docs1", "big.bin"))
	if want := time.Date(2001, 7, 14, 13, 45, 30, 0, time.UTC); !st.ModTime().Equal(want) {
		t.Errorf("big.bin's time %v, want %v", st.ModTime().UTC(), want)
	}

	// Again: skipped by default, kept beside when asked.
	if out := h.ok("restore", "--tape", fixtureName, "--set", "1", "--to", dest); !strings.Contains(out, "C:/docs1/hello.txt skipped") {
		t.Errorf("second restore:\n%s", out)
	}
	if out := h.ok("restore", "--tape", fixtureName, "--set", "1", "--to", dest, "--existing", "keep-both", "--item", "C:/docs1/hello.txt"); !strings.Contains(out, "C/docs1/hello (1).txt") {
		t.Errorf("keep both:\n%s", out)
	}
	h.fails([]string{"restore", "--tape", fixtureName, "--set", "1", "--to", dest, "--existing", "maybe"}, "skip, overwrite or keep-both")

	// A subset of set 2.
	sub := t.TempDir()
	h.ok("restore", "--tape", bkf, "--set", "2", "--to", sub, "--item", "C:/docs2/hello.txt")
	if got := readFile(t, filepath.Join(sub, "C", "docs2", "hello.txt")); got != "Hello from set 2\n" {
		t.Errorf("subset hello.txt = %q", got)
	}
	if _, err := os.Stat(filepath.Join(sub, "C", "docs2", "big.bin")); !os.IsNotExist(err) {
		t.Errorf("big.bin was not asked for: %v", err)
	}
	h.fails([]string{"restore", "--tape", bkf, "--set", "2", "--to", sub, "--item", "C:/docs9"}, "docs9")
}

// A name Linux cannot hold is mapped, and said so.
func TestForeignTapeHostileName(t *testing.T) {
	h := newHome(t)
	bkf := fixtureCopy(t, func(raw []byte) {
		name := mtftest.UTF16("hello.txt")
		i := bytes.Index(raw, name)
		copy(raw[i:], mtftest.UTF16("hel:o.txt"))
	})
	dest := t.TempDir()
	out := h.ok("restore", "--tape", bkf, "--set", "1", "--to", dest)
	if !strings.Contains(out, "C:/docs1/hel:o.txt -> C/docs1/hel%3Ao.txt (name mapped") {
		t.Fatalf("mapped name not reported:\n%s", out)
	}
	if got := readFile(t, filepath.Join(dest, "C", "docs1", "hel%3Ao.txt")); got != "Hello from set 1\n" {
		t.Errorf("mapped file = %q", got)
	}
}

// A damaged file is named with its tape, set, path and offset; the
// others are extracted and the exit status says the result is incomplete.
func TestForeignTapeDamagedFile(t *testing.T) {
	h := newHome(t)
	bkf := fixtureCopy(t, func(raw []byte) {
		i := bytes.Index(raw, bigBin()[:64]) // set 1's big.bin
		raw[i+1000] ^= 0xFF
	})
	dest := t.TempDir()
	out := h.fails([]string{"restore", "--tape", bkf, "--set", "1", "--to", dest},
		`tape "Tape created 7/14/2001", set 1`, `"C:/docs1/big.bin" at byte`, "1 of 2 files not extracted")
	if !strings.Contains(out, "not extracted: ") {
		t.Errorf("the failure is not listed:\n%s", out)
	}
	if got := readFile(t, filepath.Join(dest, "C", "docs1", "hello.txt")); got != "Hello from set 1\n" {
		t.Errorf("hello.txt = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dest, "C", "docs1", "big.bin")); !os.IsNotExist(err) {
		t.Errorf("a damaged file left under its name: %v", err)
	}
	// Set 2 is sound on the same tape; verify names the damaged file.
	h.ok("restore", "--tape", bkf, "--set", "2", "--to", dest)
	h.ok("catalog", "--tape", bkf)
	h.fails([]string{"verify", "--tape", fixtureName}, "set 1", "big.bin")
}

// A set that goes on on a second member: extracted whole with --member;
// without it, the missing member is named by family and sequence, with the
// flag that gives it, and nothing is extracted.
func TestForeignTapeSpanningFamily(t *testing.T) {
	h := newHome(t)
	first, second, big := writeFamily(t)
	dest := t.TempDir()
	h.fails([]string{"restore", "--tape", first, "--set", "1", "--to", dest}, `tape "Family 1", set 1 needs member 2 of media family 00000FA1: give it with --member FILE.bkf`)
	if left, _ := os.ReadDir(dest); len(left) != 0 {
		t.Errorf("a refused extraction left %d entries in the folder", len(left))
	}
	h.fails([]string{"restore", "--tape", first, "--set", "1", "--to", t.TempDir(), "--member", first}, "needs member 2 of media family 00000FA1", "none of the 1 file given")
	if out := h.ok("browse", "--tape", first, "--set", "1", "E:/Big"); !strings.Contains(out, "head.txt") || !strings.Contains(out, "warning: tape \"Family 1\", set 1 needs member 2 of media family 00000FA1: give it with --member FILE.bkf") {
		t.Errorf("browse of the first member alone:\n%s", out)
	}
	whole := t.TempDir()
	h.ok("restore", "--tape", first, "--set", "1", "--to", whole, "--member", second)
	if got := readFile(t, filepath.Join(whole, "E", "Big", "big.bin")); got != string(big) {
		t.Errorf("big.bin across the members differs (%d bytes)", len(got))
	}
	if got := readFile(t, filepath.Join(whole, "E", "Big", "tail.txt")); got != "after the split\n" {
		t.Errorf("tail.txt = %q", got)
	}
	if out := h.ok("browse", "--tape", first, "--set", "1", "--member", second, "E:/Big"); !strings.Contains(out, "tail.txt  (on member 2)") {
		t.Errorf("browse across the members:\n%s", out)
	}
}

// A media family cataloged with its members: the catalog records which
// member holds what, and a later restore or browse finds the members from
// it while their files are where they were.
func TestForeignFamilyCataloged(t *testing.T) {
	h := newHome(t)
	first, second, big := writeFamily(t)
	out := h.ok("catalog", "--tape", first, "--member", second)
	if !strings.Contains(out, "Set 1 goes on on member 2 of media family 00000FA1: "+second) || !strings.Contains(out, "Set 1: Normal, 3/4/2003") {
		t.Errorf("catalog of the family:\n%s", out)
	}
	out = h.ok("tapes")
	for _, want := range []string{`"Family 1"  family 00000FA1 member 1  1 set`, "complete, on members 1\u20132", `"Family 2"  family 00000FA1 member 2  1 set`, "continued from member 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("tapes lacks %q:\n%s", want, out)
		}
	}
	whole := t.TempDir()
	h.ok("restore", "--tape", "Family 1", "--set", "1", "--to", whole)
	if got := readFile(t, filepath.Join(whole, "E", "Big", "big.bin")); got != string(big) {
		t.Errorf("big.bin found through the catalog differs (%d bytes)", len(got))
	}
	if out := h.ok("browse", "--tape", "Family 1", "--set", "1", "E:/Big"); !strings.Contains(out, "tail.txt  (on member 2)") || strings.Contains(out, "warning") {
		t.Errorf("browse through the catalog:\n%s", out)
	}
	// The second member moved away: it is asked for again.
	if err := os.Rename(second, second+".away"); err != nil {
		t.Fatal(err)
	}
	h.fails([]string{"restore", "--tape", "Family 1", "--set", "1", "--to", t.TempDir()}, "needs member 2 of media family 00000FA1: give it with --member FILE.bkf")
}

var familyWhen = time.Date(2003, 3, 4, 5, 6, 7, 0, time.UTC)

// writeFamily writes a media family of two members; the first medium ends
// inside big.bin.
func writeFamily(t *testing.T) (first, second string, big []byte) {
	t.Helper()
	big = make([]byte, 20000)
	for i := range big {
		big[i] = byte(i*31 + i/7)
	}
	first, second = mtftest.WriteFamily(t, big, familyWhen)
	return first, second, big
}

// A tape of ours from before the digest tables is cataloged from its
// blocks, the output saying why in one line, and verifies.
func TestOwnTapeWithoutDigestTables(t *testing.T) {
	h := newHome(t)
	raw, err := os.ReadFile(filepath.Join("..", "tape", "mtf", "testdata", "own-2026-nodigests.bkf"))
	if err != nil {
		t.Fatal(err)
	}
	bkf := filepath.Join(t.TempDir(), "old.bkf")
	if err := os.WriteFile(bkf, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out := h.ok("catalog", "--tape", bkf)
	if strings.Count(out, "Read from the tape's") != 1 || !strings.Contains(out, "Read from the tape's blocks, not its media based catalog: ") ||
		!strings.Contains(out, "no digest table") || !strings.Contains(out, "Cataloged 2 sets.") {
		t.Fatalf("catalog:\n%s", out)
	}
	if out := h.ok("verify", "--tape", "Tape created on 11/30/2026"); !strings.Contains(out, "verified 2 sets, 6 files") {
		t.Errorf("verify:\n%s", out)
	}
}
