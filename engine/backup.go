package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"exbackup/catalog"
	"exbackup/exchange"
	"exbackup/tape"
)

// Backup backs up each selected store online onto one tape, one set per
// store in the order given. A set is complete, cataloged, and its server
// told to truncate its logs only once the set's end is on tape; a failure
// or a cancel aborts the set being written and stops the job, leaving the
// sets before it intact.
func (e *Engine) Backup(ctx context.Context, req BackupRequest, p *Progress) (res BackupResult, err error) {
	start := time.Now()
	defer func() { p.finish(err) }()
	if err := e.checkBackup(&req); err != nil {
		return res, err
	}
	log, err := e.openLog(req.Log, p)
	if err != nil {
		return res, err
	}
	defer log.close()

	t, ct, err := e.backupTape(&req, start)
	if err != nil {
		log.exception("Backup failed: %v", err)
		return res, err
	}
	name := t.Info().Name
	if err := e.claim(name); err != nil {
		return res, err
	}
	defer e.release(name)
	res.Tape = name
	p.update(func(s *Snapshot) { s.Tape = name })
	log.summary("Backup Status")
	log.summary("Operation: Backup")
	log.summary("Tape Name: \"%s\"", name)

	for i, ref := range req.Stores {
		if err := ctx.Err(); err != nil {
			log.exception("The operation was aborted by the user.")
			return res, fmt.Errorf("backup aborted before %s: %w", ref, err)
		}
		p.update(func(s *Snapshot) { s.Set = fmt.Sprintf("Set %d of %d: %s", i+1, len(req.Stores), ref) })
		set, files, bytes, err := e.backupStore(ctx, t, ct, ref, req, log, p)
		res.Files += files
		res.Bytes += bytes
		if err != nil {
			log.exception("Backup of \"%s\" failed: %v", storeDevice(ref.Server, ref.Store), err)
			return res, fmt.Errorf("backup of %s on %s (set %d of %d): %w", ref.Store.ServiceName(), ref.Server, i+1, len(req.Stores), err)
		}
		res.Sets = append(res.Sets, set)
	}
	res.Elapsed = time.Since(start)
	log.summary("Backed up %d sets, %s files", len(res.Sets), Thousands(int64(res.Files)))
	log.summary("Processed %s bytes in %s seconds.", Thousands(res.Bytes), seconds(res.Elapsed))

	if req.Verify {
		for _, n := range res.Sets {
			if _, err := e.verifySet(ctx, t, ct, n, log, p); err != nil {
				return res, err
			}
		}
		res.Verified = true
	}
	st := e.Settings()
	st.LastTape = name
	if err := e.SaveSettings(st); err != nil {
		log.exception("Could not remember the tape: %v", err)
	}
	return res, nil
}

func (e *Engine) checkBackup(req *BackupRequest) error {
	if len(req.Stores) == 0 {
		return errors.New("nothing to back up: select at least one Directory or Information Store")
	}
	if req.Type == "" {
		req.Type = exchange.Normal
	}
	if !req.Type.Valid() {
		return fmt.Errorf("unknown backup type %q (normal, copy, incremental, differential)", req.Type)
	}
	if req.HardwareCompression {
		return errors.New("hardware compression is not available: file tapes have none (use /hc:off)")
	}
	seen := map[StoreRef]bool{}
	for _, r := range req.Stores {
		if r.Server == "" || !r.Store.Valid() {
			return fmt.Errorf("%q is not a store: give DS \\\\SERVER or IS \\\\SERVER", r.String())
		}
		if seen[r] {
			return fmt.Errorf("%s is selected twice", r)
		}
		seen[r] = true
	}
	return nil
}

