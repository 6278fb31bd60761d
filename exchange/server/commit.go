package server

import (
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"exbackup/exchange"
	"exbackup/exchange/xlog"
)

// The committer and the applier of a store (see store), and the
// checkpoints and log truncation that run between their batches.

// submit sends a request to the committer and waits for it.
func (s *store) submit(r *request) error {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		if b := s.getBroken(); b != nil {
			return exchange.Errorf(exchange.CodeNotRunning, "%s stopped after a failure: %v", s.what(), b)
		}
		return exchange.Errorf(exchange.CodeNotRunning, "%s is not running", s.what())
	}
	reqs, quit := s.reqs, s.quit
	s.mu.Unlock()
	if r.op != nil {
		s.waiting.Add(1)
		defer s.waiting.Add(-1)
	}
	r.done = make(chan error, 1)
	select {
	case reqs <- r:
	case <-quit:
		return exchange.Errorf(exchange.CodeNotRunning, "%s is stopping", s.what())
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
				carry.done <- exchange.Errorf(exchange.CodeNotRunning, "%s stopped after a failure: %v", s.what(), err)
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
			r.done <- exchange.Errorf(exchange.CodeNotRunning, "%s is not running", s.what())
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
		return exchange.Errorf(exchange.CodeInternal, "%s: writing the transaction log: %w", s.what(), err)
	}
	for i, o := range ops {
		o.lsn = first + uint64(i)
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
			return exchange.Errorf(exchange.CodeInternal, "%s has no database %s", s.what(), name)
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
			return exchange.Errorf(exchange.CodeInternal, "%s: applying to %s: %w", s.what(), name, err)
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
		return exchange.Errorf(exchange.CodeInternal, "%s: writing the checkpoint: %w", s.what(), err)
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
		return exchange.Errorf(exchange.CodeInternal, "%s: truncating logs: %w", s.what(), err)
	}
	return nil
}
