package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"exbackup/catalog"
	"exbackup/exchange"
	"exbackup/tape"
)

// plannedSet is one set of a restore with everything looked up.
type plannedSet struct {
	RestoreSet
	tape  *tape.Tape
	set   tape.Set
	env   exchange.RestoreEnv
	dest  string
	last  bool // the last set of its chain in this restore
	first bool // the first set of its chain in this restore
}

// plan looks up every set, checks the rules that need no server, and marks
// where each chain (sets of one store of one destination) begins and ends.
func (e *Engine) plan(req RestoreRequest) ([]*plannedSet, []string, error) {
	if len(req.Sets) == 0 {
		return nil, nil, errors.New("no set selected to restore")
	}
	var out []*plannedSet
	var warnings []string
	for _, rs := range req.Sets {
		t, ct, err := e.openTape(rs.Tape)
		if err != nil {
			return nil, nil, err
		}
		set, err := t.Set(rs.Set)
		if err != nil {
			return nil, nil, fmt.Errorf("tape %q set %d: %w", rs.Tape, rs.Set, err)
		}
		if !set.Restorable() {
			why := set.State.String()
			if set.Err != nil {
				why += ": " + set.Err.Error()
			}
			return nil, nil, fmt.Errorf("tape %q set %d cannot be restored (%s)", rs.Tape, rs.Set, why)
		}
		if err := e.mayRead(rs.Tape, set.Restricted || ct.Restricted, firstNonEmpty(set.Owner, ct.Owner)); err != nil {
			return nil, nil, err
		}
		env, ok := setEnv(set)
		if !ok {
			return nil, nil, fmt.Errorf("tape %q set %d is not an Exchange store backup made by exbackup: it cannot be restored to a server", rs.Tape, rs.Set)
		}
		ps := &plannedSet{RestoreSet: rs, tape: t, set: set, env: env, dest: firstNonEmpty(rs.Destination, env.Server)}
		what := fmt.Sprintf("Set %d (%s on %s)", rs.Set, env.Store.ServiceName(), env.Server)
		if env.Store == exchange.StoreDS {
			if ps.dest != env.Server {
				return nil, nil, fmt.Errorf("%s: the Directory restores only to its original server %s", what, env.Server)
			}
			ps.Private, ps.Public = false, false
		} else if env.Type.Full() {
			if !ps.Private && !ps.Public {
				return nil, nil, fmt.Errorf("%s: choose Private, Public or both", what)
			}
			if ps.dest != env.Server && !(ps.Erase && ps.Private && ps.Public) {
				return nil, nil, fmt.Errorf("%s: restoring to another server (%s) requires Erase all existing data and both Private and Public", what, ps.dest)
			}
		}
		out = append(out, ps)
	}
	// Chains: consecutive sets of one store onto one destination.
	key := func(p *plannedSet) string { return p.dest + "\x00" + string(p.env.Store) }
	for i, ps := range out {
		ps.first = i == 0 || key(out[i-1]) != key(ps)
		ps.last = i == len(out)-1 || key(out[i+1]) != key(ps)
		if ps.first && !ps.env.Type.Full() {
			warnings = append(warnings, fmt.Sprintf("Set %d is %s backup of %s: restore the full set of its chain first, or the server will refuse it (\"You cannot restore an incremental backup until a full backup has been restored\").", ps.Set, article(ps.env.Type), ps.env.Store.ServiceName()))
		}
		if !ps.first && ps.env.Type.Full() {
			warnings = append(warnings, fmt.Sprintf("Set %d is a full backup: it starts its chain again, and the sets before it for %s on %s are discarded.", ps.Set, ps.env.Store.ServiceName(), ps.dest))
		}
		if !ps.last && ps.Start {
			warnings = append(warnings, fmt.Sprintf("Set %d is not the last of its chain: the service starts only after the last set.", ps.Set))
		}
	}
	if chains := e.laterSets(out); len(chains) > 0 {
		warnings = append(warnings, chains...)
	}
	return out, warnings, nil
}

// laterSets warns when the catalog holds incrementals or differentials
// newer than the last set of a chain, which the restore would leave out.
func (e *Engine) laterSets(sets []*plannedSet) []string {
	var w []string
	for _, ps := range sets {
		if !ps.last {
			continue
		}
		chain, err := e.cat.ChainFor(ps.env.Server, string(ps.env.Store))
		if err != nil || len(chain) == 0 {
			continue
		}
		newest := chain[len(chain)-1]
		if newest.HighGen > ps.env.HighGen && !newest.Created.Before(ps.set.Created) {
			w = append(w, fmt.Sprintf("The catalog holds a later backup of %s on %s (set %d, %s): it is not part of this restore.", ps.env.Store.ServiceName(), ps.env.Server, newest.Number, newest.Created.Local().Format("1/2/2006 3:04 PM")))
		}
	}
	return w
}

func article(t exchange.BackupType) string {
	if t == exchange.Incremental {
		return "an incremental"
	}
	return "a " + string(t)
}