// CheckBackup refuses, before a backup starts, what the servers' last
// known states already refuse: a store whose service is not running, an
// incremental or differential backup of a server with circular logging on.
// A server whose state is not known is left to the backup itself.
func (o Org) CheckBackup(req BackupRequest) error {
	for _, s := range req.Stores {
		st, ok := o.Status[s.Server]
		if !ok {
			continue
		}
		if state := st.Service(s.Store); state != "" && state != exchange.Running {
			return fmt.Errorf("The %s of %s is %s: an online backup needs it running.", storeTitle(s.Store), s.Server, strings.ReplaceAll(string(state), "-", " "))
		}
		if (req.Type == exchange.Incremental || req.Type == exchange.Differential) && st.CircularLogging {
			return fmt.Errorf("%s uses circular logging: it keeps no logs for %s backup. Choose Normal or Copy.", s.Server, typeArticle(req.Type))
		}
	}
	return nil
}

func storeTitle(id exchange.StoreID) string {
	switch id {
	case exchange.StoreDS:
		return "Directory"
	case exchange.StoreIS:
		return "Information Store"
	}
	return string(id)
}

// backupTape opens the tape to append to, or creates it anew (Replace).
func (e *Engine) backupTape(req *BackupRequest, now time.Time) (Tape, catalog.Tape, error) {
	name := req.TapeName
	if req.Append {
		if name == "" {
			name = e.Settings().LastTape
		}
		if name != "" {
			if t, ct, err := e.openTape(name); err == nil {
				if ct.ID != 0 && ct.Restricted && ct.Owner != e.owner && !e.isAdmin() {
					return nil, ct, fmt.Errorf("tape %q is restricted to its owner %s or an administrator", name, ct.Owner)
				}
				if ct.ID == 0 {
					ct, err = e.cat.PutTape(tapeRecord(t.Info(), e.owner, false))
					if err != nil {
						return nil, ct, err
					}
				}
				return t, ct, nil
			} else if req.TapeName != "" && !errors.Is(err, tape.ErrNoTape) && !strings.Contains(err.Error(), "no such") {
				return nil, ct, err
			}
		}
	}
	if name == "" {
		name = DefaultTapeName(now)
	}
	if old, err := e.cat.TapeByName(name); err == nil {
		if old.Restricted && old.Owner != e.owner && !e.isAdmin() {
			return nil, old, fmt.Errorf("tape %q is restricted to its owner %s or an administrator: it cannot be replaced", name, old.Owner)
		}
	}
	t, err := e.lib.Create(name, tape.CreateOptions{Created: now})
	if err != nil {
		return nil, catalog.Tape{}, fmt.Errorf("creating tape %q: %w", name, err)
	}
	rec := tapeRecord(t.Info(), e.owner, req.Restrict)
	ct, err := e.cat.ReplaceTape(rec, nil)
	return t, ct, err
}

