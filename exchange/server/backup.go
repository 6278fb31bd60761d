package server

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"exbackup/exchange"

	"exbackup/exchange/xlog"

	bolt "go.etcd.io/bbolt"
)

// backupSession is one online backup of one store, from prepare to end.
// Database files stream from read transactions opened at the consistent
// point; log files are rolled generations, which never change.
type backupSession struct {
	id    string
	st    *store
	typ   exchange.BackupType
	info  exchange.BackupInfo
	env   []byte
	txs   map[string]*bolt.Tx
	paths map[string]string // log name → path
	high  uint32            // generation rolled at prepare: the last on tape
	base  uint64

	mu       sync.Mutex
	readers  map[*sessionReader]struct{}
	complete map[string]bool // files read to their end
	reading  int
	lastUse  time.Time
	broken   bool // a stream was cut short: the client went away
	ended    bool
	started  time.Time
}

// staleAfter is how long a session may sit idle before a new backup of the
// same store may take its place (its console was killed, say).
const staleAfter = 15 * time.Second

func newSessionID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// marks are what Normal and Incremental backups record, in backup.json
// beside the logs.
type marks struct {
	LastFull   *mark `json:"lastFull,omitempty"`
	LastBackup *mark `json:"lastBackup,omitempty"`
}

type mark struct {
	Time    time.Time `json:"time"`
	HighGen uint32    `json:"highGen"`
	LSN     uint64    `json:"lsn"`
}

const marksFile = "backup.json"

func readMarks(dir string) (marks, error) {
	var m marks
	data, err := os.ReadFile(filepath.Join(dir, marksFile))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%s: %w", marksFile, err)
	}
	return m, nil
}

func writeMarks(dir string, m marks) error {
	data, _ := json.MarshalIndent(m, "", "  ")
	return writeFileAtomic(filepath.Join(dir, marksFile), data)
}

