package server

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"exbackup/exchange"

	"exbackup/exchange/xlog"

	bolt "go.etcd.io/bbolt"
)

// store is one backup unit: a log set and the databases that share it (the
// Directory has dir.edb; the Information Store has priv.edb and pub.edb).
//
// Every change goes through one committer goroutine: it takes all requests
// waiting, appends them to the log with one fsync (group commit) and
// acknowledges them: a logged change is durable, since a restart replays
// it. An applier goroutine applies the logged batches to bbolt behind it,
// as many as are waiting in one transaction per database that also
// records their last LSN, so the log's fsync and bbolt's overlap. A read
// first waits until everything acknowledged before it is applied. Control
// steps (roll, snapshot) and checkpoints run between batches once the
// applier has caught up, so a snapshot sees the databases exactly at the
// end of the log and writers wait at most one commit for it.
type store struct {
	id       exchange.StoreID
	server   string // for messages
	dir      string
	dbNames  []string
	circular bool
	logOpts  xlog.Options
	events   *slog.Logger // the server's log

	mu      sync.Mutex // guards the fields below and service transitions
	running bool
	bmu     sync.Mutex
	broken  error // set when a log write or apply failed: the service stops (guarded by bmu)
	log     *xlog.Log
	dbs     map[string]*bolt.DB
	reqs    chan *request
	quit    chan struct{}
	done    chan struct{}
	applied uint64 // LSN through which every database has applied (applier; committer after a barrier)
	pinned  uint32 // lowest generation a backup session still reads; 0 = none

	// The applier applies logged batches to bbolt behind the committer.
	// Readers wait until it has applied everything acknowledged before
	// they began; logged and appliedTo publish the two LSNs for them.
	applyq    chan applyItem
	logged    atomic.Uint64
	appliedTo atomic.Uint64
	amu       sync.Mutex
	acond     *sync.Cond // broadcast when appliedTo moves or the applier stops
	// waiting counts the changes submitted and not yet answered (logged,
	// and applied for those that wait for it): while there are any, a
	// backup stream gives way to them (backupPacer).
	waiting atomic.Int64

	smu     sync.Mutex // guards session; taken before mu, never after
	session *backupSession
	restore *restoreSession
	// batchLimit caps the ops of one group commit; 1 makes every op its own
	// log write and fsync (used to measure what group commit buys).
	batchLimit int
	retiring   sync.WaitGroup // deletion of databases restores replaced
}

// request is an op to commit, or a control step to run between batches.
type request struct {
	op   *op
	ctl  func() error
	done chan error
}

// applyItem is a logged batch for the applier (its first op has LSN
// first), or a barrier it closes once everything before it is applied.
type applyItem struct {
	ops     []*op
	first   uint64
	barrier chan struct{}
}

const (
	maxBatch       = 512
	checkpointEach = time.Second
	applyQueue     = 16 // logged batches waiting for the applier
)

func newStore(id exchange.StoreID, server, dir string, dbNames []string, circular bool) *store {
	s := &store{id: id, server: server, dir: dir, dbNames: dbNames, circular: circular, batchLimit: maxBatch, events: slog.New(slog.DiscardHandler)}
	s.acond = sync.NewCond(&s.amu)
	return s
}

func (s *store) what() string {
	return fmt.Sprintf("the %s on %s", s.id.ServiceName(), s.server)
}

// boltOpen opens a database of the store and checks its schema version
// (schema.go): a file of a newer version is refused and left as it is.
func boltOpen(path string, readOnly bool) (*bolt.DB, error) {
	// A restored file is cold in the page cache; read the freelist bbolt
	// loads at open in a few large reads rather than a fault per page
	// (prefetch.go). On a warm file this costs a few cached reads.
	prefetchFreelist(path)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  2 * time.Second,
		ReadOnly: readOnly,
		// A backup holds a read transaction for as long as it streams; a
		// writer that must grow the mmap would wait for it. Reserve address
		// space up front so that it rarely has to.
		InitialMmapSize: 1 << 32,
		FreelistType:    bolt.FreelistMapType,
	})
	if err != nil {
		return nil, err
	}
	if err := checkSchema(db, filepath.Base(path), readOnly); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// receiving reports whether a restore session is open. It does not wait
// for a recovery in progress (which holds smu) to report it.
func (s *store) receiving() bool {
	if !s.smu.TryLock() {
		return false
	}
	defer s.smu.Unlock()
	return s.restore != nil
}

