package tape

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// A tape is written by one process at a time. The lock is an exclusive
// flock on a lock file beside the tape (".NAME.bkf.lock"): the kernel
// drops it when its process dies, so a killed console never leaves a tape
// locked. The lock file holds the pid, host and job of its holder, for the
// refusal to name them; it is left in place, as removing it would race a
// process about to lock it.
//
// Within a process the flock is shared by reference count: the job that
// holds a tape (Library.Lock) and the set writers and erase under it take
// it again, and stay apart from each other through the writers map.

// LockFile is the lock file of the tape at path.
func LockFile(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".lock")
}

// BusyError is returned when another process holds a tape's lock.
type BusyError struct {
	Tape string // the tape name, or its file when the name is not known
	PID  int    // 0 when the holder has not yet written itself down
	Host string
	Job  string // "backup", "erase", "catalog"
}

func (e *BusyError) Error() string {
	what := "being written by another backup"
	switch e.Job {
	case "erase":
		what = "being erased by another console"
	case "catalog":
		what = "being cataloged by another console"
	}
	who := "another process"
	if e.PID != 0 {
		who = "pid " + strconv.Itoa(e.PID)
		if e.Host != "" {
			who += " on " + e.Host
		}
	}
	return fmt.Sprintf("tape %q is %s (%s)", e.Tape, what, who)
}

// Is makes a BusyError an ErrBusy.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

type procLock struct {
	f *os.File
	n int
}

var (
	procMu    sync.Mutex
	procLocks = map[string]*procLock{} // by absolute tape path
)

// acquire takes the cross-process lock of the tape at abs for job, or
// shares it when this process holds it already.
func acquire(abs, name, job string) (release func(), err error) {
	procMu.Lock()
	defer procMu.Unlock()
	if pl := procLocks[abs]; pl != nil {
		pl.n++
		return releaser(abs, pl), nil
	}
	lf := LockFile(abs)
	f, err := os.OpenFile(lf, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("tape %q: locking: %w", name, err)
	}
	ok, err := flockExclusive(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("tape %q: locking %s: %w", name, lf, err)
	}
	if !ok {
		be := &BusyError{Tape: name}
		if data, err := os.ReadFile(lf); err == nil {
			be.PID, be.Host, be.Job = parseHolder(string(data))
		}
		f.Close()
		return nil, be
	}
	host, _ := os.Hostname()
	// The holder line is a courtesy for the refusal; the flock is the lock.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(fmt.Sprintf("%d %s %s\n", os.Getpid(), host, job)), 0)
	}
	// A new tape is only staged under the lock: one found now was left by a
	// Replace whose process died, and is of no use.
	os.Remove(StagePath(abs))
	pl := &procLock{f: f, n: 1}
	procLocks[abs] = pl
	return releaser(abs, pl), nil
}

func releaser(abs string, pl *procLock) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			procMu.Lock()
			defer procMu.Unlock()
			pl.n--
			if pl.n == 0 {
				delete(procLocks, abs)
				// Closing the file drops the flock.
				pl.f.Close()
			}
		})
	}
}

func parseHolder(s string) (pid int, host, job string) {
	f := strings.Fields(s)
	if len(f) > 0 {
		pid, _ = strconv.Atoi(f[0])
	}
	if len(f) > 1 {
		host = f[1]
	}
	if len(f) > 2 {
		job = f[2]
	}
	return pid, host, job
}

// Lock takes a tape's writer lock for a whole job ("backup", "erase",
// "catalog") across processes: the file at path need not exist yet (a
// tape a Replace is about to write). name is the tape name the refusal
// gives. A lock held by another process is refused at once with a
// *BusyError naming it.
func Lock(path, name, job string) (unlock func(), err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return acquire(abs, name, job)
}