// backupPrepare opens an online backup session of the store.
func (s *store) backupPrepare(t exchange.BackupType, env exchange.RestoreEnv) (*backupSession, error) {
	if !t.Valid() {
		return nil, exchange.Errorf(exchange.CodeBadRequest, "unknown backup type %q", t)
	}
	if !s.isRunning() {
		return nil, exchange.Errorf(exchange.CodeNotRunning, "%s is not running: an online backup needs the service", s.what())
	}
	var mk marks
	if !t.Full() {
		if s.circular {
			return nil, exchange.Errorf(exchange.CodeRefused, "%s uses circular logging: %s backups are not possible (only Normal and Copy)", s.what(), t)
		}
		var err error
		if mk, err = readMarks(s.dir); err != nil {
			return nil, exchange.Errorf(exchange.CodeInternal, "%s: %w", s.what(), err)
		}
		if mk.LastFull == nil {
			return nil, exchange.Errorf(exchange.CodeRefused, "%s has had no Normal backup since it was created or restored: run a Normal backup before %s one", s.what(), article(string(t)))
		}
	}

	s.smu.Lock()
	defer s.smu.Unlock()
	if old := s.session; old != nil {
		if !old.stale() {
			return nil, exchange.Errorf(exchange.CodeConflict, "a backup of %s is already in progress", s.what())
		}
		s.endSessionLocked(old, false)
	}

	sess := &backupSession{id: newSessionID(), st: s, typ: t, txs: map[string]*bolt.Tx{},
		paths: map[string]string{}, complete: map[string]bool{}, readers: map[*sessionReader]struct{}{}, lastUse: time.Now(), started: time.Now()}
	err := s.control(func() error {
		closed, err := s.log.Roll()
		if err != nil {
			return exchange.Errorf(exchange.CodeInternal, "%s: rolling the log: %w", s.what(), err)
		}
		sess.high, sess.base = closed, s.applied
		// The generations on disk, not the log's memory of them: a missing
		// file must refuse the backup.
		gens, err := xlog.Generations(s.dir, "")
		if err != nil {
			return exchange.Errorf(exchange.CodeRefused, "%s: %w: run a Normal backup", s.what(), err)
		}
		var low uint32
		switch t {
		case exchange.Normal:
			low = closed
			for _, g := range gens {
				if !g.Current && g.FirstLSN <= sess.base && sess.base > 0 {
					low = g.Gen // the last generation that starts at or before base holds it
				}
			}
		case exchange.Copy:
			low = closed
			if len(gens) > 0 {
				low = gens[0].Gen
			}
		case exchange.Incremental:
			low = mk.LastBackup.HighGen + 1
		case exchange.Differential:
			low = mk.LastFull.HighGen + 1
		}
		have := map[uint32]xlog.GenInfo{}
		for _, g := range gens {
			have[g.Gen] = g
		}
		for g := low; g <= closed; g++ {
			if _, ok := have[g]; !ok {
				return exchange.Errorf(exchange.CodeRefused, "%s: log generation %s is missing: run a Normal backup", s.what(), genName(g))
			}
		}
		if t.Full() {
			for _, name := range s.dbNames {
				tx, err := s.dbs[name].Begin(false)
				if err != nil {
					sess.rollback()
					return exchange.Errorf(exchange.CodeInternal, "%s: snapshot of %s: %w", s.what(), name, err)
				}
				sess.txs[name] = tx
			}
		}
		for g := low; g <= closed; g++ {
			sess.paths[genName(g)] = have[g].Path
		}
		s.pinned = low
		env.LowGen, env.HighGen, env.BaseLSN, env.HighLSN = low, closed, sess.base, sess.base
		env.Signature = hex.EncodeToString(func() []byte { b := s.log.Signature(); return b[:] }())
		return nil
	})
	if err != nil {
		return nil, err
	}
	env.Store, env.Type, env.Created = s.id, t, time.Now().UTC()
	sess.env, _ = json.MarshalIndent(env, "", "  ")
	files := []exchange.BackupFile{{Name: restoreEnvFile, Kind: exchange.KindEnv, Size: int64(len(sess.env))}}
	for _, name := range s.dbNames {
		if tx := sess.txs[name]; tx != nil {
			files = append(files, exchange.BackupFile{Name: name, Kind: exchange.KindDatabase, Size: tx.Size()})
		}
	}
	for g := env.LowGen; g <= env.HighGen; g++ {
		name := genName(g)
		fi, err := os.Stat(sess.paths[name])
		if err != nil {
			sess.rollback()
			s.unpin()
			return nil, exchange.Errorf(exchange.CodeInternal, "%s: %w", s.what(), err)
		}
		files = append(files, exchange.BackupFile{Name: name, Kind: exchange.KindLog, Size: fi.Size()})
	}
	sess.info = exchange.BackupInfo{Session: sess.id, Env: env, Files: files}
	s.session = sess
	return sess, nil
}

const restoreEnvFile = "restore.env"

func genName(g uint32) string { return fmt.Sprintf("edb%05X.log", g) }

// backupRunning reports the backup session of the store that is still
// alive; a stale one (its console gone) does not count.
func (s *store) backupRunning() (exchange.BackupInProgress, bool) {
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.backupRunningLocked()
}

// backupShown is backupRunning for Status, which does not wait for a
// recovery in progress.
func (s *store) backupShown() (exchange.BackupInProgress, bool) {
	if !s.smu.TryLock() {
		return exchange.BackupInProgress{}, false
	}
	defer s.smu.Unlock()
	return s.backupRunningLocked()
}

func (s *store) backupRunningLocked() (exchange.BackupInProgress, bool) {
	b := s.session
	if b == nil || b.stale() {
		return exchange.BackupInProgress{}, false
	}
	return exchange.BackupInProgress{Store: s.id, Type: b.typ, Started: b.started}, true
}

func (b *backupSession) stale() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ended || b.broken || (b.reading == 0 && time.Since(b.lastUse) > staleAfter)
}

func (b *backupSession) rollback() {
	for name, tx := range b.txs {
		tx.Rollback()
		delete(b.txs, name)
	}
}

