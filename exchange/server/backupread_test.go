package server

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/wire"
)

// syncBuffer is a log that tests read while the server writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// loggedServer is a test server whose log the test reads, holding n
// messages of 4 KiB: a priv.edb of several chunks.
func loggedServer(t *testing.T, n int) (*Server, *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	if _, err := Init(bg, InitOptions{Dir: dir, Organization: "Org", Site: "Site", Name: "EX1", Key: testKey}); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	s, err := Open(dir, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StartServices(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := s.Deliver(bg, exchange.Message{Mailbox: "alice", From: "a@b", Subject: fmt.Sprintf("m %d", i), Body: body4K}); err != nil {
			t.Fatal(err)
		}
	}
	return s, logs
}

// sessionOf returns the live backup session of the Information Store.
func sessionOf(t *testing.T, s *Server) *backupSession {
	t.Helper()
	s.is.smu.Lock()
	defer s.is.smu.Unlock()
	if s.is.session == nil {
		t.Fatal("no backup session")
	}
	return s.is.session
}

// wantContent is what a file of the session must stream: a database as
// bbolt's own Tx.WriteTo copies the snapshot, a log as it lies on disk.
func wantContent(t *testing.T, sess *backupSession, name string) []byte {
	t.Helper()
	switch {
	case name == restoreEnvFile:
		return sess.env
	case sess.txs[name] != nil:
		var buf bytes.Buffer
		if _, err := sess.txs[name].WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	default:
		data, err := os.ReadFile(sess.paths[name])
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
}

// readAheadsRunning counts the read-ahead goroutines alive.
func readAheadsRunning() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "(*readAhead).run(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitReadAheads waits for the read-ahead goroutines to end.
func waitReadAheads(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for readAheadsRunning() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d read-ahead goroutines still running", readAheadsRunning())
		}
		time.Sleep(time.Millisecond)
	}
}

// Every file of a backup arrives through the API exactly as it is: the
// databases as their snapshots, though mail keeps changing them, the logs
// as they lie on disk.
func TestBackupStreamsEveryByteThroughTheAPI(t *testing.T) {
	s, _ := loggedServer(t, 2500) // priv.edb of several chunks
	c := benchClient(t, s)
	info, err := c.BackupPrepare(bg, exchange.StoreIS, exchange.Normal)
	if err != nil {
		t.Fatal(err)
	}
	sess := sessionOf(t, s)
	chunks := false
	for _, f := range info.Files {
		// Changes after the snapshot grow the database past its size.
		for i := 0; i < 50; i++ {
			if err := s.Deliver(bg, exchange.Message{Mailbox: "alice", From: "a@b", Subject: "later", Body: body4K}); err != nil {
				t.Fatal(err)
			}
		}
		rc, err := c.BackupRead(bg, info.Session, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		want := wantContent(t, sess, f.Name)
		if int64(len(want)) != f.Size || !bytes.Equal(got, want) {
			t.Fatalf("%s: streamed %d bytes, listed %d, want the %d bytes of the file (equal: %v)", f.Name, len(got), f.Size, len(want), bytes.Equal(got, want))
		}
		chunks = chunks || f.Size > readAheadChunks*wire.MaxChunk
	}
	if !chunks {
		t.Fatal("no file streamed more chunks than are read ahead")
	}
	if err := c.BackupEnd(bg, info.Session, true); err != nil {
		t.Fatal(err)
	}
	waitReadAheads(t)
}

// failingFile fails every read at or past a byte.
type failingFile struct {
	backupFile
	at int64
}

func (f *failingFile) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.at {
		return 0, &os.PathError{Op: "read", Path: "priv.edb", Err: syscall.EIO}
	}
	return f.backupFile.ReadAt(p, off)
}

