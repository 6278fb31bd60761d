package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"time"

	"filippo.io/age"

	"exbackup/catalog"
	"exbackup/exchange"
	"exbackup/exchange/wire"
	"exbackup/tape"
)

// Backup backs up each selected store online onto one tape, one set per
// store in the order given.
//
// Appending, a set is complete, cataloged, and its server told to truncate
// its logs once the set's end is on tape; a failure or a cancel aborts the
// set being written and stops the job, leaving the sets before it intact.
//
// Replacing, nothing of the old tape is touched until the whole job has
// succeeded: the new tape is written beside it (tape.Stage), put in its
// place in one rename once all its sets are whole, and only then are the
// old tape's records replaced (in one catalog transaction) and the servers
// told to truncate their logs. A failed Replace leaves the old tape, its
// records and the servers' logs as they were.
//
// Before writing anything the job holds the tape against this process's
// other jobs and other processes (Library.Lock), and asks each server
// whether its stores can be backed up (Org.CheckBackup).
func (e *Engine) Backup(ctx context.Context, req BackupRequest, p *Progress) (res BackupResult, err error) {
	start := time.Now()
	defer func() { p.finish(err) }()
	if err := e.checkBackup(&req); err != nil {
		return res, err
	}
	var enc []age.Recipient
	if req.Encrypt {
		if enc, err = e.recipients(); err != nil {
			return res, err
		}
	}
	log, err := e.openLog(req.Log, p)
	if err != nil {
		return res, err
	}
	defer log.close()

	name := e.backupTapeName(req, start)
	if err := e.claim(name); err != nil {
		return res, err
	}
	defer e.release(name)
	unlock, err := e.lib.Lock(name, "backup")
	if err != nil {
		log.exception("Backup failed: %v", err)
		return res, err
	}
	defer unlock()
	if err := e.preflight(ctx, req); err != nil {
		log.exception("Backup failed: %v", err)
		return res, err
	}

	t, ct, staged, err := e.backupTape(&req, name, start)
	if err != nil {
		log.exception("Backup failed: %v", err)
		return res, err
	}
	var pending []*writtenSet // a Replace's sets, until the new tape is in place
	committed := staged == nil
	defer func() {
		if committed {
			return
		}
		for _, ws := range pending {
			if err := ws.end(false); err != nil {
				log.exception("Warning: %s did not end the backup session (%v); it ends it on its own.", ws.ref, err)
			}
		}
		if err := staged.Discard(); err != nil {
			log.exception("Warning: %v", err)
		}
	}()
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
		p.update(func(s *Snapshot) { s.Set = fmt.Sprintf("%s (%d of %d)", ref, i+1, len(req.Stores)) })
		ws, files, bytes, err := e.backupStore(ctx, t, ref, req.Set(i), req, i+1, len(req.Stores), enc, log, p)
		res.Files += files
		res.Bytes += bytes
		if err != nil {
			log.exception("Backup of \"%s\" failed: %v", storeDevice(ref.Server, ref.Store), err)
			err = fmt.Errorf("backup of %s on %s (set %d of %d): %w", ref.Store.ServiceName(), ref.Server, i+1, len(req.Stores), err)
			if staged != nil {
				err = fmt.Errorf("%w; tape %q was left as it was", err, name)
			}
			return res, err
		}
		if staged == nil {
			e.finishSet(ws, t, ct, log)
		} else {
			pending = append(pending, ws)
		}
		res.Sets = append(res.Sets, ws.set.Number)
	}
	if staged != nil {
		if ct, err = e.commitReplace(staged, req, pending, log); err != nil {
			log.exception("Backup failed: %v", err)
			return res, err
		}
		committed = true
	}
	res.Elapsed = time.Since(start)
	log.summary("Backed up %s, %s", Plural(len(res.Sets), "set", "sets"), Plural(res.Files, "file", "files"))
	log.summary("Processed %s bytes in %s seconds.", Thousands(res.Bytes), seconds(res.Elapsed))

	res.Encrypted = len(enc) > 0
	if req.Verify {
		res.Verified = true
		for _, n := range res.Sets {
			rep, err := e.verifySet(ctx, t, ct, n, req.Keys, log, p)
			if err != nil {
				return res, err
			}
			if rep.sealed != "" {
				res.Verified = false
			}
		}
	}
	st := e.Settings()
	st.LastTape = name
	if err := e.SaveSettings(st); err != nil {
		log.exception("Could not remember the tape: %v", err)
	}
	return res, nil
}

