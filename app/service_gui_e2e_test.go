package app_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The real console, under Xvfb, on two real servers: EXCH01's Information
// Store restore-pending (a full set restored without Start Service),
// EXCH02's stopped. The screenshot tour selects each store in turn and
// says which of Operations > Start Service, Stop Service and Cancel
// Restore the window's menu enables, then photographs the menu open on a
// running store.
func TestGUIServiceMenuFollowsTheStoreUnderXvfb(t *testing.T) {
	console := tourConsole(t)
	o := newOrg(t, "EXCH01/Redmond", "EXCH02/Redmond")
	o.load("EXCH01", 20)
	o.ok("backup", "IS", `\\EXCH01`, "/tape:TapeA")
	o.ok("restore", "--tape", "TapeA", "--set", "1")
	o.ok("service", "stop", "IS", `\\EXCH02`)
	if org := o.ok("org"); !strings.Contains(org, "Information Store restore-pending") || !strings.Contains(org, "Information Store stopped") {
		t.Fatalf("the states to show:\n%s", org)
	}

	out, _, shots := runTour(t, console, append(os.Environ(), "EXBACKUP_HOME="+o.home, "XDG_CONFIG_HOME="+t.TempDir()))
	if m, _ := filepath.Glob(filepath.Join(shots, "*-operations-menu.png")); len(m) != 1 {
		t.Errorf("no picture of the Operations menu")
	}
	note := regexp.MustCompile(`(?m)^\d+-operations-menu\.png: (.*)$`).FindStringSubmatch(out)
	if note == nil {
		t.Fatalf("no note beside the Operations menu's picture:\n%s", out)
	}
	for _, want := range []string{
		"EXCH01 DS running: Stop Service",
		"EXCH01 IS restore-pending: Start Service, Cancel Restore",
		"EXCH02 DS running: Stop Service",
		"EXCH02 IS stopped: Start Service",
	} {
		if !strings.Contains(note[1]+";", want+";") {
			t.Errorf("the menu does not enable %q: %s", want, note[1])
		}
	}
}