// open streams one file of the session.
func (b *backupSession) open(name string) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended || b.broken {
		return nil, exchange.Errorf(exchange.CodeConflict, "the backup session of %s has ended", b.st.what())
	}
	var size int64 = -1
	for _, f := range b.info.Files {
		if f.Name == name {
			size = f.Size
		}
	}
	if size < 0 {
		return nil, exchange.Errorf(exchange.CodeNotFound, "the backup of %s has no file %q", b.st.what(), name)
	}
	var rc io.ReadCloser
	switch {
	case name == restoreEnvFile:
		rc = io.NopCloser(bytes.NewReader(b.env))
	case b.txs[name] != nil:
		snap, err := openSnapshot(b.txs[name])
		if err != nil {
			return nil, exchange.Errorf(exchange.CodeInternal, "%s: snapshot of %s: %w", b.st.what(), name, err)
		}
		rc = snap
	default:
		f, err := os.Open(b.paths[name])
		if err != nil {
			return nil, exchange.Errorf(exchange.CodeInternal, "%s: %w", b.st.what(), err)
		}
		rc = f
	}
	r := &sessionReader{rc: rc, sess: b, name: name, size: size, pace: backupPacer{waiting: &b.st.waiting}}
	b.readers[r] = struct{}{}
	b.reading++
	b.lastUse = time.Now()
	return r, nil
}

// sessionReader tracks how much of a file was read, so that a backup is
// only marked and its logs truncated when every file reached its end.
type sessionReader struct {
	rc     io.ReadCloser
	sess   *backupSession
	name   string
	size   int64
	n      int64
	closed bool
	pace   backupPacer
}

func (r *sessionReader) Read(p []byte) (int, error) {
	r.pace.wait()
	n, err := r.rc.Read(p)
	r.n += int64(n)
	if err == io.EOF && r.n != r.size {
		err = exchange.Errorf(exchange.CodeInternal, "%s: %s ended after %d of %d bytes", r.sess.st.what(), r.name, r.n, r.size)
	}
	return n, err
}

func (r *sessionReader) Close() error {
	b := r.sess
	b.mu.Lock()
	if r.closed {
		b.mu.Unlock()
		return nil
	}
	r.closed = true
	delete(b.readers, r)
	b.reading--
	b.lastUse = time.Now()
	if r.n == r.size {
		b.complete[r.name] = true
	} else {
		b.broken = true
	}
	b.mu.Unlock()
	return r.rc.Close()
}

// backupPacer makes a backup stream give way to the changes waiting on
// its store. Each read of the stream starts a cycle that ends at the next
// read: reading a chunk, then framing, checksumming, encrypting and
// sending it. While changes wait to be logged or applied, the next read
// first pauses for twice as long as the cycle kept the stream's thread on
// a CPU (at most maxPause), so that the stream takes at most a third of a
// core from them and still moves at that pace however busy the store is. Time spent
// waiting for the network does not count: a stream to a slow console
// takes little CPU and is barely paused. With nothing waiting it runs flat
// out.
//
// The background priority of the stream's thread (inBackground) is not
// enough alone: the kernel runs a low-priority thread whenever a core is
// free for a moment, and that is enough for it to hold one of the Go
// runtime's processors, on whose queue the goroutine of a delivery whose
// fsync just returned may then wait.
type backupPacer struct {
	waiting *atomic.Int64
	wall    time.Time     // when the cycle began
	cpu     time.Duration // the thread's CPU time then
}

const (
	pauseShare = 2 // the stream takes at most 1/(1+pauseShare) of a core
	maxPause   = 50 * time.Millisecond
)

// pauseFor is time.Sleep; tests record the pauses instead.
var pauseFor = time.Sleep

func (p *backupPacer) wait() {
	now := time.Now()
	cpu, ok := threadCPU()
	if !p.wall.IsZero() && p.waiting != nil && p.waiting.Load() > 0 {
		// A goroutine that moved to another thread between two reads
		// compares two threads' clocks: the pause never exceeds the
		// time that passed.
		spent := now.Sub(p.wall)
		if used := cpu - p.cpu; ok && used >= 0 && used < spent {
			spent = used
		}
		pauseFor(min(pauseShare*spent, maxPause))
		now = time.Now()
		cpu, _ = threadCPU()
	}
	p.wall, p.cpu = now, cpu
}