// preflight refuses, before any tape is written, a backup its servers
// would refuse: a server that is not in the organization or does not
// answer, a store that is not running, circular logging under an
// incremental or differential.
func (e *Engine) preflight(ctx context.Context, req BackupRequest) error {
	org := Org{Status: map[string]exchange.Status{}}
	for _, ref := range req.Stores {
		if _, ok := org.Status[ref.Server]; ok {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, preflightTimeout)
		c, err := e.client(sctx, ref.Server)
		var st exchange.Status
		if err == nil {
			st, err = c.Status(sctx)
		}
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("backup aborted before %s: %w", ref, ctx.Err())
			}
			return fmt.Errorf("cannot back up the %s on %s: %w", ref.Store.Title(), ref.Server, err)
		}
		org.Status[ref.Server] = st
	}
	return org.CheckBackup(req)
}

// preflightTimeout bounds the wait for each server's state before a backup.
const preflightTimeout = 15 * time.Second

// finishSet tells an appended set's server that the set is whole on tape
// (it may truncate its logs) and catalogs it.
func (e *Engine) finishSet(ws *writtenSet, t Tape, ct catalog.Tape, log *jobLog) {
	if err := ws.end(true); err != nil {
		log.exception("Warning: %s did not record the backup (%v); its logs were not truncated. The set on tape is complete.", ws.ref, err)
	}
	rec := setRecord(ws.set)
	rec.Set.TapeID = ct.ID
	if _, err := e.cat.AddSet(rec.Set, rec.Entries); err != nil {
		log.exception("Warning: the set is on tape but the catalog could not record it (%v): catalog the tape again.", err)
	} else {
		e.stampTape(ct.ID, t.Path())
	}
}

