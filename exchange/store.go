package exchange

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

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
	id       StoreID
	server   string // for messages
	dir      string
	dbNames  []string
	circular bool
	logOpts  xlog.Options

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

func newStore(id StoreID, server, dir string, dbNames []string, circular bool) *store {
	s := &store{id: id, server: server, dir: dir, dbNames: dbNames, circular: circular, batchLimit: maxBatch}
	s.acond = sync.NewCond(&s.amu)
	return s
}

func (s *store) what() string {
	return fmt.Sprintf("the %s on %s", s.id.ServiceName(), s.server)
}

func boltOpen(path string, readOnly bool) (*bolt.DB, error) {
	return bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  2 * time.Second,
		ReadOnly: readOnly,
		// A backup holds a read transaction for as long as it streams; a
		// writer that must grow the mmap would wait for it. Reserve address
		// space up front so that it rarely has to.
		InitialMmapSize: 1 << 32,
		FreelistType:    bolt.FreelistMapType,
	})
}

// isRunning reports the service state.
func (s *store) isRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// state reports the service state as the API shows it.
func (s *store) state() ServiceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return Running
	}
	if _, err := os.Stat(filepath.Join(s.dir, restoreMarker)); err == nil {
		return RestorePending
	}
	return Stopped
}

// start opens the log and databases and runs soft recovery: every logged
// op after the checkpoint that a database has not applied is applied.
func (s *store) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return nil
	}
	if m, err := readMarker(s.dir); err != nil {
		return Errorf(CodeInternal, "%s cannot start: %v", s.what(), err)
	} else if m != nil {
		if m.Phase != phaseSwap {
			return Errorf(CodeConflict, "%s cannot start: a restore is in progress (finish it with the last set of its chain)", s.what())
		}
		// A restore was swapping its files in when the server stopped:
		// finish the swap, which only renames files already whole.
		if err := s.finishSwap(m); err != nil {
			return Errorf(CodeInternal, "%s cannot start: finishing the interrupted restore: %v", s.what(), err)
		}
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return Errorf(CodeInternal, "%s cannot start: %v", s.what(), err)
	}
	s.removeRetired() // left behind by a crash after a swap
	lg, err := xlog.Open(s.dir, s.logOpts)
	if err != nil {
		return Errorf(CodeInternal, "%s cannot start: transaction log: %v", s.what(), err)
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
			return Errorf(CodeInternal, "%s cannot start: %s: %v", s.what(), name, err)
		}
		dbs[name] = db
	}
	cp, err := xlog.ReadCheckpoint(s.dir, "")
	if err != nil {
		closeAll()
		return Errorf(CodeInternal, "%s cannot start: checkpoint: %v", s.what(), err)
	}
	last, err := replayInto(s.dir, cp.LSN, dbs)
	if err != nil {
		closeAll()
		return Errorf(CodeInternal, "%s cannot start: recovery: %v", s.what(), err)
	}
	if last < lg.LastLSN() {
		last = lg.LastLSN()
	}
	for name, db := range dbs {
		var a uint64
		db.View(func(tx *bolt.Tx) error { a = appliedLSN(tx); return nil })
		if a > last {
			closeAll()
			return Errorf(CodeInternal, "%s cannot start: %s has applied LSN %d but the log ends at %d: log records are missing", s.what(), name, a, last)
		}
	}
	if err := xlog.WriteCheckpoint(s.dir, "", xlog.Checkpoint{LSN: last, Gen: lg.CurrentGen()}); err != nil {
		closeAll()
		return Errorf(CodeInternal, "%s cannot start: checkpoint: %v", s.what(), err)
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

// submit sends a request to the committer and waits for it.
func (s *store) submit(r *request) error {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		if b := s.getBroken(); b != nil {
			return Errorf(CodeNotRunning, "%s stopped after a failure: %v", s.what(), b)
		}
		return Errorf(CodeNotRunning, "%s is not running", s.what())
	}
	reqs, quit := s.reqs, s.quit
	s.mu.Unlock()
	r.done = make(chan error, 1)
	select {
	case reqs <- r:
	case <-quit:
		return Errorf(CodeNotRunning, "%s is stopping", s.what())
	}
	return <-r.done
}