// end finishes the session. Only a successful backup whose every file was
// read to its end marks the store and truncates its logs.
func (s *store) backupEnd(id string, success bool) error {
	s.smu.Lock()
	defer s.smu.Unlock()
	sess := s.session
	if sess == nil || sess.id != id {
		return exchange.Errorf(exchange.CodeNotFound, "no backup session %q on %s", id, s.what())
	}
	if success {
		sess.mu.Lock()
		var missing string
		for _, f := range sess.info.Files {
			if !sess.complete[f.Name] {
				missing = f.Name
				break
			}
		}
		sess.mu.Unlock()
		if missing != "" {
			s.endSessionLocked(sess, false)
			return exchange.Errorf(exchange.CodeRefused, "the backup of %s was not completed: %s was not read to its end; nothing was truncated", s.what(), missing)
		}
	}
	return s.endSessionLocked(sess, success)
}

// endSessionLocked closes the streams and read transactions and, on
// success, records the backup. The caller holds s.smu.
func (s *store) endSessionLocked(sess *backupSession, success bool) error {
	sess.close()
	s.session = nil
	if !s.isRunning() {
		if success {
			return exchange.Errorf(exchange.CodeNotRunning, "%s stopped before the backup ended: nothing was marked or truncated", s.what())
		}
		return nil
	}
	return s.control(func() error {
		s.pinned = 0
		if !success || sess.typ == exchange.Copy || sess.typ == exchange.Differential {
			return nil
		}
		mk, err := readMarks(s.dir)
		if err != nil {
			return exchange.Errorf(exchange.CodeInternal, "%s: %w", s.what(), err)
		}
		m := &mark{Time: time.Now().UTC(), HighGen: sess.high, LSN: sess.base}
		if sess.typ == exchange.Normal {
			mk.LastFull = m
		}
		mk.LastBackup = m
		if err := writeMarks(s.dir, mk); err != nil {
			return exchange.Errorf(exchange.CodeInternal, "%s: recording the backup: %w", s.what(), err)
		}
		if err := s.checkpoint(); err != nil {
			return err
		}
		return s.removeGensThrough(sess.high)
	})
}

func (s *store) unpin() {
	s.control(func() error { s.pinned = 0; return nil })
}

// abortSession ends any backup session without success; used before the
// databases close.
func (s *store) abortSession() {
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.session != nil {
		s.session.close()
		s.session = nil
	}
}

// close ends the session's streams and releases its read transactions.
func (b *backupSession) close() {
	b.mu.Lock()
	b.ended = true
	for r := range b.readers {
		r.rc.Close()
	}
	b.mu.Unlock()
	b.rollback()
}

// snapshot reads a consistent copy of a database as of a read transaction:
// the two meta pages bbolt's Tx.WriteTo makes for that transaction, then the
// file's pages up to the transaction's size straight from the file. Pages
// a read transaction can see are never overwritten while it is open, so
// the reader needs no goroutine and copies nothing twice.
type snapshot struct {
	meta []byte
	data *io.SectionReader
	f    *os.File
}

// errMetaDone stops Tx.WriteTo once it has written the meta pages.
var errMetaDone = errors.New("meta pages captured")

type metaCapture struct {
	buf  []byte
	want int
}

func (m *metaCapture) Write(p []byte) (int, error) {
	n := min(len(p), m.want-len(m.buf))
	m.buf = append(m.buf, p[:n]...)
	if len(m.buf) >= m.want {
		return n, errMetaDone
	}
	return n, nil
}

func openSnapshot(tx *bolt.Tx) (*snapshot, error) {
	ps := tx.DB().Info().PageSize
	mc := &metaCapture{want: 2 * ps}
	if _, err := tx.WriteTo(mc); !errors.Is(err, errMetaDone) && len(mc.buf) < 2*ps {
		return nil, fmt.Errorf("reading its meta pages: %v", err)
	}
	f, err := os.Open(tx.DB().Path())
	if err != nil {
		return nil, err
	}
	return &snapshot{meta: mc.buf, data: io.NewSectionReader(f, int64(2*ps), tx.Size()-int64(2*ps)), f: f}, nil
}

func (s *snapshot) Read(p []byte) (int, error) {
	if len(s.meta) > 0 {
		n := copy(p, s.meta)
		s.meta = s.meta[n:]
		return n, nil
	}
	return s.data.Read(p)
}

func (s *snapshot) Close() error { return s.f.Close() }

// article puts "a" or "an" before a word said in a message.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}
