package app_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// End-to-end tests of restores that span operations and tapes, service
// control, and restores that lose their console or their tape.

// waitFor polls until cond holds, failing after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A full set from tape A restored without Start Service stages it; the
// incremental from tape B, in a later operation, with Start Service, runs
// the chain's recovery and rolls forward to the live state. The same chain
// staged and then started with `exbackup service start` does too.
func TestRestoreChainAcrossTapesAndOperations(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	o.load("EXCH01", 200)
	o.ok("backup", "IS", `\\EXCH01`, "/tape:TapeA")
	o.load("EXCH01", 100)
	o.ok("backup", "IS", `\\EXCH01`, "/t", "incremental", "/tape:TapeB")
	o.load("EXCH01", 100)
	live := o.digest("EXCH01")

	for _, how := range []string{"start-with-last-set", "service-start"} {
		out := o.ok("restore", "--tape", "TapeA", "--set", "1")
		if !strings.Contains(out, "restore-pending") {
			t.Fatalf("%s: staging the full set says:\n%s", how, out)
		}
		org := o.ok("org")
		if !strings.Contains(org, "Information Store restore-pending") || !strings.Contains(org, "1 set staged") {
			t.Fatalf("%s: org after staging the full set:\n%s", how, org)
		}
		if d := o.digest("EXCH01"); part(d) != part(live) {
			t.Fatalf("%s: staging changed the live data", how)
		}
		if how == "start-with-last-set" {
			out = o.ok("restore", "--tape", "TapeB", "--set", "1", "--start")
		} else {
			o.ok("restore", "--tape", "TapeB", "--set", "1")
			if org := o.ok("org"); !strings.Contains(org, "2 sets staged") {
				t.Fatalf("org after staging the incremental:\n%s", org)
			}
			out = o.ok("service", "start", "IS", `\\EXCH01`)
		}
		if !strings.Contains(out, "replayed the restored logs through LSN") || !strings.Contains(out, "Rolled forward") {
			t.Fatalf("%s: recovery does not say what it did:\n%s", how, out)
		}
		if d := o.digest("EXCH01"); part(d) != part(live) {
			t.Fatalf("%s: the chain did not roll forward to the live state:\n%s\nwant %s", how, d, live)
		}
		if org := o.ok("org"); !strings.Contains(org, "Information Store running") {
			t.Fatalf("%s: org after recovery:\n%s", how, org)
		}
	}
	// Cancel drops a staged chain; the service starts on its data.
	o.ok("restore", "--tape", "TapeA", "--set", "1", "--erase")
	o.ok("restore", "--cancel", "IS", `\\EXCH01`)
	o.ok("service", "start", "IS", `\\EXCH01`)
	if d := o.digest("EXCH01"); part(d) != part(live) {
		t.Fatal("a cancelled restore changed the data")
	}
}