// commitReplace puts a Replace's new tape in place of the old one, then
// replaces the old tape's records with the new sets' in one transaction,
// then lets the servers truncate their logs.
func (e *Engine) commitReplace(t StagedTape, req BackupRequest, sets []*writtenSet, log *jobLog) (catalog.Tape, error) {
	if err := t.Commit(); err != nil {
		return catalog.Tape{}, err
	}
	recs := make([]catalog.SetWithEntries, 0, len(sets))
	for _, ws := range sets {
		recs = append(recs, setRecord(ws.set))
	}
	rec := tapeRecord(t.Info(), e.owner, req.Restrict)
	rec.File = stampOf(t.Path())
	ct, err := e.cat.ReplaceTape(rec, recs)
	if err != nil {
		log.exception("Warning: the new tape is in place but the catalog could not record it (%v): catalog the tape again.", err)
	}
	for _, ws := range sets {
		if err := ws.end(true); err != nil {
			log.exception("Warning: %s did not record the backup (%v); its logs were not truncated. The set on tape is complete.", ws.ref, err)
		}
	}
	return ct, nil
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
	if len(req.Sets) > len(req.Stores) {
		return fmt.Errorf("%d set descriptions for %d stores", len(req.Sets), len(req.Stores))
	}
	for i, r := range req.Stores {
		c := req.Set(i)
		if !c.Type.Valid() {
			return fmt.Errorf("unknown backup type %q for %s (normal, copy, incremental, differential)", c.Type, r)
		}
		if n := len([]rune(c.Description)); n > MaxDescription {
			return fmt.Errorf("the description of the set of %s is too long: %d characters, %d at most", r, n, MaxDescription)
		}
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
	for i, s := range req.Stores {
		typ := req.Set(i).Type
		st, ok := o.Status[s.Server]
		if !ok {
			continue
		}
		if state := st.Service(s.Store); state != "" && state != exchange.Running {
			return fmt.Errorf("The %s of %s is %s: an online backup needs it running.", s.Store.Title(), s.Server, strings.ReplaceAll(string(state), "-", " "))
		}
		if (typ == exchange.Incremental || typ == exchange.Differential) && st.CircularLogging {
			return fmt.Errorf("%s uses circular logging: it keeps no logs for %s backup. Choose Normal or Copy.", s.Server, typeArticle(typ))
		}
	}
	return nil
}

// backupTapeName is the tape a backup writes: the one named, or when
// appending the last one written, or else a new tape named after today.
func (e *Engine) backupTapeName(req BackupRequest, now time.Time) string {
	name := req.TapeName
	if req.Append && name == "" {
		name = e.Settings().LastTape
	}
	if name == "" {
		name = DefaultTapeName(now)
	}
	return name
}

// backupTape opens the named tape to append to, or stages it anew
// (Replace); staged is nil when appending.
func (e *Engine) backupTape(req *BackupRequest, name string, now time.Time) (t Tape, ct catalog.Tape, staged StagedTape, err error) {
	if req.Append {
		if t, ct, err := e.openTape(name); err == nil {
			if ct.ID != 0 && ct.Restricted && ct.Owner != e.owner && !e.isAdmin() {
				return nil, ct, nil, fmt.Errorf("tape %q is restricted to its owner %s or an administrator", name, ct.Owner)
			}
			if ct.ID == 0 {
				ct, err = e.cat.PutTape(tapeRecord(t.Info(), e.owner, false))
				if err != nil {
					return nil, ct, nil, err
				}
			}
			return t, ct, nil, nil
		} else if req.TapeName != "" && !errors.Is(err, tape.ErrNoTape) && !strings.Contains(err.Error(), "no such") {
			return nil, ct, nil, err
		}
	}
	if old, err := e.cat.TapeByName(name); err == nil {
		if old.Restricted && old.Owner != e.owner && !e.isAdmin() {
			return nil, old, nil, fmt.Errorf("tape %q is restricted to its owner %s or an administrator: it cannot be replaced", name, old.Owner)
		}
	}
	st, err := e.lib.Stage(name, tape.CreateOptions{Created: now})
	if err != nil {
		return nil, catalog.Tape{}, nil, fmt.Errorf("creating tape %q: %w", name, err)
	}
	return st, catalog.Tape{}, st, nil
}

// writtenSet is a set whole on tape whose server session is still open:
// end tells the server whether the backup counts (and may truncate).
type writtenSet struct {
	set tape.Set
	ref StoreRef
	end func(success bool) error
}

// backupStore writes one store's set. On success the set is whole on tape
// and its session open for the caller to end; on failure it is ended.
func (e *Engine) backupStore(ctx context.Context, t Tape, ref StoreRef, sc SetChoice, req BackupRequest, nth, of int, enc []age.Recipient, log *jobLog, p *Progress) (*writtenSet, int, int64, error) {
	c, err := e.client(ctx, ref.Server)
	if err != nil {
		return nil, 0, 0, err
	}
	info, err := c.BackupPrepare(ctx, ref.Store, sc.Type)
	if err != nil {
		return nil, 0, 0, err
	}
	// Whatever happens from here, the session ends once; only success
	// truncates.
	ended := false
	endSession := func(success bool) error {
		if ended {
			return nil
		}
		ended = true
		ectx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return c.BackupEnd(ectx, info.Session, success)
	}
	handed := false
	defer func() {
		if !handed {
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
		return nil, 0, 0, fmt.Errorf("the restore environment of %s: %w", ref, err)
	}
	now := time.Now()
	sw, err := t.AppendSet(tape.SetOptions{Type: tapeType(sc.Type), Description: sc.Description, Owner: e.owner,
		Restricted: req.Restrict, Properties: map[string]string{envProperty: string(envJSON)}, Created: now, Encrypt: enc})
	if err != nil {
		return nil, 0, 0, tapeErr(t.Info().Name, err)
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
	p.update(func(s *Snapshot) {
		s.Set = setTitle(sw.Number(), t.Info().Name, ref.Store.ServiceName()+" on "+ref.Server, nth, of)
	})
	if sc.Description != "" {
		log.summary("Backup description: %q", sc.Description)
	}
	log.summary("Backup Type: %s", TypeTitle(sc.Type))
	if len(enc) > 0 {
		log.summary("Encrypted for %d keys", len(enc))
	}
	log.summary("Backup started on %s at %s.", ntDate(now), ntTime(now))
	if err := sw.BeginVolume(dev, ref.Server); err != nil {
		return nil, 0, 0, tapeErr(t.Info().Name, err)
	}
	var files int
	var bytes int64
	for _, f := range info.Files {
		if err := ctx.Err(); err != nil {
			return nil, files, bytes, fmt.Errorf("aborted during %s: %w", ref, err)
		}
		p.update(func(s *Snapshot) { s.Current = f.Name })
		rc, err := c.BackupRead(ctx, info.Session, f.Name)
		if err != nil {
			return nil, files, bytes, err
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
			return nil, files, bytes, fmt.Errorf("%s on %s: %w", f.Name, ref, err)
		}
		files++
		p.update(func(s *Snapshot) { s.Files++ })
		log.detail("  %s  %s bytes", f.Name, Thousands(f.Size))
	}
	set, err := sw.End()
	if err != nil {
		return nil, files, bytes, fmt.Errorf("tape %q: ending set %d: %w", t.Info().Name, sw.Number(), err)
	}
	committed = true
	handed = true
	end := time.Now()
	log.summary("Backup completed on %s at %s.", ntDate(end), ntTime(end))
	log.summary("Backed up %d files", files)
	log.summary("Processed %s bytes in %s seconds.", Thousands(bytes), seconds(end.Sub(now)))
	return &writtenSet{set: set, ref: ref, end: endSession}, files, bytes, nil
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

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ReadCRC counts as Read does and gives the CRC-32C of b[:n]: the one its
// source computed when it has one (a server's verified stream), so that
// the tape writer need not compute it again; else it computes it.
func (c *countingReader) ReadCRC(b []byte) (int, uint32, error) {
	var n int
	var crc uint32
	var err error
	if cr, ok := c.r.(interface {
		ReadCRC([]byte) (int, uint32, error)
	}); ok {
		n, crc, err = cr.ReadCRC(b)
	} else {
		n, err = c.r.Read(b)
		crc = crc32.Checksum(b[:n], castagnoli)
	}
	if n > 0 {
		c.n += int64(n)
		c.p.update(func(s *Snapshot) { s.Bytes += int64(n) })
	}
	return n, crc, err
}

// chunkCounter is a countingReader over a source that checksums its own
// pieces (a tape entry): the upload reuses those checksums.
type chunkCounter struct {
	countingReader
	cr wire.ChunkReader
}

func (c *chunkCounter) ReadChunk() ([]byte, uint32, error) {
	b, crc, err := c.cr.ReadChunk()
	if n := len(b); n > 0 {
		c.n += int64(n)
		c.p.update(func(s *Snapshot) { s.Bytes += int64(n) })
	}
	return b, crc, err
}

// counting counts r, keeping its chunks if it has any.
func counting(r io.Reader, p *Progress) interface {
	io.Reader
	count() int64
} {
	if cr, ok := r.(wire.ChunkReader); ok {
		return &chunkCounter{countingReader{r: r, p: p}, cr}
	}
	return &countingReader{r: r, p: p}
}

func (c *countingReader) count() int64 { return c.n }
