package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"exbackup/exchange"
	"exbackup/tape"
)

// plannedSet is one set of a restore with everything looked up.
type plannedSet struct {
	RestoreSet
	tape  Tape
	set   tape.Set
	env   exchange.RestoreEnv
	dest  string
	last  bool // the last set of its chain in this restore
	first bool // the first set of its chain in this restore
}

// plan looks up every set, checks what only the tape can tell, and applies
// the rules of PlanRestore.
func (e *Engine) plan(req RestoreRequest) ([]*plannedSet, []string, error) {
	if len(req.Sets) == 0 {
		return nil, nil, errors.New("no set selected to restore")
	}
	var out []*plannedSet
	var items []PlanSet
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
		out = append(out, &plannedSet{RestoreSet: rs, tape: t, set: set, env: env})
		items = append(items, PlanSet{RestoreSet: rs, Server: env.Server, Store: env.Store, Type: env.Type})
	}
	var warnings []string
	for i, pg := range PlanRestore(items) {
		ps := out[i]
		if pg.Err != nil {
			return nil, nil, fmt.Errorf("Set %d (%s on %s): %w", ps.Set, ps.env.Store.ServiceName(), ps.env.Server, pg.Err)
		}
		ps.dest, ps.first, ps.last = pg.Destination, pg.First, pg.Last
		if ps.env.Store == exchange.StoreDS {
			ps.Private, ps.Public = false, false
		}
		warnings = append(warnings, pg.Warnings...)
	}
	warnings = append(warnings, e.laterSets(out)...)
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
		if err != nil {
			w = append(w, fmt.Sprintf("The catalog could not tell whether it holds later backups of %s on %s (%v).", ps.env.Store.ServiceName(), ps.env.Server, err))
			continue
		}
		if len(chain) == 0 {
			continue
		}
		newest := chain[len(chain)-1]
		if newest.HighGen > ps.env.HighGen && !newest.Created.Before(ps.set.Created) {
			w = append(w, fmt.Sprintf("The catalog holds a later backup of %s on %s (set %d, %s): it is not part of this restore.", ps.env.Store.ServiceName(), ps.env.Server, newest.Number, newest.Created.Local().Format("1/2/2006 3:04 PM")))
		}
	}
	return w
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
	wasRunning := map[string]bool{} // dest → its IS was running when its Directory's chain began
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
	log.summary("Backup set #%d on tape %q, %s backup made %s at %s", ps.Set, ps.Tape, TypeTitle(ps.env.Type), ntDate(ps.set.Created), ntTime(ps.set.Created))
	log.summary("Restore started on %s at %s.", ntDate(now), ntTime(now))
	if ps.first {
		st, err := c.Status(ctx)
		if err != nil {
			return 0, 0, nil, err
		}
		if store == exchange.StoreDS {
			wasRunning[ps.dest] = st.IS == exchange.Running
		}
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
		if err := c.StartService(ctx, exchange.StoreIS); err != nil {
			log.exception("The Information Store on %s did not start again: %v", ps.dest, err)
		}
	}
	end := time.Now()
	log.summary("Restore completed on %s at %s.", ntDate(end), ntTime(end))
	log.summary("Restored %d files", files)
	log.summary("Processed %s bytes in %s seconds.", Thousands(bytes), seconds(end.Sub(now)))
	return files, bytes, msgs, nil
}