// A console killed in the middle of a restore: the server aborts the
// session, and the same restore run again at once succeeds, with no
// server restart.
func TestConsoleKilledDuringRestore(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	s := o.servers["EXCH01"]
	o.exs("load", "--data", s.data, "--mailboxes", "4", "--messages", "8000", "--size", "8192", "--senders", "16")
	o.ok("backup", "IS", `\\EXCH01`, "/tape:"+tapeName)
	want := o.digest("EXCH01")
	o.load("EXCH01", 50)

	cmd := exec.Command(bins.exbackup, "restore", "--tape", tapeName, "--set", "1", "--erase", "--start")
	cmd.Env = append(os.Environ(), "EXBACKUP_HOME="+o.home)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the database is arriving on the server.
	waitFor(t, "the restore to stream the database", func() bool {
		m, _ := filepath.Glob(filepath.Join(s.data, "mdbdata", "restore-*", "priv.edb.tmp"))
		if len(m) == 0 {
			return false
		}
		fi, err := os.Stat(m[0])
		return err == nil && fi.Size() > 4<<20
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	o.ok("restore", "--tape", tapeName, "--set", "1", "--erase", "--start")
	if d := o.digest("EXCH01"); part(d) != part(want) {
		t.Fatalf("restore after the killed console:\n%s\nwant %s", d, want)
	}
}

// A damaged tape's restore fails; the store runs again, its data unchanged.
func TestDamagedTapeRestoreLeavesTheStoreRunning(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	o.load("EXCH01", 100)
	o.ok("backup", "IS", `\\EXCH01`, "/tape:"+tapeName)
	o.load("EXCH01", 50)
	live := o.digest("EXCH01")
	path := filepath.Join(o.home, "tapes", tapeName+".bkf")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("loadgen@EXCH01"))
	if i < 0 {
		t.Fatal("no message data found on tape")
	}
	data[i] ^= 0x20
	os.WriteFile(path, data, 0o600)

	o.fails("edb", "restore", "--tape", tapeName, "--set", "1", "--erase", "--start")
	org := o.ok("org")
	if !strings.Contains(org, "Information Store running") {
		t.Fatalf("after the failed restore:\n%s", org)
	}
	if d := o.digest("EXCH01"); part(d) != part(live) {
		t.Fatal("the failed restore changed the data")
	}
}

// While a backup streams, its service refuses to stop, from this console
// or a restore from a second one; the backup completes.
func TestStopRefusedDuringBackup(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	s := o.servers["EXCH01"]
	o.exs("load", "--data", s.data, "--mailboxes", "4", "--messages", "12000", "--size", "8192", "--senders", "16")
	o.ok("backup", "IS", `\\EXCH01`, "/tape:Old")

	// A second console, with a home of its own.
	second := &org{t: t, home: filepath.Join(t.TempDir(), "second"), key: o.key, servers: o.servers}
	second.ok("connect", s.addr, "--key", o.key, "--fingerprint", s.fp)
	second.ok("catalog", "--tape", filepath.Join(o.home, "tapes", "Old.bkf"))

	cmd := exec.Command(bins.exbackup, "backup", "IS", `\\EXCH01`, "/tape:"+tapeName)
	cmd.Env = append(os.Environ(), "EXBACKUP_HOME="+o.home)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A Replace writes the new tape beside the old one until it is whole.
	tapePath := filepath.Join(o.home, "tapes", "."+tapeName+".bkf.new")
	waitFor(t, "the backup to stream", func() bool {
		fi, err := os.Stat(tapePath)
		return err == nil && fi.Size() > 4<<20
	})
	// Hold the console still, so that the backup is surely streaming.
	cmd.Process.Signal(syscall.SIGSTOP)
	second.fails("backup", "service", "stop", "IS", `\\EXCH01`)
	second.fails("backup", "restore", "--tape", "Old", "--set", "1", "--erase")
	cmd.Process.Signal(syscall.SIGCONT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the backup failed: %v\n%s", err, out.String())
	}
	o.ok("verify", "--tape", tapeName)
}

// A restore without Erase whose roll-forward cannot happen ends with a
// warning and exit status 3.
func TestRollForwardThatCannotHappenExitsWithWarning(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	o.load("EXCH01", 50)
	o.ok("backup", "IS", `\\EXCH01`, "/tape:"+tapeName)
	for i := 0; i < 2; i++ {
		o.load("EXCH01", 50)
		o.ok("backup", "IS", `\\EXCH01`, "/tape:Later")
	}
	out, err := o.run("restore", "--tape", tapeName, "--set", "1", "--start")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit status %v, want 3:\n%s", err, out)
	}
	if !strings.Contains(out, "warning:") || !strings.Contains(out, "Roll-forward") {
		t.Fatalf("no warning line:\n%s", out)
	}
}

// lineWatch collects a running command's output for a test to wait on.
type lineWatch struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lineWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// heldBackup starts a backup of the Information Store onto tape and holds
// its console still (SIGSTOP) once it streams; thaw lets it go on and
// waits for it to succeed.
func heldBackup(t *testing.T, o *org, tape string) (thaw func()) {
	t.Helper()
	cmd := exec.Command(bins.exbackup, "backup", "IS", `\\EXCH01`, "/tape:"+tape)
	cmd.Env = append(os.Environ(), "EXBACKUP_HOME="+o.home)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tapePath := filepath.Join(o.home, "tapes", "."+tape+".bkf.new")
	waitFor(t, "the backup to stream", func() bool {
		fi, err := os.Stat(tapePath)
		return err == nil && fi.Size() > 4<<20
	})
	cmd.Process.Signal(syscall.SIGSTOP)
	return func() {
		cmd.Process.Signal(syscall.SIGCONT)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("the backup failed: %v\n%s", err, out.String())
		}
	}
}