// isRunning reports the service state.
func (s *store) isRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// state reports the service state as the API shows it.
func (s *store) state() exchange.ServiceState {
	receiving := s.receiving()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return exchange.Running
	}
	if _, err := os.Stat(filepath.Join(s.dir, restoreMarker)); err == nil || receiving {
		return exchange.RestorePending
	}
	return exchange.Stopped
}

// start opens the log and databases and runs soft recovery: every logged
// op after the checkpoint that a database has not applied is applied.
func (s *store) start() error {
	_, err := s.startReport()
	return err
}

// startReport starts the service. A staged restore is recovered first
// (recoverStaged), and what its recovery did is the result. A store whose
// restore session is receiving a set refuses to start.
func (s *store) startReport() (exchange.RestoreResult, error) {
	var res exchange.RestoreResult
	s.smu.Lock()
	defer s.smu.Unlock()
	s.waitRestoreLocked()
	if s.restore != nil {
		return res, exchange.Errorf(exchange.CodeConflict, "%s cannot start: a console is restoring a set to it (cancel that restore, or let it finish)", s.what())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return res, nil
	}
	if m, err := readMarker(s.dir); err != nil {
		return res, exchange.Errorf(exchange.CodeInternal, "%s cannot start: %w", s.what(), err)
	} else if m != nil {
		if m.Phase == phaseStaging {
			rec, err := s.recoverStaged(m)
			if err != nil {
				// The chain stays staged, the old data as it was; the
				// marker says why, for the console's tree.
				if fresh, rerr := readMarker(s.dir); rerr == nil && fresh != nil && fresh.Phase == phaseStaging {
					fresh.Error = err.Error()
					writeMarker(s.dir, fresh)
				}
				return rec, exchange.Errorf(exchange.CodeOf(err), "%s cannot start: %w; the restore stays staged: cancel it to start the service on its data as it was", s.what(), err)
			}
			res = rec
		} else if err := s.finishSwap(m); err != nil {
			// A restore was swapping its files in when the server stopped:
			// finish the swap, which only renames files already whole.
			return res, exchange.Errorf(exchange.CodeInternal, "%s cannot start: finishing the interrupted restore: %w", s.what(), err)
		}
	}
	return res, s.openLocked()
}

// openLocked opens the files and starts the committer; the caller holds
// s.mu and has settled any restore.
func (s *store) openLocked() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return exchange.Errorf(exchange.CodeInternal, "%s cannot start: %w", s.what(), err)
	}
	// The files a restore's swap retired (or a crash left behind) are
	// deleted only once the store has opened: freeing a large file's
	// blocks can keep the disk busy (synchronous discards) for a quarter
	// of a second, and the reads below that open, recover and revalidate
	// a freshly restored, cold database would queue behind it.
	defer s.removeRetired()
	lg, err := xlog.Open(s.dir, s.logOpts)
	if err != nil {
		return exchange.Errorf(exchange.CodeInternal, "%s cannot start: transaction log: %w", s.what(), err)
	}
	dbs := map[string]*bolt.DB{}
	closeAll := func() {
		for _, db := range dbs {
			db.Close()
		}
		lg.Close()
	}
	for _, name := range s.dbNames {
		db, err := boltOpen(filepath.Join(s.dir, name), false)
		if err != nil {
			closeAll()
			return exchange.Errorf(exchange.CodeInternal, "%s cannot start: %s: %w", s.what(), name, err)
		}
		dbs[name] = db
	}
	cp, err := xlog.ReadCheckpoint(s.dir, "")
	if err != nil {
		closeAll()
		return exchange.Errorf(exchange.CodeInternal, "%s cannot start: checkpoint: %w", s.what(), err)
	}
	last, err := replayInto(s.dir, cp.LSN, dbs)
	if err != nil {
		closeAll()
		return exchange.Errorf(exchange.CodeInternal, "%s cannot start: recovery: %w", s.what(), err)
	}
	if last < lg.LastLSN() {
		last = lg.LastLSN()
	}
	if db := dbs[privEDB]; db != nil {
		if err := revalidateIfMarked(db); err != nil {
			closeAll()
			return exchange.Errorf(exchange.CodeInternal, "%s cannot start: %s: %w", s.what(), privEDB, err)
		}
	}
	for name, db := range dbs {
		var a uint64
		db.View(func(tx *bolt.Tx) error { a = appliedLSN(tx); return nil })
		if a > last {
			closeAll()
			return exchange.Errorf(exchange.CodeInternal, "%s cannot start: %s has applied LSN %d but the log ends at %d: log records are missing", s.what(), name, a, last)
		}
	}
	if err := xlog.WriteCheckpoint(s.dir, "", xlog.Checkpoint{LSN: last, Gen: lg.CurrentGen()}); err != nil {
		closeAll()
		return exchange.Errorf(exchange.CodeInternal, "%s cannot start: checkpoint: %w", s.what(), err)
	}
	s.log, s.dbs, s.applied = lg, dbs, last
	s.setBroken(nil)
	s.pinned = 0
	s.reqs = make(chan *request, 1024)
	s.quit = make(chan struct{})
	s.done = make(chan struct{})
	s.applyq = make(chan applyItem, applyQueue)
	s.logged.Store(last)
	s.appliedTo.Store(last)
	s.running = true
	applied := make(chan struct{})
	go s.applyLoop(s.applyq, applied)
	go s.commitLoop(s.reqs, s.quit, s.done, applied)
	return nil
}

