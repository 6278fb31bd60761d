package app_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runBackground starts exbackup in home and returns it with its output.
func (o *org) runBackground(home string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	o.t.Helper()
	cmd := exec.Command(bins.exbackup, args...)
	cmd.Env = append(os.Environ(), "EXBACKUP_HOME="+home)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		o.t.Fatal(err)
	}
	o.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &out
}

// waitGrows waits until the file at path holds more than n bytes.
func waitGrows(t *testing.T, path string, n int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() > n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not grow past %d bytes", path, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A Replace that fails — a mistyped server, a server killed mid-backup —
// leaves the tape it was to replace byte for byte, listed and restorable.
func TestFailedReplaceKeepsTheTape(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	s := o.servers["EXCH01"]
	o.load("EXCH01", 100)
	o.ok("backup", "IS", `\\EXCH01`, "/tape:"+tapeName, "/d", "kept")
	want := o.digest("EXCH01")
	path := filepath.Join(o.home, "tapes", tapeName+".bkf")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	listed := o.ok("tapes")
	same := func(when string) {
		t.Helper()
		if after, err := os.ReadFile(path); err != nil || !bytes.Equal(before, after) {
			t.Fatalf("%s: the tape changed (%d → %d bytes, %v)", when, len(before), len(after), err)
		}
		if _, err := os.Stat(filepath.Join(o.home, "tapes", "."+tapeName+".bkf.new")); !os.IsNotExist(err) {
			t.Fatalf("%s: the unfinished new tape is left: %v", when, err)
		}
		if got := o.ok("tapes"); got != listed {
			t.Fatalf("%s: tapes lists\n%s\nwas\n%s", when, got, listed)
		}
	}

	o.fails("EXCH09", "backup", "IS", `\\EXCH09`, "/tape:"+tapeName)
	same("after a mistyped server")

	o.exs("load", "--data", s.data, "--mailboxes", "4", "--messages", "8000", "--size", "8192", "--senders", "16")
	cmd, out := o.runBackground(o.home, "backup", "DS", `\\EXCH01`, "IS", `\\EXCH01`, "/tape:"+tapeName)
	waitGrows(t, filepath.Join(o.home, "tapes", "."+tapeName+".bkf.new"), 4<<20)
	s.kill9()
	if err := cmd.Wait(); err == nil {
		t.Fatalf("the backup succeeded with its server killed:\n%s", out)
	}
	if !strings.Contains(out.String(), `tape "`+tapeName+`" was left as it was`) {
		t.Fatalf("the failure does not say the tape was kept:\n%s", out)
	}
	same("after the server was killed")

	s.start(t)
	o.ok("connect", s.addr, "--key", o.key, "--fingerprint", s.fp)
	o.ok("verify", "--tape", tapeName)
	o.ok("restore", "--tape", tapeName, "--set", "1", "--erase", "--start")
	if d := o.digest("EXCH01"); part(d) != part(want) {
		t.Fatalf("restore of the kept set:\n%s\nwant %s", d, want)
	}
}

// Two consoles whose tape folder is one (a shared folder) never write one
// tape at once: the second is refused, naming the first, and the tape
// holds the first one's sets alone.
func TestOneWriterPerTapeAcrossProcesses(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	s := o.servers["EXCH01"]
	o.exs("load", "--data", s.data, "--mailboxes", "4", "--messages", "4000", "--size", "8192", "--senders", "16")
	home2 := filepath.Join(t.TempDir(), "home2")
	os.MkdirAll(home2, 0o700)
	if err := os.Symlink(filepath.Join(o.home, "tapes"), filepath.Join(home2, "tapes")); err != nil {
		t.Fatal(err)
	}
	second := &org{t: t, home: home2, key: o.key, servers: o.servers}
	second.ok("connect", s.addr, "--key", o.key, "--fingerprint", s.fp)

	first, out := o.runBackground(o.home, "backup", "IS", `\\EXCH01`, "/tape:Same", "/d", "first")
	waitGrows(t, filepath.Join(o.home, "tapes", ".Same.bkf.new"), 1<<20)
	// Hold the first backup mid-set: its server stops answering.
	s.cmd.Process.Signal(syscall.SIGSTOP)
	host, _ := os.Hostname()
	want := `tape "Same" is being written by another backup (pid ` + strconv.Itoa(first.Process.Pid) + " on " + host + ")"
	for _, args := range [][]string{
		{"backup", "IS", `\\EXCH01`, "/tape:Same", "/d", "second"},
		{"backup", "IS", `\\EXCH01`, "/a", "/tape:Same", "/d", "second"},
	} {
		second.fails(want, args...)
	}
	// A second console on the same home is kept out by the catalog's own
	// lock, before it reaches the tape.
	if out, err := o.run("backup", "IS", `\\EXCH01`, "/tape:Same", "/d", "second"); err == nil || !strings.Contains(out, "another exbackup has it open") {
		t.Fatalf("a second console on the same home: %v\n%s", err, out)
	}
	s.cmd.Process.Signal(syscall.SIGCONT)
	if err := first.Wait(); err != nil {
		t.Fatalf("the first backup: %v\n%s", err, out)
	}
	tapes := o.ok("tapes")
	if !strings.Contains(tapes, `"first"`) || strings.Contains(tapes, `"second"`) || strings.Count(tapes, "\n  set ") != 1 {
		t.Fatalf("the tape lists:\n%s", tapes)
	}
	// Once the first is done the second may write.
	second.ok("backup", "IS", `\\EXCH01`, "/a", "/tape:Same", "/d", "second")
	second.ok("verify", "--tape", "Same")
}