// A read that fails in chunk N of a file cuts its stream off after
// exactly the N-1 chunks before it: the console sees a truncated stream,
// the server logs why, and the session is broken: it can no longer end
// as a success.
func TestBackupStreamReadErrorCutsTheStreamOff(t *testing.T) {
	s, logs := loggedServer(t, 2500)
	const failIn = 3 // the chunk whose read fails
	old := openBackupFile
	openBackupFile = func(path string) (backupFile, error) {
		f, err := old(path)
		if err != nil || !strings.HasSuffix(path, privEDB) {
			return f, err
		}
		return &failingFile{backupFile: f, at: (failIn-1)*wire.MaxChunk + 1}, nil
	}
	defer func() { openBackupFile = old }()
	c := benchClient(t, s)
	info, err := c.BackupPrepare(bg, exchange.StoreIS, exchange.Normal)
	if err != nil {
		t.Fatal(err)
	}
	want := wantContent(t, sessionOf(t, s), privEDB)
	rc, err := c.BackupRead(bg, info.Session, privEDB)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, wire.ErrCorruptStream) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("a stream whose read failed: %v", err)
	}
	if len(got) != (failIn-1)*wire.MaxChunk || !bytes.Equal(got, want[:len(got)]) {
		t.Fatalf("received %d bytes before the failure, want the first %d of the file", len(got), (failIn-1)*wire.MaxChunk)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "stream cut off") {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the failed stream:\n%s", logs.String())
		}
		time.Sleep(time.Millisecond)
	}
	if l := logs.String(); !strings.Contains(l, "input/output error") || !strings.Contains(l, fmt.Sprintf("bytes=%d", (failIn-1)*wire.MaxChunk)) {
		t.Errorf("the log does not say what failed where:\n%s", l)
	}
	if err := c.BackupEnd(bg, info.Session, true); !errors.Is(err, exchange.ErrRefused) && !errors.Is(err, exchange.ErrNotFound) {
		t.Fatalf("a backup whose stream broke ended as a success: %v", err)
	}
	if mk, _ := readMarks(s.is.dir); mk.LastFull != nil {
		t.Fatal("a backup whose stream broke marked the store")
	}
	waitReadAheads(t)
}

// A file that is shorter than listed, or goes on past it, is an error
// naming the store and file, never a clean stream.
func TestBackupStreamOfALogThatChanged(t *testing.T) {
	s, _ := loggedServer(t, 300)
	for _, longer := range []bool{false, true} {
		info, err := s.BackupPrepare(bg, exchange.StoreIS, exchange.Copy)
		if err != nil {
			t.Fatal(err)
		}
		var log exchange.BackupFile
		for _, f := range info.Files {
			if f.Kind == exchange.KindLog {
				log = f
			}
		}
		path := sessionOf(t, s).paths[log.Name]
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cut := len(orig) / 2
		changed := orig[:cut]
		if longer {
			changed = append(append([]byte{}, orig...), 0)
		}
		if err := os.WriteFile(path, changed, 0o600); err != nil {
			t.Fatal(err)
		}
		rc, err := s.BackupRead(bg, info.Session, log.Name)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(rc)
		rc.Close()
		want := fmt.Sprintf("%s ended after %d of %d bytes", log.Name, cut, log.Size)
		if longer {
			want = fmt.Sprintf("%s goes on past the %d bytes listed", log.Name, log.Size)
		}
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "Information Store") {
			t.Fatalf("longer %v: %v, want %q", longer, err, want)
		}
		if err := s.BackupEnd(bg, info.Session, false); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(path, orig, 0o600)
	}
	waitReadAheads(t)
}