// backupStore writes one store's set.
func (e *Engine) backupStore(ctx context.Context, t Tape, ct catalog.Tape, ref StoreRef, req BackupRequest, log *jobLog, p *Progress) (int, int, int64, error) {
	c, err := e.client(ctx, ref.Server)
	if err != nil {
		return 0, 0, 0, err
	}
	info, err := c.BackupPrepare(ctx, ref.Store, req.Type)
	if err != nil {
		return 0, 0, 0, err
	}
	// Whatever happens from here, the session ends; only success truncates.
	ended := false
	endSession := func(success bool) error {
		ended = true
		ectx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return c.BackupEnd(ectx, info.Session, success)
	}
	defer func() {
		if !ended {
			if err := endSession(false); err != nil {
				log.exception("Warning: %s did not end the failed backup session (%v); it ends it on its own.", ref, err)
			}
		}
	}()
	var total int64
	for _, f := range info.Files {
		total += f.Size
	}
	p.update(func(s *Snapshot) { s.TotalBytes += total; s.Dirs++ })

	envJSON, err := json.Marshal(info.Env)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("the restore environment of %s: %w", ref, err)
	}
	now := time.Now()
	sw, err := t.AppendSet(tape.SetOptions{Type: tapeType(req.Type), Description: req.Description, Owner: e.owner,
		Restricted: req.Restrict, Properties: map[string]string{envProperty: string(envJSON)}, Created: now})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("tape %q: %w", t.Info().Name, err)
	}
	committed := false
	defer func() {
		if !committed {
			if err := sw.Abort(); err != nil {
				log.exception("Warning: tape %q: the unfinished set #%d could not be closed (%v); it stays aborted on tape.", t.Info().Name, sw.Number(), err)
			}
		}
	}()
	dev := storeDevice(ref.Server, ref.Store)
	log.summary("Backup of \"%s\"", dev)
	log.summary("Backup set #%d on tape #%d", sw.Number(), t.Info().Sequence)
	if req.Description != "" {
		log.summary("Backup description: %q", req.Description)
	}
	log.summary("Backup Type: %s", TypeTitle(req.Type))
	log.summary("Backup started on %s at %s.", ntDate(now), ntTime(now))
	if err := sw.BeginVolume(dev, ref.Server); err != nil {
		return 0, 0, 0, fmt.Errorf("tape %q: %w", t.Info().Name, err)
	}
	var files int
	var bytes int64
	for _, f := range info.Files {
		if err := ctx.Err(); err != nil {
			return 0, files, bytes, fmt.Errorf("aborted during %s: %w", ref, err)
		}
		p.update(func(s *Snapshot) { s.Current = f.Name })
		rc, err := c.BackupRead(ctx, info.Session, f.Name)
		if err != nil {
			return 0, files, bytes, err
		}
		cr := &countingReader{r: rc, p: p}
		_, err = sw.AddFile(f.Name, f.Size, now, cr)
		if err == nil {
			err = streamEnd(rc)
		}
		rc.Close()
		bytes += cr.n
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("aborted during %s: %w", f.Name, ctx.Err())
			}
			return 0, files, bytes, fmt.Errorf("%s on %s: %w", f.Name, ref, err)
		}
		files++
		p.update(func(s *Snapshot) { s.Files++ })
		log.detail("  %s  %s bytes", f.Name, Thousands(f.Size))
	}
	set, err := sw.End()
	if err != nil {
		return 0, files, bytes, fmt.Errorf("tape %q: ending set %d: %w", t.Info().Name, sw.Number(), err)
	}
	committed = true
	// The set is whole on tape: now the server may mark and truncate.
	if err := endSession(true); err != nil {
		log.exception("Warning: %s did not record the backup (%v); its logs were not truncated. The set on tape is complete.", ref, err)
	}
	rec := setRecord(set)
	rec.Set.TapeID = ct.ID
	if _, err := e.cat.AddSet(rec.Set, rec.Entries); err != nil {
		log.exception("Warning: the set is on tape but the catalog could not record it (%v): catalog the tape again.", err)
	} else {
		e.stampTape(ct.ID, t.Path())
	}
	end := time.Now()
	log.summary("Backup completed on %s at %s.", ntDate(end), ntTime(end))
	log.summary("Backed up %d files", files)
	log.summary("Processed %s bytes in %s seconds.", Thousands(bytes), seconds(end.Sub(now)))
	return set.Number, files, bytes, nil
}

// streamEnd reads a file's stream past the size the server announced,
// where it must end. Reading its end checks the server's trailer (the
// checksum and length of everything sent), and a stream read to its end
// leaves its connection free for the next file.
func streamEnd(r io.Reader) error {
	var b [1]byte
	n, err := io.ReadFull(r, b[:])
	switch {
	case n > 0:
		return errors.New("the server sent more than the size it announced")
	case err == io.EOF:
		return nil
	default:
		return err
	}
}

// countingReader reports the bytes that pass through it.
type countingReader struct {
	r io.Reader
	p *Progress
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.n += int64(n)
		c.p.update(func(s *Snapshot) { s.Bytes += int64(n) })
	}
	return n, err
}
