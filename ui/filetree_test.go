package ui

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/tape"
)

// filesEngine is the fake with a real engine's file-set calls, over the
// NT Backup fixture tape.
type filesEngine struct {
	*fakeEngine
	real *engine.Engine
}

func (f filesEngine) BrowseSet(nameOrPath string, set int, members ...string) (*tape.Tree, error) {
	return f.real.BrowseSet(nameOrPath, set, members...)
}

func (f filesEngine) ExtractFiles(ctx context.Context, req engine.ExtractRequest, p *engine.Progress) (tape.ExtractResult, error) {
	return f.real.ExtractFiles(ctx, req, p)
}

func fixturePath(t *testing.T) string {
	p, err := filepath.Abs(filepath.Join("..", "tape", "mtf", "testdata", "foreign-2001.bkf"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newFilesConsole is the test console with the fixture cataloged as tape 3.
func newFilesConsole(t *testing.T) (*Console, *uiQueue) {
	t.Helper()
	f := newFakeEngine()
	when := time.Date(2001, 7, 14, 13, 45, 30, 0, time.UTC)
	f.tapes = append(f.tapes, catalog.Tape{ID: 3, FamilyID: 0x1234ABCD, Sequence: 1, Name: "Tape created 7/14/2001", Created: when, Location: fixturePath(t)})
	for n := 1; n <= 2; n++ {
		f.sets[3] = append(f.sets[3], catalog.Set{ID: 300 + uint64(n), TapeID: 3, Number: n, Description: "synthetic set", Created: when,
			Owner: `HOST\Administrator`, Server: "HOST", Stores: []string{"C:"}, State: catalog.StateComplete, Foreign: true, Files: 2, Bytes: 3018})
	}
	e, err := engine.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	a := test.NewTempApp(t)
	q := newUIQueue()
	c := newConsole(a, filesEngine{f, e}, Options{Version: "1.2.3", LogFile: filepath.Join(t.TempDir(), "Backup.log")}, q.do)
	c.now = func() time.Time { return testNow }
	c.settle = 0
	c.win.Resize(fyne.NewSize(1180, 760))
	t.Cleanup(func() {
		q.drain()
		if c.ctx.Err() == nil {
			c.win.Close()
		}
	})
	q.until(t, "the organization and the catalog", func() bool { return c.orgLoaded && c.tapeLoaded })
	return c, q
}

// highlight highlights set n of tape 3, as a click on its row does.
func highlight(t *testing.T, c *Console, q *uiQueue, n int) *filePane {
	t.Helper()
	c.tapes.selectTape(3)
	c.tapes.setsTable.OnSelected(widget.TableCellID{Row: n - 1, Col: 2})
	p := c.tapes.files
	q.until(t, "the set's tree", func() bool { return p.ix != nil })
	return p
}

func rowOf(t *testing.T, p *filePane, path string) *fileRow {
	t.Helper()
	r := newFileRow()
	p.updateRow("/"+path, r)
	return r
}

// A file set opens as its folders, with sizes, dates and tri-state ticks;
// a store set shows no tree.
func TestFileSetTree(t *testing.T) {
	c, q := newFilesConsole(t)
	c.tapes.selectTape(2)
	c.tapes.setsTable.OnSelected(widget.TableCellID{Row: 1, Col: 2})
	if c.tapes.files.content.Visible() {
		t.Fatal("a store set shows a file tree")
	}
	p := highlight(t, c, q, 1)
	if !p.content.Visible() || !strings.Contains(p.title.Text, "Files of set 1 on Tape created 7/14/2001") {
		t.Fatalf("pane visible %v, title %q", p.content.Visible(), p.title.Text)
	}
	if got := p.tree.ChildUIDs(""); !slices.Equal(got, []string{"/C:"}) {
		t.Fatalf("volumes %v", got)
	}
	if got := p.tree.ChildUIDs("/C:/docs1"); !slices.Equal(got, []string{"/C:/docs1/big.bin", "/C:/docs1/hello.txt"}) || !p.tree.IsBranch("/C:/docs1") || p.tree.IsBranch("/C:/docs1/big.bin") {
		t.Fatalf("docs1: %v", got)
	}
	if r := rowOf(t, p, "C:/docs1/big.bin"); r.name.Text != "big.bin" || r.size.Text != humanBytes(3001) || r.date.Text != "7/14/2001 1:45 PM" {
		t.Errorf("big.bin row: %q %q %q", r.name.Text, r.size.Text, r.date.Text)
	}
	if r := rowOf(t, p, "C:/docs1"); r.size.Text != "2 files" {
		t.Errorf("docs1 row size %q", r.size.Text)
	}

	// Ticking a file makes its folders partly ticked; both, wholly.
	p.tick("/C:/docs1/hello.txt", true)
	if r := rowOf(t, p, "C:/docs1"); r.check.Checked || !r.check.Partial {
		t.Errorf("docs1 with one of two: checked %v partial %v", r.check.Checked, r.check.Partial)
	}
	if r := rowOf(t, p, "C:"); !r.check.Partial {
		t.Error("C: with one file ticked is not partly ticked")
	}
	if got := p.items(); !slices.Equal(got, []string{"C:/docs1/hello.txt"}) {
		t.Errorf("items %v", got)
	}
	// The check box of the row ticks like the tree's own.
	r := rowOf(t, p, "C:/docs1")
	test.Tap(r.check)
	if r := rowOf(t, p, "C:"); !r.check.Checked || r.check.Partial {
		t.Errorf("C: with all ticked: checked %v partial %v", r.check.Checked, r.check.Partial)
	}
	if got := p.items(); !slices.Equal(got, []string{"C:"}) {
		t.Errorf("items with all ticked %v", got)
	}
	if !strings.Contains(p.status.Text, "2 of 2 files selected") {
		t.Errorf("status %q", p.status.Text)
	}
	p.tick("/C:", false)
	if p.items() != nil || !p.ticks.none() {
		t.Errorf("after unticking all: %v", p.items())
	}
	// Another tape closes the tree.
	c.tapes.selectTape(2)
	if p.content.Visible() || p.ix != nil {
		t.Error("the tree stays open on another tape")
	}
}

// Restore… with files ticked asks for the alternate folder and what to do
// with files already there, then extracts under Restore Status.
func TestRestoreFilesToAlternateFolder(t *testing.T) {
	c, q := newFilesConsole(t)
	p := highlight(t, c, q, 2)
	p.tick("/C:/docs2/hello.txt", true)
	dest := t.TempDir()
	os.MkdirAll(filepath.Join(dest, "C", "docs2"), 0o755)
	os.WriteFile(filepath.Join(dest, "C", "docs2", "hello.txt"), []byte("mine\n"), 0o644)

	d := c.openFileRestore()
	if d == nil {
		t.Fatal("Restore… opened no page for ticked files")
	}
	top := overlayTop(c)
	for _, want := range []string{"Tape created 7/14/2001", "Set 2: synthetic set", "Alternate folder", "C:/docs2/hello.txt", "1 file, 17 bytes", "When a file is already there:"} {
		if !hasText(top, want) {
			t.Errorf("the page does not show %q: %q", want, labelTexts(top))
		}
	}
	if sz := top.MinSize(); sz.Width > 800 || sz.Height > 600 {
		t.Errorf("the page needs %v: more than an 800×600 screen", sz)
	}
	if d.exist.Selected() != existingSkip {
		t.Errorf("default for existing files: %q", d.exist.Selected())
	}
	d.dir.SetText("relative/path")
	d.submit()
	if !strings.Contains(d.errLine.Text, "full path") || !d.m.visible {
		t.Fatalf("a relative folder: %q", d.errLine.Text)
	}
	d.dir.SetText(dest)
	d.exist.SetSelected(existingKeepBoth)
	d.submit()
	q.until(t, "the restore to finish", func() bool { return c.running == nil })
	if got, _ := os.ReadFile(filepath.Join(dest, "C", "docs2", "hello (1).txt")); string(got) != "Hello from set 2\n" {
		t.Errorf("kept beside: %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "C", "docs2", "hello.txt")); string(got) != "mine\n" {
		t.Errorf("the file already there became %q", got)
	}
	if _, err := os.Stat(filepath.Join(dest, "C", "docs2", "big.bin")); !os.IsNotExist(err) {
		t.Errorf("big.bin was not ticked: %v", err)
	}
	if top := overlayTop(c); !hasText(top, "Restored 1 file, 17 bytes") {
		t.Errorf("Restore Status: %q", labelTexts(top))
	}
}