// Ending the session while a stream is read (the console went away, the
// server stops) stops its read-ahead at once; the stream then fails.
func TestBackupSessionEndStopsTheReadAhead(t *testing.T) {
	s, _ := loggedServer(t, 2500)
	for _, stop := range []string{"end", "close"} {
		waitReadAheads(t)
		before := runtime.NumGoroutine()
		info, err := s.BackupPrepare(bg, exchange.StoreIS, exchange.Copy)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := s.BackupRead(bg, info.Session, privEDB)
		if err != nil {
			t.Fatal(err)
		}
		cr := rc.(wire.ChunkReader)
		if _, _, err := cr.ReadChunk(); err != nil {
			t.Fatal(err)
		}
		if readAheadsRunning() != 1 {
			t.Fatalf("%d read-aheads for one stream", readAheadsRunning())
		}
		switch stop {
		case "end":
			if err := s.BackupEnd(bg, info.Session, false); err != nil {
				t.Fatal(err)
			}
		case "close": // the stream's own Close, as the handler makes it
			rc.Close()
		}
		// The session's end waits for its read-aheads; a Close, for its own.
		if n := readAheadsRunning(); n != 0 {
			t.Fatalf("%s: %d read-aheads still running", stop, n)
		}
		if stop == "end" {
			if _, _, err := cr.ReadChunk(); err == nil || !strings.Contains(err.Error(), "has ended") {
				t.Fatalf("a chunk after the session ended: %v", err)
			}
			rc.Close()
		} else {
			s.BackupEnd(bg, info.Session, false)
		}
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("%s: %d goroutines, %d before:\n%s", stop, runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// A console that goes away mid-stream ends the stream and its read-ahead.
func TestBackupStreamClosedByTheConsole(t *testing.T) {
	s, logs := loggedServer(t, 2500)
	c := benchClient(t, s)
	info, err := c.BackupPrepare(bg, exchange.StoreIS, exchange.Copy)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.BackupRead(bg, info.Session, privEDB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rc, make([]byte, wire.MaxChunk)); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	waitReadAheads(t)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "backup read") {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the stream's end:\n%s", logs.String())
		}
		time.Sleep(time.Millisecond)
	}
	if err := c.BackupEnd(bg, info.Session, true); err == nil {
		t.Fatal("a backup whose console left mid-stream ended as a success")
	}
}

// While changes wait on the store, the stream through the API pauses
// before every chunk after the first.
func TestBackupStreamPausesForWaitingChanges(t *testing.T) {
	s, _ := loggedServer(t, 2500)
	c := benchClient(t, s)
	info, err := c.BackupPrepare(bg, exchange.StoreIS, exchange.Copy)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, f := range info.Files {
		if f.Name == privEDB {
			size = f.Size
		}
	}
	recorded := recordPauses(t)
	s.is.waiting.Add(1)
	defer s.is.waiting.Add(-1)
	rc, err := c.BackupRead(bg, info.Session, privEDB)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil || n != size {
		t.Fatalf("streamed %d of %d bytes: %v", n, size, err)
	}
	pauses := recorded()
	chunks := int((size + wire.MaxChunk - 1) / wire.MaxChunk)
	if len(pauses) != chunks-1 {
		t.Fatalf("%d pauses in a stream of %d chunks while a change waits, want %d", len(pauses), chunks, chunks-1)
	}
	for _, d := range pauses {
		if d <= 0 || d > maxPause {
			t.Fatalf("pauses %v, want each in (0, %v]", pauses, maxPause)
		}
	}
	c.BackupEnd(bg, info.Session, false)
}

// The read-ahead hands out every byte of files of every number of chunks,
// each chunk with its CRC-32C, the head in place of the file's first
// bytes, and ends.
func TestReadAheadChunksAndHead(t *testing.T) {
	for _, size := range []int64{1, wire.MaxChunk - 1, wire.MaxChunk, wire.MaxChunk + 1, 2*wire.MaxChunk + 5, 3 * wire.MaxChunk, 5*wire.MaxChunk + 7} {
		for _, head := range []int{0, 8192} {
			if int64(head) > size {
				continue
			}
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(i*7 + i>>11)
			}
			path := t.TempDir() + "/f"
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			want := append([]byte{}, data...)
			h := make([]byte, head)
			for i := range h {
				h[i] = 0xee
			}
			copy(want, h)
			f, err := openBackupFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ra := startReadAhead(backupSource{head: h, f: f, size: size, exact: true})
			var got []byte
			for int64(len(got)) < size {
				c, ok := ra.next()
				if !ok || c.err != nil {
					t.Fatalf("size %d, head %d: after %d bytes: %v %v", size, head, len(got), ok, c.err)
				}
				if crc32.Checksum(c.p, castagnoli) != c.crc || c.end != int64(len(got)+len(c.p)) || len(c.p) > wire.MaxChunk {
					t.Fatalf("size %d, head %d: chunk of %d bytes ending at %d, crc %08x", size, head, len(c.p), c.end, c.crc)
				}
				got = append(got, c.p...)
				ra.release(c.p)
			}
			ra.wait() // it ends by itself after the last chunk
			if !bytes.Equal(got, want) {
				t.Fatalf("size %d, head %d: wrong bytes", size, head)
			}
		}
	}
}