// CheckRestore checks a restore before it starts: the errors that would
// refuse it, and warnings for the administrator to confirm.
func (e *Engine) CheckRestore(req RestoreRequest) ([]string, error) {
	_, w, err := e.plan(req)
	return w, err
}

// Restore restores the sets in order. For each chain the service is stopped
// through the API, each set is staged, and the last set recovers, swaps the
// live files and (if asked) starts the service.
func (e *Engine) Restore(ctx context.Context, req RestoreRequest, p *Progress) (res RestoreResult, err error) {
	start := time.Now()
	defer func() { p.finish(err) }()
	sets, warnings, err := e.plan(req)
	if err != nil {
		return res, err
	}
	log, err := e.openLog(req.Log, p)
	if err != nil {
		return res, err
	}
	defer log.close()
	log.summary("Restore Status")
	for _, w := range warnings {
		log.summary("Warning: %s", w)
	}
	var total int64
	for _, ps := range sets {
		total += ps.set.Bytes
	}
	p.update(func(s *Snapshot) { s.TotalBytes = total })
	wasRunning := map[string]bool{} // dest+store → IS was running before a DS restore
	for i, ps := range sets {
		if err := ctx.Err(); err != nil {
			log.exception("The operation was aborted by the user.")
			return res, fmt.Errorf("restore aborted before set %d: %w", ps.Set, err)
		}
		p.update(func(s *Snapshot) {
			s.Tape = ps.Tape
			s.Set = fmt.Sprintf("Set %d of %d: %s on %s", i+1, len(sets), ps.env.Store.ServiceName(), ps.dest)
		})
		files, bytes, msgs, err := e.restoreSet(ctx, ps, wasRunning, log, p)
		res.Files += files
		res.Bytes += bytes
		res.Messages = append(res.Messages, msgs...)
		if err != nil {
			log.exception("Restore of set %d to %s failed: %v", ps.Set, ps.dest, err)
			return res, fmt.Errorf("set %d of tape %q to %s: %w", ps.Set, ps.Tape, ps.dest, err)
		}
		res.Sets++
	}
	res.Elapsed = time.Since(start)
	log.summary("Restored %d sets, %s files", res.Sets, Thousands(int64(res.Files)))
	log.summary("Processed %s bytes in %s seconds.", Thousands(res.Bytes), seconds(res.Elapsed))
	return res, nil
}

func (e *Engine) restoreSet(ctx context.Context, ps *plannedSet, wasRunning map[string]bool, log *jobLog, p *Progress) (int, int64, []string, error) {
	c, err := e.client(ctx, ps.dest)
	if err != nil {
		return 0, 0, nil, err
	}
	store := ps.env.Store
	now := time.Now()
	log.summary("Restore of \"%s\" to %s", storeDevice(ps.env.Server, store), ps.dest)
	log.summary("Backup set #%d on tape %q, %s backup made %s at %s", ps.Set, ps.Tape, titleType(ps.env.Type), ntDate(ps.set.Created), ntTime(ps.set.Created))
	log.summary("Restore started on %s at %s.", ntDate(now), ntTime(now))
	if ps.first {
		st, err := c.Status(ctx)
		if err != nil {
			return 0, 0, nil, err
		}
		wasRunning[ps.dest] = st.IS == exchange.Running
		if st.Service(store) == exchange.Running {
			log.summary("Stopping the %s on %s.", store.ServiceName(), ps.dest)
			if err := c.StopService(ctx, store); err != nil {
				return 0, 0, nil, err
			}
		}
	}
	info, err := c.RestorePrepare(ctx, exchange.RestoreRequest{Env: ps.env, Erase: ps.Erase, Private: ps.Private,
		Public: ps.Public, Last: ps.last, Start: ps.last && ps.Start})
	if err != nil {
		return 0, 0, nil, err
	}
	msgs := append([]string(nil), info.Warnings...)
	for _, w := range info.Warnings {
		log.summary("Warning: %s", w)
	}
	var files int
	var bytes int64
	for _, ent := range ps.set.Entries {
		if err := ctx.Err(); err != nil {
			return files, bytes, msgs, fmt.Errorf("aborted during %s: %w", ent.Path, err)
		}
		p.update(func(s *Snapshot) { s.Current = ent.Path })
		er, err := ps.tape.OpenEntry(ent, tape.ReadOptions{Fast: !ps.Verify})
		if err != nil {
			return files, bytes, msgs, err
		}
		cr := &countingReader{r: er, p: p}
		err = c.RestoreWrite(ctx, info.Session, ent.Path, cr)
		er.Close()
		bytes += cr.n
		if err != nil {
			return files, bytes, msgs, fmt.Errorf("%s: %w", ent.Path, err)
		}
		files++
		p.update(func(s *Snapshot) { s.Files++ })
		log.detail("  %s  %s bytes", ent.Path, Thousands(ent.Size))
	}
	out, err := c.RestoreComplete(ctx, info.Session)
	if err != nil {
		return files, bytes, msgs, err
	}
	for _, m := range out.Messages {
		log.summary("%s", m)
	}
	msgs = append(msgs, out.Messages...)
	if ps.last && ps.Start && store == exchange.StoreDS && wasRunning[ps.dest] {
		// Stopping the Directory stopped the Information Store with it.
		if _, err := c.StartService(ctx, exchange.StoreIS); err != nil {
			log.exception("The Information Store on %s did not start again: %v", ps.dest, err)
		}
	}
	end := time.Now()
	log.summary("Restore completed on %s at %s.", ntDate(end), ntTime(end))
	log.summary("Restored %d files", files)
	log.summary("Processed %s bytes in %s seconds.", Thousands(bytes), seconds(end.Sub(now)))
	return files, bytes, msgs, nil
}

