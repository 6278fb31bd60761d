package ui

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A run loop that does not return once the app was told to quit ends the
// process with the status it was told; one that returns ends nothing.
func TestExitIfRunHangs(t *testing.T) {
	if mode := os.Getenv("EXBACKUP_TEST_HANG"); mode != "" {
		taken := make(chan error, 1)
		if mode == "failed" {
			taken <- errors.New("a picture failed")
		} else {
			taken <- nil
		}
		exitIfRunHangs(taken, make(chan struct{}), 10*time.Millisecond, "the pictures were taken")
		os.Exit(3) // not reached
	}
	for mode, want := range map[string]int{"taken": 0, "failed": 1} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestExitIfRunHangs$")
		cmd.Env = append(os.Environ(), "EXBACKUP_TEST_HANG="+mode)
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != want || !strings.Contains(string(out), "did not shut down") {
			t.Errorf("%s: exit status %d, want %d; output:\n%s", mode, code, want, out)
		}
	}
	returned := make(chan struct{})
	close(returned)
	done := make(chan struct{})
	go func() { exitIfRunHangs(make(chan error), returned, time.Millisecond, "the window closed"); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("exitIfRunHangs did not return once the loop had")
	}
}

// Closing the console's window tells ShowAndRun's guard that the app
// should now end.
func TestClosingTheWindowArmsTheQuitGuard(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	c.quit = make(chan error, 1) // as ShowAndRun makes it
	c.requestClose()
	select {
	case err := <-c.quit:
		if err != nil {
			t.Errorf("the guard was told %v", err)
		}
	default:
		t.Fatal("closing the window did not tell the quit guard")
	}
}
