package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/xlog"
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
	keys  tape.KeyProvider
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
// through the API and each set is staged on the server; Start Service After
// Restore on the last set starts the service, which runs the chain's
// recovery (hard recovery, roll-forward, swap). Without it the store stays
// restore-pending, and a later operation may add the chain's next sets. A
// set that fails is aborted by the server; a service this restore stopped
// is started again when nothing stays staged.
func (e *Engine) Restore(ctx context.Context, req RestoreRequest, p *Progress) (res RestoreResult, err error) {
	start := time.Now()
	defer func() { p.finish(err) }()
	sets, warnings, err := e.plan(req)
	if err != nil {
		return res, err
	}
	if err := checkKeys(sets, req.Keys); err != nil {
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
	run := &restoreRun{wasRunning: map[string]bool{}, stopped: map[string]bool{}, onBusy: req.OnBackupStreaming}
	for i, ps := range sets {
		if err := ctx.Err(); err != nil {
			log.exception("The operation was aborted by the user.")
			return res, fmt.Errorf("restore aborted before set %d: %w", ps.Set, err)
		}
		p.update(func(s *Snapshot) {
			s.Tape = ps.Tape
			s.Set = setTitle(ps.Set, ps.Tape, ps.env.Store.ServiceName()+" to "+ps.dest, i+1, len(sets))
		})
		out, err := e.restoreSet(ctx, ps, run, log, p)
		res.Files += out.files
		res.Bytes += out.bytes
		res.Messages = append(res.Messages, out.msgs...)
		res.Warnings = append(res.Warnings, out.warnings...)
		if err != nil {
			log.exception("Restore of set %d to %s failed: %v", ps.Set, ps.dest, err)
			res.Messages = append(res.Messages, e.afterFailure(ps, run, log)...)
			return res, fmt.Errorf("set %d of tape %q to %s: %w", ps.Set, ps.Tape, ps.dest, err)
		}
		res.Sets++
	}
	res.Elapsed = time.Since(start)
	log.summary("Restored %s, %s", Plural(res.Sets, "set", "sets"), Plural(res.Files, "file", "files"))
	log.summary("Processed %s bytes in %s seconds.", Thousands(res.Bytes), seconds(res.Elapsed))
	return res, nil
}

// restoreRun is what one restore operation remembers across its sets.
type restoreRun struct {
	wasRunning map[string]bool // dest → its IS was running when its Directory's chain began
	stopped    map[string]bool // dest+store → this restore stopped the service
	onBusy     func(ctx context.Context, busy *BackupStreamingError) bool
}

func runKey(dest string, id exchange.StoreID) string { return dest + "\x00" + string(id) }

// setOutcome is what one set's restore did.
type setOutcome struct {
	files    int
	bytes    int64
	msgs     []string
	warnings []string
}

// afterFailure settles a store whose set failed. The server has aborted
// the set and kept what earlier operations staged; a service this restore
// stopped is started again when nothing is staged, so the store runs on
// the data it had.
func (e *Engine) afterFailure(ps *plannedSet, run *restoreRun, log *jobLog) []string {
	store := ps.env.Store
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := e.client(ctx, ps.dest)
	if err != nil {
		return nil
	}
	st, err := c.Status(ctx)
	if err != nil {
		return nil
	}
	if r, ok := st.Restore(store); ok && len(r.Sets) > 0 {
		m := fmt.Sprintf("The %s on %s stays restore-pending with the %d sets staged before this one: restore this set again, start the service to recover what is staged, or cancel the restore.", store.ServiceName(), ps.dest, len(r.Sets))
		if len(r.Sets) == 1 {
			m = fmt.Sprintf("The %s on %s stays restore-pending with the set staged before this one: restore this set again, start the service to recover what is staged, or cancel the restore.", store.ServiceName(), ps.dest)
		}
		log.summary("%s", m)
		return []string{m}
	}
	if !run.stopped[runKey(ps.dest, store)] || st.Service(store) == exchange.Running {
		return nil
	}
	var ids []exchange.StoreID
	if store == exchange.StoreDS {
		ids = append(ids, exchange.StoreDS)
		if run.wasRunning[ps.dest] {
			ids = append(ids, exchange.StoreIS)
		}
	} else {
		ids = append(ids, store)
	}
	var msgs []string
	for _, id := range ids {
		if _, err := c.StartService(ctx, id); err != nil {
			log.exception("The %s on %s did not start again: %v", id.ServiceName(), ps.dest, err)
			continue
		}
		m := fmt.Sprintf("The %s on %s was started again with its data as it was before the restore.", id.ServiceName(), ps.dest)
		log.summary("%s", m)
		msgs = append(msgs, m)
	}
	return msgs
}

func (e *Engine) restoreSet(ctx context.Context, ps *plannedSet, run *restoreRun, log *jobLog, p *Progress) (setOutcome, error) {
	var out setOutcome
	c, err := e.client(ctx, ps.dest)
	if err != nil {
		return out, err
	}
	store := ps.env.Store
	now := time.Now()
	log.summary("Restore of \"%s\" to %s", storeDevice(ps.env.Server, store), ps.dest)
	log.summary("Backup set #%d on tape %q, %s backup made %s at %s", ps.Set, ps.Tape, TypeTitle(ps.env.Type), ntDate(ps.set.Created), ntTime(ps.set.Created))
	log.summary("Restore started on %s at %s.", ntDate(now), ntTime(now))
	log.summary("Verify After Restore: %s", yesNo(ps.Verify))
	start := yesNo(ps.Start)
	if ps.Start && !ps.last {
		start = "after the last set of this chain"
	}
	log.summary("Start Service After Restore: %s", start)
	if ps.first {
		st, err := c.Status(ctx)
		if err != nil {
			return out, err
		}
		if store == exchange.StoreDS {
			run.wasRunning[ps.dest] = st.IS == exchange.Running
		}
		if st.Service(store) == exchange.Running {
			log.summary("Stopping the %s on %s.", store.ServiceName(), ps.dest)
			if err := e.stopForRestore(ctx, c, ps.dest, store, run, log, p); err != nil {
				return out, err
			}
			run.stopped[runKey(ps.dest, store)] = true
		}
	}
	skip := e.logsNotReplayed(ps)
	info, err := c.RestorePrepare(ctx, exchange.RestoreRequest{Env: ps.env, Erase: ps.Erase, Private: ps.Private,
		Public: ps.Public, Last: ps.last, Start: ps.last && ps.Start, Skip: skip})
	if err != nil {
		return out, err
	}
	out.msgs = append(out.msgs, info.Warnings...)
	for _, w := range info.Warnings {
		log.summary("Warning: %s", w)
	}
	skipped := map[string]bool{}
	for _, name := range skip {
		skipped[name] = true
	}
	for _, ent := range ps.set.Entries {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("aborted during %s: %w", ent.Path, err)
		}
		if skipped[ent.Path] {
			log.detail("  %s  %s bytes: not sent, recovery does not replay it", ent.Path, Thousands(ent.Size))
			out.files++
			p.update(func(s *Snapshot) { s.Files++; s.Bytes += ent.Size })
			continue
		}
		p.update(func(s *Snapshot) { s.Current = ent.Path })
		er, err := ps.tape.OpenEntry(ent, tape.ReadOptions{Fast: !ps.Verify, Keys: ps.keys})
		if err != nil {
			return out, err
		}
		cr := counting(er, p)
		err = c.RestoreWrite(ctx, info.Session, ent.Path, cr)
		er.Close()
		out.bytes += cr.count()
		if err != nil {
			return out, fmt.Errorf("%s: %w", ent.Path, err)
		}
		out.files++
		p.update(func(s *Snapshot) { s.Files++ })
		log.detail("  %s  %s bytes", ent.Path, Thousands(ent.Size))
	}
	res, err := c.RestoreComplete(ctx, info.Session)
	for _, m := range res.Messages {
		log.summary("%s", m)
	}
	for _, w := range res.Warnings {
		log.summary("Warning: %s", w)
	}
	out.msgs = append(out.msgs, res.Messages...)
	out.warnings = append(out.warnings, res.Warnings...)
	if err != nil {
		return out, err
	}
	if ps.last && ps.Start && store == exchange.StoreDS && run.wasRunning[ps.dest] {
		// Stopping the Directory stopped the Information Store with it.
		started, err := c.StartService(ctx, exchange.StoreIS)
		if err != nil {
			log.exception("The Information Store on %s did not start again: %v", ps.dest, err)
		}
		for _, w := range started.Warnings {
			log.summary("Warning: %s", w)
		}
		out.msgs = append(out.msgs, started.Messages...)
		out.warnings = append(out.warnings, started.Warnings...)
	}
	end := time.Now()
	log.summary("Restore completed on %s at %s.", ntDate(end), ntTime(end))
	log.summary("Restored %s", Plural(out.files, "file", "files"))
	log.summary("Processed %s bytes in %s seconds.", Thousands(out.bytes), seconds(end.Sub(now)))
	return out, nil
}