// startWaiting runs exbackup in the background until it prints the line
// that says it waits for the backup; the returned func waits for its end.
func startWaiting(t *testing.T, o *org, args ...string) (wait func() (string, error)) {
	t.Helper()
	cmd := exec.Command(bins.exbackup, args...)
	cmd.Env = append(os.Environ(), "EXBACKUP_HOME="+o.home)
	out := &lineWatch{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitFor(t, "exbackup "+strings.Join(args, " ")+" to say it waits", func() bool {
		select {
		case err := <-done:
			t.Fatalf("exbackup %s ended while the backup was held: %v\n%s", strings.Join(args, " "), err, out.String())
		default:
		}
		return strings.Contains(out.String(), "Waiting for the backup of the Information Store on EXCH01 to finish…")
	})
	return func() (string, error) {
		err := <-done
		return out.String(), err
	}
}

// A stop refused for a streaming backup names --wait; with it, the stop
// waits (saying so in one line) and happens once the backup has ended. A
// restore with --wait does the same before it stages its set.
func TestStopAndRestoreWaitForTheBackup(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	s := o.servers["EXCH01"]
	o.exs("load", "--data", s.data, "--mailboxes", "4", "--messages", "12000", "--size", "8192", "--senders", "16")
	o.ok("backup", "IS", `\\EXCH01`, "/tape:Old")
	old := o.digest("EXCH01")
	// Consoles with homes of their own: a running command holds its
	// home's catalog.
	console := func(name string) *org {
		c := &org{t: t, home: filepath.Join(t.TempDir(), name), key: o.key, servers: o.servers}
		c.ok("connect", s.addr, "--key", o.key, "--fingerprint", s.fp)
		return c
	}
	second, third := console("second"), console("third")
	second.ok("catalog", "--tape", filepath.Join(o.home, "tapes", "Old.bkf"))

	thaw := heldBackup(t, o, tapeName)
	second.fails("--wait", "service", "stop", "IS", `\\EXCH01`)
	wait := startWaiting(t, second, "service", "stop", "IS", `\\EXCH01`, "--wait")
	if org := third.ok("org"); !strings.Contains(org, "Information Store running") {
		t.Fatalf("the service stopped under the backup:\n%s", org)
	}
	thaw()
	out, err := wait()
	if err != nil || !strings.Contains(out, "The Microsoft Information Store on EXCH01 is stopped.") {
		t.Fatalf("service stop --wait: %v\n%s", err, out)
	}
	if n := strings.Count(out, "Waiting for the backup"); n != 1 {
		t.Fatalf("%d waiting lines, want one:\n%s", n, out)
	}
	if org := o.ok("org"); !strings.Contains(org, "Information Store stopped") {
		t.Fatalf("after service stop --wait:\n%s", org)
	}
	o.ok("verify", "--tape", tapeName)

	o.ok("service", "start", "IS", `\\EXCH01`)
	o.load("EXCH01", 20)
	thaw = heldBackup(t, o, "Third")
	second.fails("--wait", "restore", "--tape", "Old", "--set", "1", "--erase", "--start")
	wait = startWaiting(t, second, "restore", "--tape", "Old", "--set", "1", "--erase", "--start", "--wait")
	thaw()
	if out, err := wait(); err != nil || !strings.Contains(out, "restored 1 set") {
		t.Fatalf("restore --wait: %v\n%s", err, out)
	}
	if d := o.digest("EXCH01"); part(d) != part(old) {
		t.Fatalf("restore --wait brought back:\n%s\nwant %s", d, old)
	}
	o.ok("verify", "--tape", "Third")
}
