package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"exbackup/exchange/client"
	"exbackup/exchange/internal/apitest"
)

// threadNice returns the nice value of the calling thread.
func threadNice(t testing.TB) int {
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	return 20 - prio // the system call answers 20 - nice
}

func TestInBackgroundLowersOnlyItsThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadNice(t)
	var inside int
	if err := inBackground(func() error { inside = threadNice(t); return nil }); err != nil {
		t.Fatal(err)
	}
	if inside != backgroundNice {
		t.Errorf("nice inside = %d, want %d", inside, backgroundNice)
	}
	if after := threadNice(t); after != before {
		t.Errorf("the caller's nice changed from %d to %d", before, after)
	}
	err := inBackground(func() error { return io.ErrUnexpectedEOF })
	if err != io.ErrUnexpectedEOF {
		t.Errorf("error = %v", err)
	}
	defer func() {
		if p := recover(); p != "boom" {
			t.Errorf("panic = %v, want boom", p)
		}
	}()
	inBackground(func() error { panic("boom") })
}

// niceNode answers backup reads with a reader that records the nice value
// of the thread that reads it.
type niceNode struct {
	*apitest.Fake
	nice atomic.Int64
}

func (n *niceNode) BackupRead(ctx context.Context, session, file string) (io.ReadCloser, error) {
	return io.NopCloser(readFunc(func(p []byte) (int, error) {
		prio, _ := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
		n.nice.Store(int64(20 - prio))
		return 0, io.EOF
	})), nil
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// Backup streams travel over HTTP/1.1 and are read at background priority.
func TestBackupStreamsReadAtBackgroundPriority(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		node := &niceNode{Fake: apitest.NewFake()}
		node.nice.Store(-100)
		cert, fp := apiTestCert(t)
		key := NewKey()
		h := NewHandler(node, key, nil)
		var callProto, streamProto atomic.Int64
		ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/files/") {
				streamProto.Store(int64(r.ProtoMajor))
			} else {
				callProto.Store(int64(r.ProtoMajor))
			}
			h.ServeHTTP(w, r)
		}))
		ts.EnableHTTP2 = h2
		ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
		ts.Config.ErrorLog = log.New(io.Discard, "", 0)
		ts.StartTLS()
		c, err := client.Dial(bg, ts.Listener.Addr().String(), key, fp)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := c.BackupRead(bg, "s-1", "priv.edb")
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := io.Copy(&got, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		c.Close()
		ts.Close()
		// Calls may use HTTP/2; files always stream over HTTP/1.1.
		if want := map[bool]int64{false: 1, true: 2}[h2]; callProto.Load() != want || streamProto.Load() != 1 {
			t.Errorf("HTTP/2 offered %v: calls over HTTP/%d, streams over HTTP/%d; want %d and 1", h2, callProto.Load(), streamProto.Load(), want)
		}
		if n := node.nice.Load(); n != backgroundNice {
			t.Errorf("HTTP/2 offered %v: the stream was read at nice %d, want %d", h2, n, backgroundNice)
		}
	}
}
