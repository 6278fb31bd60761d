package app_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The real console, under Xvfb, on a home connected to a real server with
// a backup of its Information Store: the screenshot tour highlights the
// set in the Tapes window, opens it (read from tape and recovered by the
// console, the server untouched), expands a mailbox down to a message,
// searches by its sender and opens a message in the viewer, and says
// beside each picture what it shows.
func TestGUIItemsUnderXvfb(t *testing.T) {
	console := tourConsole(t)
	o := newOrg(t, "EXCH01/Redmond")
	o.load("EXCH01", 60)
	o.ok("backup", "IS", `\\EXCH01`, "/tape:"+tapeName)
	before := o.digest("EXCH01")

	out, _, shots := runTour(t, console, append(os.Environ(), "EXBACKUP_HOME="+o.home, "XDG_CONFIG_HOME="+t.TempDir()))
	notes := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if name, note, ok := strings.Cut(line, ".png: "); ok {
			notes[regexp.MustCompile(`^\d+-`).ReplaceAllString(name, "")] = note
		}
	}
	for _, name := range []string{"tapes-items", "tapes-items-search", "message-viewer", "restore-information-items", "export-items"} {
		matches, _ := filepath.Glob(filepath.Join(shots, "*-"+name+".png"))
		if len(matches) != 1 {
			t.Errorf("no picture %s", name)
		}
	}
	items := notes["tapes-items"]
	if !strings.Contains(items, "5 mailboxes") || !strings.Contains(items, "Highlighted: ") || strings.Contains(items, "error:") {
		t.Errorf("the store set in the Tapes window: %q\n%s", items, out)
	}
	if s := notes["tapes-items-search"]; !regexp.MustCompile(`\d+ messages? match`).MatchString(s) {
		t.Errorf("the search: %q", s)
	}
	if v := notes["message-viewer"]; !strings.HasPrefix(v, "From: ") || strings.Contains(v, "Subject:  (") || strings.Contains(v, "(0 bytes of text") {
		t.Errorf("the viewer: %q", v)
	}
	// Browsing read the tape, not the server.
	if after := o.digest("EXCH01"); after != before {
		t.Errorf("the server changed while its set was browsed:\n%s\n%s", before, after)
	}
}
