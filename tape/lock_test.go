package tape

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// A Replace writes beside the old tape: until Commit the old file is
// untouched and the library lists it alone; Discard leaves it as it was.
func TestStageKeepsOldTapeUntilCommit(t *testing.T) {
	l := newLibrary(t)
	old, err := l.Create("Weekly", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeSet(t, old, SetOptions{Description: "old"}, "IS", storeFiles())
	path := l.Path("Weekly")
	before, _ := os.ReadFile(path)

	st, err := l.Stage("Weekly", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeSet(t, st, SetOptions{Description: "new"}, "IS", storeFiles())
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("staging a new tape changed the old one")
	}
	list, err := l.List()
	if err != nil || len(list) != 1 || list[0].Path != path {
		t.Fatalf("library lists %+v, %v: want the old tape alone", list, err)
	}
	if err := st.Discard(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(StagePath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the discarded new tape is still there: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("discarding the new tape changed the old one")
	}

	st, err = l.Stage("Weekly", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeSet(t, st, SetOptions{Description: "new 1"}, "DS", storeFiles())
	writeSet(t, st, SetOptions{Description: "new 2"}, "IS", storeFiles())
	if err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	if st.Path() != path {
		t.Fatalf("committed tape at %s, want %s", st.Path(), path)
	}
	got, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := got.Sets()
	if err != nil || len(sets) != 2 || sets[0].Description != "new 1" || sets[1].Description != "new 2" {
		t.Fatalf("after commit the tape holds %+v, %v", sets, err)
	}
	if _, err := os.Stat(StagePath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the staged file is left after commit: %v", err)
	}
}

// A staged tape is guarded as the tape it replaces.
func TestStagedTapeSharesTheTapesGuard(t *testing.T) {
	l := newLibrary(t)
	old, _ := l.Create("T", CreateOptions{})
	st, err := l.Stage("T", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := st.AppendSet(SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := old.AppendSet(SetOptions{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("appending to the old tape while its replacement is written: %v", err)
	}
	if err := l.Erase("T"); !errors.Is(err, ErrBusy) {
		t.Fatalf("erasing while its replacement is written: %v", err)
	}
}

const lockHelperEnv = "EXBACKUP_TAPE_LOCK_HELPER"

// TestLockHelper is run as another process by TestLockAcrossProcesses: it
// locks the tape, says so, and holds it until killed.
func TestLockHelper(t *testing.T) {
	path := os.Getenv(lockHelperEnv)
	if path == "" {
		return
	}
	if _, err := Lock(path, "Weekly", "backup"); err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("locked\n")
	select {}
}

// Another process's lock refuses this one's backup, erase, replace and
// set writers, naming the holder; its death frees the tape.
func TestLockAcrossProcesses(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("flock is unix only")
	}
	l := newLibrary(t)
	tp, err := l.Create("Weekly", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelper$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+l.Path("Weekly"))
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "locked" {
		t.Fatalf("helper: %q", sc.Text())
	}

	host, _ := os.Hostname()
	_, err = l.Lock("Weekly", "backup")
	var be *BusyError
	if !errors.As(err, &be) || be.PID != cmd.Process.Pid || be.Host != host || !errors.Is(err, ErrBusy) {
		t.Fatalf("lock held by pid %d: %v", cmd.Process.Pid, err)
	}
	want := `tape "Weekly" is being written by another backup (pid ` + strconv.Itoa(cmd.Process.Pid) + " on " + host + ")"
	if err.Error() != want {
		t.Fatalf("refusal %q, want %q", err, want)
	}
	if _, err := tp.AppendSet(SetOptions{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("set writer beside another process: %v", err)
	}
	if _, err := l.Stage("Weekly", CreateOptions{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("replace beside another process: %v", err)
	}
	if err := l.Erase("Weekly"); !errors.Is(err, ErrBusy) {
		t.Fatalf("erase beside another process: %v", err)
	}
	if _, err := os.Stat(l.Path("Weekly")); err != nil {
		t.Fatalf("the tape is gone: %v", err)
	}

	cmd.Process.Kill()
	cmd.Wait()
	unlock, err := l.Lock("Weekly", "erase")
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	// This process's own job shares its lock with the set writers under it.
	w, err := tp.AppendSet(SetOptions{})
	if err != nil {
		t.Fatalf("set writer under its own job's lock: %v", err)
	}
	w.Abort()
	unlock()
	if data, _ := os.ReadFile(LockFile(l.Path("Weekly"))); filepath.Base(LockFile(l.Path("Weekly"))) != ".Weekly.bkf.lock" || !bytes.Contains(data, []byte(" erase")) {
		t.Fatalf("lock file %s holds %q", LockFile(l.Path("Weekly")), data)
	}
}

// A new tape left staged by a Replace whose process died is removed by the
// next holder of the tape's lock; the tape itself is kept.
func TestStaleStagedTapeRemoved(t *testing.T) {
	l := newLibrary(t)
	old, _ := l.Create("T", CreateOptions{})
	writeSet(t, old, SetOptions{}, "IS", storeFiles())
	before, _ := os.ReadFile(l.Path("T"))
	if err := os.WriteFile(StagePath(l.Path("T")), []byte("half a tape"), 0o600); err != nil {
		t.Fatal(err)
	}
	unlock, err := l.Lock("T", "backup")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if _, err := os.Stat(StagePath(l.Path("T"))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the stale staged tape is still there: %v", err)
	}
	if after, _ := os.ReadFile(l.Path("T")); !bytes.Equal(before, after) {
		t.Fatal("the tape changed")
	}
}
