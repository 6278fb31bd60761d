package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/wire"

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
	var src backupSource
	switch {
	case name == restoreEnvFile:
		src = backupSource{head: b.env, size: size}
	case b.txs[name] != nil:
		var err error
		if src, err = snapshotSource(b.txs[name]); err != nil {
			return nil, exchange.Errorf(exchange.CodeInternal, "%s: snapshot of %s: %w", b.st.what(), name, err)
		}
	default:
		f, err := openBackupFile(b.paths[name])
		if err != nil {
			return nil, exchange.Errorf(exchange.CodeInternal, "%s: %w", b.st.what(), err)
		}
		src = backupSource{f: f, size: size, exact: true}
	}
	r := &sessionReader{src: src, sess: b, name: name, size: size, pace: backupPacer{waiting: &b.st.waiting}}
	if src.f != nil {
		if size > 0 {
			r.ra = startReadAhead(src)
		} else {
			src.f.Close()
		}
	}
	b.readers[r] = struct{}{}
	b.reading++
	b.lastUse = time.Now()
	return r, nil
}

// sessionReader tracks how much of a file was read, so that a backup is
// only marked and its logs truncated when every file reached its end. It
// hands the file out in the chunks its read-ahead read (ReadChunk, which
// FrameWriter.ReadFrom uses) or as an io.Reader.
type sessionReader struct {
	src    backupSource
	ra     *readAhead // nil when src is all in memory
	sess   *backupSession
	name   string
	size   int64
	pos    int64  // bytes taken from the source
	n      int64  // bytes handed to the caller
	cur    []byte // the chunk handed out last: its buffer goes back on the next call
	rest   []byte // what Read has not yet returned of cur
	err    error  // sticky: io.EOF or the failure
	closed bool
	pace   backupPacer
}

// ReadChunk implements wire.ChunkReader: the next chunk and its CRC-32C.
// The chunk stays valid until the next call.
func (r *sessionReader) ReadChunk() ([]byte, uint32, error) {
	if len(r.rest) > 0 { // the rest of a chunk a Read began
		p := r.rest
		r.rest = nil
		r.n += int64(len(p))
		return p, crc32.Checksum(p, castagnoli), nil
	}
	p, crc, err := r.chunk()
	r.n += int64(len(p))
	return p, crc, err
}

func (r *sessionReader) Read(p []byte) (int, error) {
	if len(r.rest) == 0 {
		c, _, err := r.chunk()
		if err != nil {
			return 0, err
		}
		r.rest = c
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	r.n += int64(n)
	return n, nil
}

// chunk takes the next chunk from the source, pacing the stream first.
func (r *sessionReader) chunk() ([]byte, uint32, error) {
	if r.err != nil {
		return nil, 0, r.err
	}
	if r.cur != nil {
		r.ra.release(r.cur)
		r.cur = nil
	}
	if r.pos == r.size {
		r.err = io.EOF
		return nil, 0, r.err
	}
	if r.ra == nil {
		r.pace.wait(0)
		p := r.src.head[min(r.pos, int64(len(r.src.head))):min(r.size, int64(len(r.src.head)), r.pos+wire.MaxChunk)]
		if len(p) == 0 {
			r.err = r.short(r.pos)
			return nil, 0, r.err
		}
		r.pos += int64(len(p))
		return p, crc32.Checksum(p, castagnoli), nil
	}
	c, ok := r.ra.next()
	if !ok {
		r.err = exchange.Errorf(exchange.CodeConflict, "the backup session of %s has ended", r.sess.st.what())
		return nil, 0, r.err
	}
	r.pace.wait(c.cpu)
	switch {
	case c.err == errShortFile:
		r.err = r.short(c.end)
	case c.err == errLongFile:
		r.err = exchange.Errorf(exchange.CodeInternal, "%s: %s goes on past the %d bytes listed", r.sess.st.what(), r.name, r.size)
	case c.err != nil:
		r.err = c.err
	}
	if r.err != nil {
		return nil, 0, r.err
	}
	r.pos, r.cur = c.end, c.p
	return c.p, c.crc, nil
}

func (r *sessionReader) short(read int64) error {
	return exchange.Errorf(exchange.CodeInternal, "%s: %s ended after %d of %d bytes", r.sess.st.what(), r.name, read, r.size)
}

// Close ends the stream and its read-ahead, which it waits for: at most
// one read. The chunks handed out are no longer valid.
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
	if r.ra != nil {
		r.ra.stop()
		r.ra.wait()
		r.cur, r.rest = nil, nil
		r.ra.recycle()
	}
	return nil
}

