package ui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/tape"
	"exbackup/tape/mtf/mtftest"
)

// familyFilesEngine adds the real engine's family-aware browse to the
// file-set fake.
type familyFilesEngine struct{ filesEngine }

func (f familyFilesEngine) BrowseSetContext(ctx context.Context, nameOrPath string, set int, members ...string) (*tape.Tree, error) {
	return f.real.BrowseSetContext(ctx, nameOrPath, set, members...)
}

// writeMediaFamily writes a media family of two members, the first medium
// ending inside big.bin.
func writeMediaFamily(t *testing.T) (first, second string, big []byte) {
	t.Helper()
	big = make([]byte, 20000)
	for i := range big {
		big[i] = byte(i*31 + i/7)
	}
	first, second = mtftest.WriteFamily(t, big, time.Date(2003, 3, 4, 5, 6, 7, 0, time.UTC))
	return first, second, big
}

const familyPrompt = `Insert the next tape: member 2 of media family 00000FA1 (set 1 of tape "Family 1"). Choose its .bkf file…`

// memberDialogUp waits for Insert Next Tape and returns its path entry.
func memberDialogUp(t *testing.T, c *Console, q *uiQueue) *dlgEntry {
	t.Helper()
	q.until(t, "Insert Next Tape", func() bool { return hasText(overlayTop(c), familyPrompt) })
	entries := find[*dlgEntry](overlayTop(c))
	if len(entries) != 1 {
		t.Fatalf("Insert Next Tape has %d entries", len(entries))
	}
	return entries[0]
}

func tapButton(t *testing.T, o fyne.CanvasObject, label string) {
	t.Helper()
	for _, b := range find[*dlgButton](o) {
		if b.Text == label {
			test.Tap(b)
			return
		}
	}
	t.Fatalf("no %q button", label)
}

// Restoring a set that goes on on another member asks for it: a file of
// another member is refused by name and asked again, the right one
// finishes the set byte for byte.
func TestInsertNextTapeDuringRestore(t *testing.T) {
	c, q := newFilesConsole(t)
	first, second, big := writeMediaFamily(t)
	dest := t.TempDir()
	c.startExtract("Family 1", engine.ExtractRequest{Tape: first, Set: 1, Dir: dest})

	e := memberDialogUp(t, c, q)
	if sz := overlayTop(c).MinSize(); sz.Width > 800 || sz.Height > 600 {
		t.Errorf("Insert Next Tape needs %v: more than an 800×600 screen", sz)
	}
	e.SetText("relative.bkf")
	tapButton(t, overlayTop(c), "OK")
	if !hasText(overlayTop(c), "give its full path") {
		t.Fatalf("a relative path: %q", labelTexts(overlayTop(c)))
	}
	e.SetText(first)
	tapButton(t, overlayTop(c), "OK")
	q.until(t, "the wrong member refused", func() bool {
		return hasText(overlayTop(c), familyPrompt) && hasText(overlayTop(c), "is member 1 of media family 00000FA1, not member 2")
	})
	memberDialogUp(t, c, q).SetText(second)
	tapButton(t, overlayTop(c), "OK")
	q.until(t, "the restore to finish", func() bool { return c.running == nil })
	if got, _ := os.ReadFile(filepath.Join(dest, "E", "Big", "big.bin")); !bytes.Equal(got, big) {
		t.Errorf("big.bin across the members: %d bytes, want %d", len(got), len(big))
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "E", "Big", "tail.txt")); string(got) != "after the split\n" {
		t.Errorf("tail.txt = %q", got)
	}
	if top := overlayTop(c); !hasText(top, "Restored 3 files") {
		t.Errorf("Restore Status: %q", labelTexts(top))
	}
}

// Cancel stops the restore with the member named, and nothing is written.
func TestInsertNextTapeCancel(t *testing.T) {
	c, q := newFilesConsole(t)
	first, _, _ := writeMediaFamily(t)
	dest := t.TempDir()
	c.startExtract("Family 1", engine.ExtractRequest{Tape: first, Set: 1, Dir: dest})
	memberDialogUp(t, c, q)
	tapButton(t, overlayTop(c), "Cancel")
	q.until(t, "the restore to stop", func() bool { return c.running == nil })
	top := overlayTop(c)
	if !hasText(top, "needs member 2 of media family 00000FA1") {
		t.Errorf("Restore Status after Cancel: %q", labelTexts(top))
	}
	if left, _ := os.ReadDir(dest); len(left) != 0 {
		t.Errorf("a cancelled restore left %d entries in the folder", len(left))
	}
}

// Highlighting a set that goes on on another member asks for it too; the
// tree then holds the files of both.
func TestInsertNextTapeWhileBrowsing(t *testing.T) {
	c, q := newFilesConsole(t)
	first, second, _ := writeMediaFamily(t)
	c.eng = familyFilesEngine{c.eng.(filesEngine)}
	ct := catalog.Tape{ID: 9, FamilyID: 0xFA1, Sequence: 1, Name: "Family 1", Location: first}
	cs := catalog.Set{ID: 900, TapeID: 9, Number: 1, State: catalog.StateComplete, Foreign: true}
	c.tapes.files.show(ct, cs)
	memberDialogUp(t, c, q).SetText(second)
	tapButton(t, overlayTop(c), "OK")
	p := c.tapes.files
	q.until(t, "the set's tree", func() bool { return p.ix != nil })
	if n := p.ix.nodes["/E:/Big/tail.txt"]; n == nil {
		t.Fatalf("the tree lacks the second member's file: %v", p.ix.kids["/E:/Big"])
	}
	if !p.ix.tree.Complete || strings.Contains(p.status.Text, "damaged") {
		t.Errorf("the tree across the members: complete %v, status %q", p.ix.tree.Complete, p.status.Text)
	}
}