// replayInto applies every logged op after `after` to the databases that
// have not yet applied it, in batches of one transaction per database.
func replayInto(dir string, after uint64, dbs map[string]*bolt.DB) (uint64, error) {
	applied := map[string]uint64{}
	for name, db := range dbs {
		db.View(func(tx *bolt.Tx) error { applied[name] = appliedLSN(tx); return nil })
	}
	type pending struct {
		lsn uint64
		op  *op
	}
	batch := map[string][]pending{}
	n := 0
	flush := func() error {
		for name, ps := range batch {
			err := dbs[name].Update(func(tx *bolt.Tx) error {
				for _, p := range ps {
					if err := p.op.apply(tx, p.lsn); err != nil {
						return fmt.Errorf("LSN %d: %w", p.lsn, err)
					}
				}
				return setApplied(tx, ps[len(ps)-1].lsn)
			})
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		clear(batch)
		n = 0
		return nil
	}
	last, err := xlog.Replay(dir, "", after, func(r xlog.Record) error {
		o, err := decodeOp(r.Data)
		if err != nil {
			return fmt.Errorf("LSN %d: %w", r.LSN, err)
		}
		if _, ok := dbs[o.DB]; !ok || r.LSN <= applied[o.DB] {
			return nil // another database's op, or already applied
		}
		batch[o.DB] = append(batch[o.DB], pending{r.LSN, o})
		if n++; n >= 1024 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return last, flush()
}

// stop drains the committer, writes a final checkpoint and closes the files.
func (s *store) stop() error {
	s.abortSession()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked()
}

func (s *store) stopLocked() error {
	defer s.retiring.Wait()
	if !s.running {
		return nil
	}
	close(s.quit)
	<-s.done
	var errs []error
	if s.getBroken() == nil {
		if err := xlog.WriteCheckpoint(s.dir, "", xlog.Checkpoint{LSN: s.applied, Gen: s.log.CurrentGen()}); err != nil {
			errs = append(errs, err)
		}
	}
	for _, db := range s.dbs {
		errs = append(errs, db.Close())
	}
	errs = append(errs, s.log.Close())
	s.running, s.log, s.dbs = false, nil, nil
	return errors.Join(errs...)
}

// view runs fn in a read transaction of one database of a running store,
// once every change acknowledged before the call is applied.
func (s *store) view(name string, fn func(tx *bolt.Tx) error) error {
	return s.viewAt(name, true, fn)
}

// viewApplied is view without the wait: fn sees what is applied, which may
// lag what is acknowledged by a commit or two. It serves checks for what,
// once there, is never undone (a mailbox exists), where a hit needs no wait.
func (s *store) viewApplied(name string, fn func(tx *bolt.Tx) error) error {
	return s.viewAt(name, false, fn)
}

func (s *store) viewAt(name string, wait bool, fn func(tx *bolt.Tx) error) error {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return exchange.Errorf(exchange.CodeNotRunning, "%s is not running", s.what())
	}
	db := s.dbs[name]
	s.mu.Unlock()
	if wait {
		s.waitApplied()
	}
	return db.View(fn)
}

// viewAny reads a database whether or not the service runs: stopped, the
// file is opened read-only for the call.
func (s *store) viewAny(name string, fn func(tx *bolt.Tx) error) error {
	s.mu.Lock()
	if s.running {
		db := s.dbs[name]
		s.mu.Unlock()
		s.waitApplied()
		return db.View(fn)
	}
	defer s.mu.Unlock()
	path := filepath.Join(s.dir, name)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fn(nil)
	}
	db, err := boltOpen(path, true)
	if err != nil {
		return exchange.Errorf(exchange.CodeInternal, "%s: %s: %w", s.what(), name, err)
	}
	defer db.Close()
	return db.View(fn)
}

func (s *store) setBroken(err error) {
	s.bmu.Lock()
	s.broken = err
	s.bmu.Unlock()
}

func (s *store) getBroken() error {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	return s.broken
}
