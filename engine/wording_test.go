package engine

import (
	"testing"
	"time"

	"exbackup/exchange"
)

// A job's summary counts in words ("1 set", not "1 sets"), gives a short
// time in a precision that shows it, names a set the same way in backup and
// restore status, writes a line for each restore option, and shows no
// current file once it is done.
func TestJobWording(t *testing.T) {
	f := newFakeEnv(t, "EX1")
	p := NewProgress("Backup")
	var titles []string
	p.OnLog = func(string) { titles = append(titles, p.Snapshot().Set) }
	if _, err := f.e.Backup(bg, BackupRequest{Stores: []StoreRef{ref("EX1", exchange.StoreIS)}, TapeName: "Weekly"}, p); err != nil {
		t.Fatal(err)
	}
	if !hasLine(p.Lines(), "Backed up 1 set, ") || hasLine(p.Lines(), " 0.0 seconds") {
		t.Errorf("backup log: %q", p.Lines())
	}
	if !hasLine(titles, "Set 1 on tape Weekly: Microsoft Information Store on EX1 (1 of 1)") {
		t.Errorf("backup status names the set as %q", titles)
	}
	if s := p.Snapshot(); s.Current != "" {
		t.Errorf("backup done, current file %q", s.Current)
	}
	p = NewProgress("Restore")
	titles = nil
	p.OnLog = func(string) { titles = append(titles, p.Snapshot().Set) }
	req := RestoreRequest{Sets: []RestoreSet{{Tape: "Weekly", Set: 1, Private: true, Public: true, Start: true, Verify: true}}}
	if _, err := f.e.Restore(bg, req, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Restored 1 set, ", "Verify After Restore: yes", "Start Service After Restore: yes"} {
		if !hasLine(p.Lines(), want) {
			t.Errorf("restore log lacks %q: %q", want, p.Lines())
		}
	}
	if !hasLine(titles, "Set 1 on tape Weekly: Microsoft Information Store to EX1 (1 of 1)") {
		t.Errorf("restore status names the set as %q", titles)
	}
	if s := p.Snapshot(); s.Current != "" {
		t.Errorf("restore done, current file %q", s.Current)
	}
}

func TestSecondsAndPlural(t *testing.T) {
	for d, want := range map[time.Duration]string{
		12300 * time.Millisecond: "12.3", time.Second: "1.0", 40 * time.Millisecond: "0.04",
		999 * time.Millisecond: "1.0", 3 * time.Millisecond: "less than 0.01", 0: "less than 0.01",
	} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%v) = %q, want %q", d, got, want)
		}
	}
	if got := Plural(1, "set", "sets") + "; " + Plural(2, "set", "sets") + "; " + Plural(1024, "file", "files"); got != "1 set; 2 sets; 1,024 files" {
		t.Errorf("Plural: %q", got)
	}
}
