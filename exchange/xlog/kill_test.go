package xlog

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

const childDirEnv = "XLOG_KILL_CHILD_DIR"

// TestKillNine appends in a child process that prints every acknowledged
// LSN, kills it with SIGKILL at an arbitrary moment, and checks that every
// acknowledged record is in the log.
func TestKillNine(t *testing.T) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		appendUntilKilled(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillNine$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killer := time.AfterFunc(1500*time.Millisecond, func() { cmd.Process.Kill() })
	defer killer.Stop()
	start := time.Now()
	target := uint64(200 + rand.IntN(1800)) // kill at an arbitrary moment
	var acked uint64
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		// The last line may be cut short by the kill: only whole lines count.
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "ack" {
			if n, err := strconv.ParseUint(f[1], 10, 64); err == nil && n > acked {
				acked = n
			}
		}
		if !killed && (acked >= target || time.Since(start) > 400*time.Millisecond) {
			cmd.Process.Kill()
			killed = true
		}
	}
	cmd.Wait()
	if acked == 0 {
		t.Fatal("the child acknowledged nothing")
	}
	l, err := Open(dir, Options{MaxFileSize: 16 << 10})
	if err != nil {
		t.Fatalf("Open after kill -9: %v", err)
	}
	defer l.Close()
	if l.LastLSN() < acked {
		t.Fatalf("log ends at LSN %d, but LSN %d was acknowledged", l.LastLSN(), acked)
	}
	replayCheck(t, dir, 0, l.LastLSN())
	t.Logf("%d records acknowledged, %d in the log, %d generations", acked, l.LastLSN(), len(l.Generations()))
	appendN(t, l, 1)
}

// appendUntilKilled appends batches of one to four records, small files so
// that rolls happen too, and prints "ack LAST" once each Append returns.
func appendUntilKilled(dir string) {
	l, err := Open(dir, Options{MaxFileSize: 16 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		var batch [][]byte
		for j := range i%4 + 1 {
			batch = append(batch, payload(l.LastLSN()+uint64(j)+1))
		}
		_, last, err := l.Append(batch...)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("ack %d\n", last)
	}
}
