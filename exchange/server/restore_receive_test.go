package server

import (
	"bytes"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/internal/apitest"
	"exbackup/exchange/wire"
)

// A database whose upload is corrupt in a frame checked while the next
// ones arrive fails with the error of that frame, and leaves neither the
// file nor its temporary in the staging area; so does one cut off. The
// session is aborted, no goroutine is left checking, and the next restore
// works.
func TestCorruptUploadIsNotStaged(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	if err := s.StopService(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	h := NewHandler(s, s.Config().Key, nil)
	frame := 4 + wire.MaxChunk + 4
	good := apitest.Framed(t, apitest.Data(9*wire.MaxChunk+5, 1))
	flip := func(at int) []byte { b := bytes.Clone(good); b[at] ^= 0x08; return b }
	cases := []struct {
		name string
		body []byte
		want string
	}{
		// Chunk 6 lies in the stream's second buffer: the first was
		// written already.
		{"second buffer", flip(5*frame + 4 + 1234), "chunk 6 at byte 5242880: checksum mismatch"},
		{"first frame", flip(4 + 1), "chunk 1 at byte 0: checksum mismatch"},
		{"last full frame, stream cut after it", flip(8*frame + 4 + 99)[:9*frame+3], "chunk 9 at byte 8388608: checksum mismatch"},
		{"a frame's CRC", flip(3*frame - 2), "chunk 3 at byte 2097152: checksum mismatch"},
		// The console goes away in the middle of the second buffer.
		{"cut off", good[:6*frame+500], "stream truncated after 6291456 bytes"},
	}
	for _, c := range cases {
		ri, err := s.RestorePrepare(bg, exchange.RestoreRequest{Env: full.info.Env, Erase: true, Private: true, Public: true})
		if err != nil {
			t.Fatal(err)
		}
		base := runtime.NumGoroutine()
		req := httptest.NewRequest("PUT", "/v1/restore/"+ri.Session+"/files/"+privEDB, bytes.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+s.Config().Key)
		req.Header.Set("Content-Type", wire.FrameContentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.want) {
			t.Fatalf("%s: %d %s; want 400 with %q", c.name, rec.Code, rec.Body, c.want)
		}
		filepath.WalkDir(s.is.dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && strings.Contains(path, stagingPrefix) && strings.HasPrefix(d.Name(), privEDB) {
				t.Errorf("%s: %s was left behind", c.name, path)
			}
			return nil
		})
		if err := s.RestoreWrite(bg, ri.Session, pubEDB, strings.NewReader("x")); !errors.Is(err, exchange.ErrNotFound) {
			t.Fatalf("%s: the session still takes files: %v", c.name, err)
		}
		waitFewerGoroutines(t, base)
	}
	if _, err := restoreSet(s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true, Start: true}); err != nil {
		t.Fatalf("restore after the corrupt uploads: %v", err)
	}
}

// A log generation of a full set, received after the header the session
// reads itself, is checked as it arrives too.
func TestCorruptLogUploadFails(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	deliver(t, s, "alice", 5, "a")
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	s.StopService(bg, exchange.StoreIS)
	ri, err := s.RestorePrepare(bg, exchange.RestoreRequest{Env: full.info.Env, Erase: true, Private: true, Public: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range full.info.Files {
		if _, isLog := parseGen(f.Name); !isLog {
			continue
		}
		data, err := os.ReadFile(filepath.Join(full.dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		// The header, then a large stretch in frames of their own.
		var buf bytes.Buffer
		fw := wire.NewFrameWriter(&buf)
		fw.Write(data)
		fw.Write(make([]byte, 2*wire.MaxChunk))
		fw.Close()
		bad := buf.Bytes()
		bad[4+wire.MaxChunk+4+4+100] ^= 1 // chunk 2
		err = s.RestoreWrite(bg, ri.Session, f.Name, wire.NewFrameReader(bytes.NewReader(bad)))
		if err == nil || !strings.Contains(err.Error(), "chunk 2 at byte 1048576: checksum mismatch") {
			t.Fatalf("corrupt %s: %v", f.Name, err)
		}
		return
	}
	t.Fatal("the set holds no log")
}

// waitFewerGoroutines waits for the goroutines started since base to end.
func waitFewerGoroutines(t *testing.T, base int) {
	t.Helper()
	for range 500 {
		if runtime.NumGoroutine() <= base {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("%d goroutines left behind:\n%s", runtime.NumGoroutine()-base, buf[:runtime.Stack(buf, true)])
}
