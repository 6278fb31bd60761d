package ui

import (
	"context"
	"reflect"
	"testing"
	"time"

	"exbackup/engine"
)

func TestStatusDialogCounters(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	sd := c.newStatusDialog("Backup Status")
	sd.m.show()
	if !sd.spinner.Visible() || sd.bar.Visible() {
		t.Error("an unknown total shows the moving bar")
	}
	sd.apply(engine.Snapshot{Tape: "T", Set: `Set 1 of 2: DS \\EXCH01`, Current: "dir.edb", Dirs: 2, Files: 1234, Bytes: 3 << 20, TotalBytes: 12 << 20, Corrupt: 1, Skipped: 2, Elapsed: 83 * time.Second})
	got := []string{sd.tape.Text, sd.set.Text, sd.current.Text, sd.dirs.Text, sd.files.Text, sd.bytes.Text, sd.elapsed.Text, sd.rate.Text, sd.corrupt.Text, sd.skipped.Text}
	want := []string{"T", `Set 1 of 2: DS \\EXCH01`, "dir.edb", "2", "1,234", "3,145,728 (3.00 MB)", "0:01:23", "2.2 MB/min", "1", "2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("counters = %q\nwant %q", got, want)
	}
	if sd.bar.Value != 0.25 || !sd.bar.Visible() || sd.spinner.Visible() {
		t.Errorf("bar = %v", sd.bar.Value)
	}
	if sd.corrupt.Importance != 3 { // widget.DangerImportance
		t.Errorf("corrupt files are shown as an error")
	}
	lines := make([]string, maxSummaryLines+10)
	for i := range lines {
		lines[i] = "line"
	}
	sd.appendLines(lines)
	if len(sd.lines) != maxSummaryLines {
		t.Errorf("summary keeps %d lines", len(sd.lines))
	}
}

// A job of several engine calls adds their counters up.
func TestJobProgressAccumulates(t *testing.T) {
	j := &job{ctx: context.Background(), start: time.Now()}
	p1 := j.progress("Verify")
	p1.OnLog("a")
	p2 := j.progress("Verify")
	p2.OnLog("b")
	s, lines := j.snapshot(j.start.Add(3 * time.Second))
	if s.Elapsed != 3*time.Second || !reflect.DeepEqual(lines, []string{"a", "b"}) || s.Operation != "Verify" {
		t.Errorf("snapshot %+v lines %q", s, lines)
	}
	if _, again := j.snapshot(time.Now()); len(again) != 0 {
		t.Error("lines are handed over once")
	}
}