// Verify re-reads a set, or every set of a tape, and checks every hash.
func (e *Engine) Verify(ctx context.Context, req VerifyRequest, p *Progress) (res VerifyResult, err error) {
	defer func() { p.finish(err) }()
	t, ct, err := e.openTape(req.Tape)
	if err != nil {
		return res, err
	}
	sets, err := t.Sets()
	if err != nil {
		return res, fmt.Errorf("tape %q: %w", req.Tape, err)
	}
	log, err := e.openLog(req.Log, p)
	if err != nil {
		return res, err
	}
	defer log.close()
	log.summary("Verify Status")
	log.summary("Tape Name: %q", req.Tape)
	p.update(func(s *Snapshot) { s.Tape = req.Tape })
	var todo []tape.Set
	for _, s := range sets {
		if req.Set == 0 || s.Number == req.Set {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return res, fmt.Errorf("tape %q has no set %d", req.Tape, req.Set)
	}
	var total int64
	for _, s := range todo {
		total += s.Bytes
	}
	p.update(func(s *Snapshot) { s.TotalBytes = total })
	var failed []string
	for _, s := range todo {
		if err := e.mayRead(req.Tape, s.Restricted || ct.Restricted, firstNonEmpty(s.Owner, ct.Owner)); err != nil {
			return res, err
		}
		if s.State == tape.SetAborted {
			msg := fmt.Sprintf("set %d: aborted (never finished); nothing to verify", s.Number)
			log.exception("%s", msg)
			res.Corrupt = append(res.Corrupt, msg)
			continue
		}
		rep, err := e.verifySet(ctx, t, ct, s.Number, log, p)
		res.Sets++
		res.Files += rep.files
		res.Bytes += rep.bytes
		if err != nil {
			if ctx.Err() != nil {
				return res, err
			}
			res.Corrupt = append(res.Corrupt, rep.corrupt...)
			failed = append(failed, err.Error())
		}
	}
	if len(res.Corrupt) > 0 {
		return res, fmt.Errorf("verify found damage: %s", strings.Join(res.Corrupt, "; "))
	}
	return res, nil
}

type verifyReport struct {
	files   int
	bytes   int64
	corrupt []string
}

func (e *Engine) verifySet(ctx context.Context, t *tape.Tape, ct catalog.Tape, number int, log *jobLog, p *Progress) (verifyReport, error) {
	var rep verifyReport
	start := time.Now()
	log.summary("Verify of set #%d started on %s at %s.", number, ntDate(start), ntTime(start))
	var last int64
	var cur string
	vr, err := t.Verify(ctx, number, tape.VerifyOptions{Progress: func(en tape.Entry, done int64) {
		if en.Path != cur {
			cur, last = en.Path, 0
			p.update(func(s *Snapshot) { s.Current = en.Path; s.Files++ })
		}
		p.update(func(s *Snapshot) { s.Bytes += done - last })
		last = done
	}})
	rep.files, rep.bytes = vr.Files, vr.Bytes
	if err != nil {
		failed := vr.Failed
		if len(failed) == 0 {
			failed = []error{err}
		}
		for _, f := range failed {
			rep.corrupt = append(rep.corrupt, fmt.Sprintf("set %d: %v", number, f))
		}
		p.update(func(s *Snapshot) { s.Corrupt += len(failed) })
		log.exception("Verify of set #%d on tape %q failed: %v", number, t.Info().Name, err)
		e.markVerified(ct, number, false)
		return rep, err
	}
	end := time.Now()
	log.summary("Verify completed on %s at %s: %d files, %s bytes, no differences.", ntDate(end), ntTime(end), rep.files, Thousands(rep.bytes))
	e.markVerified(ct, number, true)
	return rep, nil
}

func (e *Engine) markVerified(ct catalog.Tape, number int, ok bool) {
	if ct.ID == 0 {
		return
	}
	sets, err := e.cat.Sets(ct.ID)
	if err != nil {
		return
	}
	for _, s := range sets {
		if s.Number == number {
			if ok {
				s.Verified = time.Now().UTC()
			} else {
				s.Verified = time.Time{}
				s.State = catalog.StateDamaged
			}
			e.cat.UpdateSet(s)
		}
	}
}