// stopForRestore stops the service a chain restores into. When a backup
// of it streams, the restore's OnBackupStreaming decides whether to wait
// for the backup to end; the wait shows as the current activity.
func (e *Engine) stopForRestore(ctx context.Context, c Server, dest string, store exchange.StoreID, run *restoreRun, log *jobLog, p *Progress) error {
	err := e.stopService(ctx, c, dest, store)
	var busy *BackupStreamingError
	if !errors.As(err, &busy) || run.onBusy == nil || !run.onBusy(ctx, busy) {
		return err
	}
	log.summary("%s", busy.Waiting())
	p.update(func(s *Snapshot) { s.Current = busy.Waiting() })
	defer p.update(func(s *Snapshot) { s.Current = "" })
	if err := e.stopAfterBackup(ctx, c, dest, store); err != nil {
		return err
	}
	log.summary("The backup has ended; the %s on %s is stopped.", store.ServiceName(), dest)
	return nil
}

// logsNotReplayed lists the log generations of a full set that its
// recovery never replays: every one before the last that starts at or
// before the LSN after the set's base. A Copy set carries every log the
// server held, most of them older than its databases; they are left on
// the tape, and the server checks the claim against the ones it gets.
// Only the headers are read here; anything unreadable sends every log.
func (e *Engine) logsNotReplayed(ps *plannedSet) []string {
	if !ps.env.Type.Full() {
		return nil
	}
	type gen struct {
		name  string
		first uint64
	}
	var gens []gen
	for _, ent := range ps.set.Entries {
		if !strings.HasPrefix(ent.Path, "edb") || !strings.HasSuffix(ent.Path, ".log") || ent.Size < xlog.HeaderSize {
			continue
		}
		h, err := readLogHeader(ps.tape, ent)
		if err != nil {
			return nil
		}
		gens = append(gens, gen{ent.Path, h.FirstLSN})
	}
	start := -1
	for i, g := range gens {
		if g.first <= ps.env.BaseLSN+1 {
			start = i
		}
	}
	var skip []string
	for i := 0; i < start; i++ {
		skip = append(skip, gens[i].name)
	}
	return skip
}

// readLogHeader reads the header of a log generation on tape, in small
// pieces so that nothing else of it is read ahead.
func readLogHeader(t Tape, ent tape.Entry) (xlog.FileHeader, error) {
	r, err := t.OpenEntry(ent, tape.ReadOptions{Fast: true, ChunkSize: 4096})
	if err != nil {
		return xlog.FileHeader{}, err
	}
	defer r.Close()
	b := make([]byte, xlog.HeaderSize)
	if _, err := io.ReadFull(r, b); err != nil {
		return xlog.FileHeader{}, err
	}
	return xlog.ParseHeader(ent.Path, b)
}
