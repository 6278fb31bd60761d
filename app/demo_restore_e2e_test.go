package app_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// On the demo organization, which each command of the console starts anew,
// the Exchange 5.5 procedure works as on servers that keep running: the
// full set restored without Start Service stays staged across commands
// (the tree says restore-pending), and the incremental from another tape,
// in a later command, with Start Service, recovers the chain.
func TestDemoRestoreChainAcrossCommands(t *testing.T) {
	env := append(os.Environ(), "EXBACKUP_HOME="+t.TempDir())
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bins.exbackup, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("exbackup %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("backup", "IS", `\\EXCH01`, "/t", "normal", "/tape:A")
	run("backup", "IS", `\\EXCH01`, "/t", "incremental", "/tape:B")
	run("service", "stop", "IS", `\\EXCH01`)
	if out := run("restore", "--tape", "A", "--set", "1"); !strings.Contains(out, "restore-pending") {
		t.Errorf("the full set without Start Service:\n%s", out)
	}
	if org := run("org"); !strings.Contains(org, "EXCH01     Directory running, Information Store restore-pending") {
		t.Fatalf("after the full set, in the next command:\n%s", org)
	}
	if out := run("restore", "--tape", "B", "--set", "1", "--start"); !strings.Contains(out, "Hard recovery replayed") {
		t.Errorf("the incremental with Start Service:\n%s", out)
	}
	if org := run("org"); !strings.Contains(org, "EXCH01     Directory running, Information Store running") {
		t.Fatalf("after the chain's recovery:\n%s", org)
	}
}