// backupPacer makes a backup stream give way to the changes waiting on
// its store. Each chunk handed to the sender starts a cycle that ends at
// the next: framing, encrypting and sending that chunk on the sender's
// thread, while the read-ahead's thread reads and checksums the chunks
// after it. While changes wait to be logged or applied, the next chunk is
// handed out only after a pause that keeps the stream's two threads
// together at 1/(1+pauseShare) of a core (at most maxPause), so that the
// stream still moves at that pace however busy the store is. Time spent
// waiting for the network or the disk does not count: a stream to a slow
// console takes little CPU and is barely paused. With nothing waiting it
// runs flat out.
//
// The cycle costs the sender's CPU s and the read-ahead's CPU r for the
// chunk; only s stretches the cycle, r ran beside it. The pause is
// pauseShare·(s+r) + r, so that the cycle lasts (1+pauseShare)·(s+r): the
// same share of a core as when one thread read, checksummed and sent in
// series, and paused pauseShare times what it used. Charging r only as
// pauseShare·r would let the stream take up to half a core.
//
// The background priority of the stream's threads (inBackground) is not
// enough alone: the kernel runs a low-priority thread whenever a core is
// free for a moment, and that is enough for it to hold one of the Go
// runtime's processors, on whose queue the goroutine of a delivery whose
// fsync just returned may then wait.
type backupPacer struct {
	waiting *atomic.Int64
	wall    time.Time     // when the cycle began
	cpu     time.Duration // the sender thread's CPU time then
}

const (
	pauseShare = 2 // the stream takes at most 1/(1+pauseShare) of a core
	maxPause   = 50 * time.Millisecond
)

// pauseFor is time.Sleep; tests record the pauses instead.
var pauseFor = time.Sleep

// wait ends a cycle and begins the next; read is the read-ahead's CPU for
// the chunk about to be handed out.
func (p *backupPacer) wait(read time.Duration) {
	now := time.Now()
	cpu, ok := threadCPU()
	if !p.wall.IsZero() && p.waiting != nil && p.waiting.Load() > 0 {
		// A goroutine that moved to another thread between two chunks
		// compares two threads' clocks: its share never exceeds the
		// time that passed.
		spent := now.Sub(p.wall)
		if used := cpu - p.cpu; ok && used >= 0 && used < spent {
			spent = used
		}
		pauseFor(min(pauseShare*(spent+read)+read, maxPause))
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
	var stopped []*readAhead
	for r := range b.readers {
		if r.ra != nil {
			r.ra.stop()
			stopped = append(stopped, r.ra)
		}
	}
	b.mu.Unlock()
	// The read-aheads end before the read transactions do: none reads a
	// page that a later commit may then reuse.
	for _, ra := range stopped {
		ra.wait()
	}
	b.rollback()
}

// snapshotSource streams a consistent copy of a database as of a read
// transaction: the two meta pages bbolt's Tx.WriteTo makes for that
// transaction, then the file's pages up to the transaction's size straight
// from the file. Pages a read transaction can see are never overwritten
// while it is open, so the copy needs no lock and is read ahead like any
// file.
func snapshotSource(tx *bolt.Tx) (backupSource, error) {
	ps := tx.DB().Info().PageSize
	mc := &metaCapture{want: 2 * ps}
	if _, err := tx.WriteTo(mc); !errors.Is(err, errMetaDone) && len(mc.buf) < 2*ps {
		return backupSource{}, fmt.Errorf("reading its meta pages: %v", err)
	}
	f, err := openBackupFile(tx.DB().Path())
	if err != nil {
		return backupSource{}, err
	}
	return backupSource{head: mc.buf, f: f, size: tx.Size()}, nil
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

// article puts "a" or "an" before a word said in a message.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}