func (s *store) commit(o *op) error { return s.submit(&request{op: o}) }

// control runs fn on the committer goroutine between batches.
func (s *store) control(fn func() error) error { return s.submit(&request{ctl: fn}) }

// commitLoop is the committer: it appends each batch to the log with one
// fsync, acknowledges it (a logged op is durable: a restart replays it),
// and hands it to the applier. Control steps, and checkpoints, wait until
// the applier has caught up, so they see the databases exactly at the end
// of the log.
func (s *store) commitLoop(reqs chan *request, quit, done, applied chan struct{}) {
	defer close(done)
	applyq := s.applyq
	defer func() { close(applyq); <-applied }()
	lastCP := time.Now()
	cpGen := s.log.CurrentGen()
	var carry *request
	for {
		var first *request
		if carry != nil {
			first, carry = carry, nil
		} else {
			select {
			case first = <-reqs:
			case <-quit:
				s.failPending(reqs)
				return
			}
		}
		if first.ctl != nil {
			s.barrier()
			first.done <- s.runControl(first.ctl)
			continue
		}
		batch := []*request{first}
	drain:
		for len(batch) < s.batchLimit {
			select {
			case r := <-reqs:
				if r.ctl != nil {
					carry = r
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		err := s.logBatch(batch)
		for _, r := range batch {
			r.done <- err
		}
		if err != nil {
			s.fail(err)
			if carry != nil {
				carry.done <- Errorf(CodeNotRunning, "%s stopped after a failure: %v", s.what(), err)
			}
			s.failPending(reqs)
			return
		}
		if g := s.log.CurrentGen(); g != cpGen || time.Since(lastCP) > checkpointEach {
			s.barrier()
			if b := s.getBroken(); b != nil {
				s.failPending(reqs)
				return
			}
			if err := s.checkpoint(); err != nil {
				s.fail(err)
				s.failPending(reqs)
				return
			}
			cpGen, lastCP = g, time.Now()
		}
	}
}

// barrier waits until the applier has applied every logged batch.
func (s *store) barrier() {
	b := make(chan struct{})
	s.applyq <- applyItem{barrier: b}
	<-b
}

// applyLoop is the applier: it applies logged batches to bbolt, as many as
// are waiting in one transaction per database, records the applied LSN in
// the same transaction, and wakes the readers waiting for it. After a
// failure it only answers barriers: the store is broken, and what was
// logged is recovered at the next start.
func (s *store) applyLoop(q chan applyItem, done chan struct{}) {
	defer close(done)
	defer s.wakeReaders()
	failed := false
	for item := range q {
		if item.barrier != nil {
			close(item.barrier)
			continue
		}
		items := []applyItem{item}
		var barrier chan struct{}
	more:
		for len(items) < applyQueue {
			select {
			case it, ok := <-q:
				if !ok {
					break more
				}
				if it.barrier != nil {
					barrier = it.barrier
					break more
				}
				items = append(items, it)
			default:
				break more
			}
		}
		if !failed {
			if err := s.applyBatches(items); err != nil {
				failed = true
				s.fail(err)
			}
			s.wakeReaders()
		}
		if barrier != nil {
			close(barrier)
		}
	}
}

func (s *store) wakeReaders() {
	s.amu.Lock()
	s.acond.Broadcast()
	s.amu.Unlock()
}

// waitApplied waits until every op acknowledged before the call is applied
// (or the store has stopped applying), so that a read sees what was
// acknowledged.
func (s *store) waitApplied() {
	target := s.logged.Load()
	if s.appliedTo.Load() >= target {
		return
	}
	s.amu.Lock()
	for s.appliedTo.Load() < target && s.getBroken() == nil {
		s.acond.Wait()
	}
	s.amu.Unlock()
}

func (s *store) runControl(fn func() error) error {
	if b := s.getBroken(); b != nil {
		return b
	}
	return fn()
}

// failPending answers every queued request once the committer has stopped.
func (s *store) failPending(reqs chan *request) {
	for {
		select {
		case r := <-reqs:
			r.done <- Errorf(CodeNotRunning, "%s is not running", s.what())
		default:
			return
		}
	}
}

// fail marks the store broken. The log may hold records that bbolt does not:
// the next start recovers them, so nothing acknowledged is lost, and nothing
// unacknowledged is reported as done.
func (s *store) fail(err error) {
	s.setBroken(err)
	go func() {
		s.abortSession()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.running && s.getBroken() == err {
			close(s.quit)
			<-s.done
			for _, db := range s.dbs {
				db.Close()
			}
			s.log.Close()
			s.running, s.log, s.dbs = false, nil, nil
		}
	}()
}

// logBatch appends the batch to the log with one fsync and queues it for
// the applier.
func (s *store) logBatch(batch []*request) error {
	payloads := make([][]byte, len(batch))
	ops := make([]*op, len(batch))
	for i, r := range batch {
		p, err := encodeOp(r.op)
		if err != nil {
			return err
		}
		payloads[i], ops[i] = p, r.op
	}
	first, last, err := s.log.Append(payloads...)
	if err != nil {
		return Errorf(CodeInternal, "%s: writing the transaction log: %v", s.what(), err)
	}
	s.logged.Store(last)
	s.applyq <- applyItem{ops: ops, first: first}
	return nil
}

// applyBatches applies logged batches, in order, in one bbolt transaction
// per database that also records the applied LSN.
func (s *store) applyBatches(items []applyItem) error {
	type at struct {
		op  *op
		lsn uint64
	}
	byDB := map[string][]at{}
	var last uint64
	for _, it := range items {
		for i, o := range it.ops {
			last = it.first + uint64(i)
			byDB[o.DB] = append(byDB[o.DB], at{o, last})
		}
	}
	for name, ops := range byDB {
		db := s.dbs[name]
		if db == nil {
			return Errorf(CodeInternal, "%s has no database %s", s.what(), name)
		}
		err := db.Update(func(tx *bolt.Tx) error {
			for _, a := range ops {
				if err := a.op.apply(tx, a.lsn); err != nil {
					return err
				}
			}
			return setApplied(tx, ops[len(ops)-1].lsn)
		})
		if err != nil {
			return Errorf(CodeInternal, "%s: applying to %s: %v", s.what(), name, err)
		}
	}
	s.applied = last
	s.appliedTo.Store(last)
	return nil
}

// checkpoint records that every database is durable through s.applied
// (bbolt fsyncs each commit) and, with circular logging, deletes the
// generations wholly below it.
func (s *store) checkpoint() error {
	cp := xlog.Checkpoint{LSN: s.applied, Gen: s.log.CurrentGen()}
	if err := xlog.WriteCheckpoint(s.dir, "", cp); err != nil {
		return Errorf(CodeInternal, "%s: writing the checkpoint: %v", s.what(), err)
	}
	if s.circular {
		return s.removeGensThrough(s.log.CurrentGen() - 1)
	}
	return nil
}

// mkdirRetired creates a retired folder; tests make it fail as a full
// disk would.
var mkdirRetired = os.MkdirTemp

// removeGensThrough deletes the rolled generations up to and including
// last, except those a backup session still reads. Every op in them is
// applied and checkpointed: rolled generations end before s.applied.
func (s *store) removeGensThrough(last uint32) error {
	var gens []uint32
	for _, g := range s.log.Generations() {
		if g.Current || g.Gen > last || (s.pinned != 0 && g.Gen >= s.pinned) {
			continue
		}
		gens = append(gens, g.Gen)
	}
	if len(gens) == 0 {
		return nil
	}
	// The generations leave the log folder at once; their blocks are
	// freed in the background, as a restore's replaced databases are.
	// A full disk may refuse the folder: then they are deleted here,
	// which is when the space is wanted most.
	trash, err := mkdirRetired(s.dir, retiredPrefix)
	if err != nil {
		err = s.log.Remove(gens...)
	} else {
		err = s.log.RemoveInto(trash, gens...)
		s.removeRetired(trash)
	}
	if err != nil {
		return Errorf(CodeInternal, "%s: truncating logs: %v", s.what(), err)
	}
	return nil
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
		return Errorf(CodeNotRunning, "%s is not running", s.what())
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
		return Errorf(CodeInternal, "%s: %s: %v", s.what(), name, err)
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
