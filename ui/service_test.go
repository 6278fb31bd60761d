package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
	"exbackup/exchange"
)

// overlayText is the text of the labels in the dialog on top.
func overlayText(c *Console) string {
	top := c.win.Canvas().Overlays().Top()
	if top == nil {
		return ""
	}
	var b strings.Builder
	for _, l := range find[*widget.Label](top) {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

func (f *fakeEngine) fakeServices() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.services...)
}

// Operations > Start Service starts the selected store and says what its
// recovery did; a warning shows as one.
func TestStartServiceShowsTheRecovery(t *testing.T) {
	eng := newFakeEngine()
	eng.serviceRes = exchange.RestoreResult{Recovered: true, Messages: []string{"Hard recovery replayed the restored logs through LSN 7."}}
	c, q := newTestConsole(t, eng)
	c.StartService()
	if !strings.Contains(overlayText(c), "Select a Directory or Information Store") {
		t.Fatalf("without a selection: %q", overlayText(c))
	}
	c.keys[len(c.keys)-1].ok()
	c.exch.tree.Select(uidStore("EXCH01", exchange.StoreIS))
	c.StartService()
	q.until(t, "the start", func() bool { return len(eng.fakeServices()) == 1 && len(c.keys) > 0 })
	if got := eng.fakeServices()[0]; got != "start IS EXCH01" {
		t.Fatalf("engine got %q", got)
	}
	if txt := overlayText(c); !strings.Contains(txt, "through LSN 7") || !strings.Contains(txt, "recovered and started") {
		t.Fatalf("result dialog: %q", txt)
	}
	c.keys[len(c.keys)-1].ok()

	eng.serviceRes = exchange.RestoreResult{Recovered: true, Warnings: []string{"Roll-forward stopped: a generation is missing."}}
	c.StartService()
	q.until(t, "the second start", func() bool { return len(eng.fakeServices()) == 2 && len(c.keys) > 0 })
	if txt := overlayText(c); !strings.Contains(txt, "Completed with a warning: Roll-forward stopped") {
		t.Fatalf("warning dialog: %q", txt)
	}
}

// Stop Service under a running backup: the server's refusal is shown.
func TestStopServiceRefusedDuringBackup(t *testing.T) {
	eng := newFakeEngine()
	eng.serviceErr = exchange.Errorf(exchange.CodeConflict, "the Microsoft Information Store on EXCH01 is not stopped: a Normal backup of it is streaming")
	c, q := newTestConsole(t, eng)
	c.exch.tree.Select(uidStore("EXCH01", exchange.StoreIS))
	c.StopService()
	c.keys[len(c.keys)-1].ok() // confirm
	q.until(t, "the stop", func() bool { return len(eng.fakeServices()) == 1 && len(c.keys) > 0 })
	if txt := overlayText(c); !strings.Contains(txt, "Normal backup of it is streaming") || !strings.Contains(txt, "Try again when the backup has ended") {
		t.Fatalf("refusal: %q", txt)
	}
}

// A restore whose roll-forward could not happen ends with a warning, not
// "Operation completed".
func TestRestoreWarningIsNotOperationCompleted(t *testing.T) {
	eng := newFakeEngine()
	eng.restoreRes = engine.RestoreResult{Warnings: []string{"Roll-forward stopped: changes made after the backup are not in the store."}}
	c, q := newTestConsole(t, eng)
	c.startRestore(engine.RestoreRequest{Sets: []engine.RestoreSet{{Tape: "Tape created on 11/24/2026", Set: 2}}})
	sd := c.running
	q.until(t, "the restore", func() bool { return c.running == nil })
	if !strings.HasPrefix(sd.result.Text, "Completed with a warning: Roll-forward stopped") || sd.result.Importance != widget.WarningImportance {
		t.Fatalf("result %q (%v)", sd.result.Text, sd.result.Importance)
	}
}
