// Package app wires the console: it finds the home folder, opens the engine,
// starts the built-in demo organization when no other is configured, and
// hands over to the GUI (no arguments) or to a command of the ntbackup-style
// command line.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"exbackup/engine"
)

// Version is set at build time with -ldflags "-X exbackup/app.Version=…".
var Version = "0.1.0-dev"

// Home is $EXBACKUP_HOME, or exbackup in the user's data folder.
func Home() string {
	if h := os.Getenv("EXBACKUP_HOME"); h != "" {
		return h
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "exbackup")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "exbackup")
	}
	return filepath.Join(os.TempDir(), "exbackup")
}

// Main runs the console with the process arguments and returns the exit
// code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version") {
		fmt.Fprintf(stdout, "exbackup %s\n", Version)
		return 0
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, usage())
		return 0
	}
	eng, err := engine.Open(Home())
	if err != nil {
		fmt.Fprintf(stderr, "exbackup: %v\n", err)
		return 1
	}
	defer eng.Close()
	eng.SetRecoverer(offlineRecoverer{})
	if n := eng.CatalogNotice(); n != "" {
		fmt.Fprintf(stderr, "exbackup: %s\n", n)
	}
	if len(args) == 0 {
		if err := runGUI(eng); err != nil {
			fmt.Fprintf(stderr, "exbackup: %v\n", err)
			return 1
		}
		return 0
	}
	c := &cli{eng: eng, stdin: stdin, stdout: stdout, stderr: stderr}
	// The GUI toolkit locks the main goroutine to the main thread when the
	// program starts. A command runs on a goroutine of its own instead:
	// each time a locked goroutine waits (for the network, the disk, the
	// next block), the runtime must park its thread and wake it again,
	// and a backup waits many thousands of times.
	done := make(chan error, 1)
	go func() { done <- c.run(context.Background(), args) }()
	if err := <-done; err != nil {
		var w *warnedError
		if errors.As(err, &w) {
			for _, m := range w.warnings {
				fmt.Fprintf(stderr, "exbackup %s: warning: %s\n", args[0], oneLine(errors.New(m)))
			}
			return exitWarning
		}
		fmt.Fprintf(stderr, "exbackup %s: %v\n", args[0], oneLine(err))
		return 1
	}
	return 0
}

// ensureOrg starts the demo organization when the console is not
// connected to a real one.
func ensureOrg(ctx context.Context, eng *engine.Engine, traffic bool) (*demo, error) {
	st := eng.Settings()
	if st.Connected() && !st.Demo {
		return nil, nil
	}
	return startDemo(ctx, eng, traffic)
}
