package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"exbackup/catalog"
	"exbackup/exchange"
	"exbackup/internal/durable"
	"exbackup/tape"
)

// Staged copies of store sets live under the home's items/ folder, one
// folder per chain: items/<tape>-<set>-<key>/ holds the chain's files as
// read from tape, recovered in place, and stageStamp, written last. The
// key is a digest of what was read (tapes, sets, each file's digest), so
// a tape rewritten since gives another key and the old copy goes stale.
const (
	itemsFolder = "items"
	stageStamp  = "exbackup-staged.json"
	// keepStaged is how many staged copies stay when a new one is made.
	keepStaged = 3
	// staleAfter is how long a staged copy stays unused before it goes.
	staleAfter = 24 * time.Hour
	// abandonedAfter is when a folder whose staging never finished (no
	// stamp) is taken for abandoned rather than being written.
	abandonedAfter = time.Hour
)

// stamp is what a staged copy records of itself once recovered.
type stamp struct {
	Key     string       `json:"key"`
	Tape    string       `json:"tape"`
	Set     int          `json:"set"`
	Chain   []stampedSet `json:"chain"`
	Bytes   int64        `json:"bytes"`
	Created time.Time    `json:"created"`
}

// stampedSet names one set of a staged chain as the catalog knows it, so
// that an erased or replaced tape makes the copy stale.
type stampedSet struct {
	SetRef
	Family  uint32    `json:"family"`
	Created time.Time `json:"created"`
}

// chainSet is one set of a chain, read from its tape.
type chainSet struct {
	ref    SetRef
	tape   Tape
	info   tape.Info
	set    tape.Set
	env    exchange.RestoreEnv
	family uint32
}

// OpenItems opens a set of an Information Store read-only (see Items).
func (e *Engine) OpenItems(ctx context.Context, tapeName string, set int, p *Progress) (*Items, error) {
	return e.OpenItemsWith(ctx, ItemOpenRequest{Tape: tapeName, Set: set}, p)
}

// OpenItemsWith is OpenItems with the keys of an encrypted set. It reads
// the set and, for an incremental or differential, the rest of its chain
// (found through the catalog, on any tape), into a folder under the
// home, recovers it there and opens it read-only. A second call for the
// same chain reuses the staged copy while it is valid; p reports the
// bytes read.
func (e *Engine) OpenItemsWith(ctx context.Context, req ItemOpenRequest, p *Progress) (it *Items, err error) {
	defer func() { p.finish(err) }()
	return e.openItems(ctx, req, p)
}

// openItems is OpenItemsWith for a job that goes on with the store open.
func (e *Engine) openItems(ctx context.Context, req ItemOpenRequest, p *Progress) (it *Items, err error) {
	start := time.Now()
	rec, err := e.itemRecoverer()
	if err != nil {
		return nil, err
	}
	chain, err := e.itemChain(req.Tape, req.Set)
	if err != nil {
		return nil, err
	}
	for _, cs := range chain {
		if cs.set.Encrypted {
			if err := cs.tape.SetKey(cs.ref.Set, req.Keys); err != nil {
				return nil, err
			}
		}
	}
	key := chainKey(chain)
	last := chain[len(chain)-1]
	dir := filepath.Join(e.home, itemsFolder, safeName(req.Tape)+fmt.Sprintf("-%d-", req.Set)+key)
	it = &Items{Tape: req.Tape, Set: req.Set, Server: last.env.Server, Dir: dir, e: e, rec: rec}
	for _, cs := range chain {
		it.Chain = append(it.Chain, cs.ref)
	}
	e.itemsMu.Lock()
	defer e.itemsMu.Unlock()
	if st, ok := readStamp(dir); ok && st.Key == key {
		if store, err := rec.Reopen(dir); err == nil {
			now := time.Now()
			os.Chtimes(filepath.Join(dir, stageStamp), now, now) // last used
			it.store, it.Bytes, it.Cached, it.Elapsed = store, st.Bytes, true, time.Since(start)
			e.opened(dir)
			p.update(func(s *Snapshot) { s.Tape, s.Set = req.Tape, fmt.Sprintf("Set %d", req.Set) })
			p.logf(fmt.Sprintf("Using the copy of %s staged at %s", chainTitle(it.Chain), dir))
			return it, nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("staged copy %s: %w", dir, err)
	}
	e.pruneItems(dir, keepStaged-1)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	store, err := e.stageChain(ctx, rec, chain, dir, req.Keys, it, p)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	bytes := dirSize(dir)
	st := stamp{Key: key, Tape: req.Tape, Set: req.Set, Bytes: bytes, Created: time.Now().UTC()}
	for _, cs := range chain {
		st.Chain = append(st.Chain, stampedSet{SetRef: cs.ref, Family: cs.family, Created: cs.set.Created})
	}
	b, _ := json.Marshal(st)
	if err := durable.WriteFile(filepath.Join(dir, stageStamp), b, 0o600); err != nil {
		store.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("staged copy %s: %w", dir, err)
	}
	it.store, it.Bytes, it.Elapsed = store, bytes, time.Since(start)
	e.opened(dir)
	p.logf(fmt.Sprintf("Read %s (%s) into %s in %s s; recovered in %s s", chainTitle(it.Chain), FormatBytes(bytes), dir, seconds(it.ReadTime), seconds(it.RecoverTime)))
	return it, nil
}

// chainTitle is "set 3" or "set 3 and its chain".
func chainTitle(c []SetRef) string {
	last := c[len(c)-1]
	if len(c) == 1 {
		return fmt.Sprintf("set %d of tape %q", last.Set, last.Tape)
	}
	return fmt.Sprintf("set %d of tape %q and its chain (%d sets)", last.Set, last.Tape, len(c))
}

// stageChain reads every file of the chain from tape into dir, checking
// each as a restore does, and recovers the result.
func (e *Engine) stageChain(ctx context.Context, rec Recoverer, chain []chainSet, dir string, kp tape.KeyProvider, it *Items, p *Progress) (ItemStore, error) {
	start := time.Now()
	var total int64
	for _, cs := range chain {
		total += cs.set.Bytes
	}
	last := chain[len(chain)-1]
	p.update(func(s *Snapshot) {
		s.Tape, s.Set, s.TotalBytes = last.ref.Tape, fmt.Sprintf("Set %d", last.ref.Set), total
	})
	buf := make([]byte, 1<<20)
	var envs []exchange.RestoreEnv
	for _, cs := range chain {
		envs = append(envs, cs.env)
		for _, ent := range cs.set.Entries {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("reading set %d of tape %q aborted: %w", cs.ref.Set, cs.ref.Tape, err)
			}
			name := ent.Path
			if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." || name == stageStamp {
				return nil, fmt.Errorf("tape %q set %d: file %q is not a file of a store backup", cs.ref.Tape, cs.ref.Set, ent.Path)
			}
			p.update(func(s *Snapshot) { s.Current = ent.Path })
			if err := copyEntry(cs, ent, filepath.Join(dir, name), kp, buf, p); err != nil {
				return nil, fmt.Errorf("tape %q set %d, file %s: %w", cs.ref.Tape, cs.ref.Set, ent.Path, err)
			}
			p.update(func(s *Snapshot) { s.Files++ })
		}
	}
	p.update(func(s *Snapshot) { s.Current = "recovering" })
	it.ReadTime = time.Since(start)
	store, err := rec.Recover(dir, envs)
	it.RecoverTime = time.Since(start) - it.ReadTime
	if err != nil {
		return nil, fmt.Errorf("recovering %s staged in %s: %w", chainTitleSets(chain), dir, err)
	}
	return store, nil
}

func chainTitleSets(chain []chainSet) string {
	refs := make([]SetRef, len(chain))
	for i, cs := range chain {
		refs[i] = cs.ref
	}
	return chainTitle(refs)
}

// copyEntry streams one file from tape (CSUM, CRC-32C and digest checked)
// to path, a piece at a time.
func copyEntry(cs chainSet, ent tape.Entry, path string, kp tape.KeyProvider, buf []byte, p *Progress) error {
	r, err := cs.tape.OpenEntry(ent, tape.ReadOptions{Keys: kp})
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(f, counting(r, p), buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// itemChain finds the sets to read for a set of an Information Store:
// the set itself for a full backup; else the full set before it and the
// incrementals between, from the catalog, on whatever tapes hold them.
func (e *Engine) itemChain(tapeName string, number int) ([]chainSet, error) {
	target, err := e.chainSetOf(tapeName, number, catalog.Tape{})
	if err != nil {
		return nil, err
	}
	if target.env.Store != exchange.StoreIS {
		return nil, fmt.Errorf("tape %q set %d is a backup of the %s: it holds no mailboxes (only sets of the Information Store do)", tapeName, number, target.env.Store.ServiceName())
	}
	if target.env.Type.Full() {
		return []chainSet{target}, nil
	}
	type cand struct {
		s  catalog.Set
		ct catalog.Tape
	}
	var cands []cand
	tapes, err := e.cat.Tapes()
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	for _, ct := range tapes {
		sets, err := e.cat.Sets(ct.ID)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		for _, s := range sets {
			if s.State != catalog.StateComplete || s.Foreign || SetStore(s) != exchange.StoreIS ||
				!strings.EqualFold(strings.TrimLeft(s.Server, `\`), target.env.Server) ||
				!earlier(s.Created, s.HighGen, target.set.Created, target.env.HighGen) {
				continue
			}
			cands = append(cands, cand{s, ct})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		return earlier(cands[j].s.Created, cands[j].s.HighGen, cands[i].s.Created, cands[i].s.HighGen)
	})
	var before []cand // newest first
	found := false
	for _, c := range cands {
		t := SetType(c.s)
		if t.Full() {
			before = append(before, c)
			found = true
			break
		}
		// A differential holds the logs since the last normal or
		// incremental: one before this set adds nothing the sets after
		// the full backup do not.
		if t == exchange.Incremental {
			before = append(before, c)
		}
	}
	if !found {
		return nil, fmt.Errorf("tape %q set %d is %s backup of the Information Store on %s, and the catalog holds no full backup before it: catalog the tape that holds it (exbackup catalog)",
			tapeName, number, typeArticle(target.env.Type), target.env.Server)
	}
	var chain []chainSet
	for i := len(before) - 1; i >= 0; i-- {
		c := before[i]
		cs, err := e.chainSetOf(c.ct.Name, c.s.Number, c.ct)
		if err != nil {
			return nil, fmt.Errorf("the chain of tape %q set %d: %w", tapeName, number, err)
		}
		chain = append(chain, cs)
	}
	chain = append(chain, target)
	for _, cs := range chain[1:] {
		if cs.env.Signature != chain[0].env.Signature {
			return nil, fmt.Errorf("the chain of tape %q set %d is broken: %s belongs to another log set than the full backup %s (the store was restored in between)",
				tapeName, number, cs.ref, chain[0].ref)
		}
	}
	return chain, nil
}

// earlier orders backups of one store: by time, and within the second a
// tape's dates keep, by the last log generation.
func earlier(a time.Time, aGen uint32, b time.Time, bGen uint32) bool {
	a, b = a.Truncate(time.Second), b.Truncate(time.Second)
	return a.Before(b) || a.Equal(b) && aGen < bGen
}

// chainSetOf reads a set from its tape and checks that it may be read:
// complete, made by exbackup, and readable by whoever runs the console.
func (e *Engine) chainSetOf(tapeName string, number int, known catalog.Tape) (chainSet, error) {
	t, ct, err := e.openTape(tapeName)
	if err != nil {
		return chainSet{}, err
	}
	if ct.ID == 0 {
		ct = known
	}
	s, err := t.Set(number)
	if err != nil {
		return chainSet{}, fmt.Errorf("tape %q set %d: %w", tapeName, number, err)
	}
	if !s.Restorable() {
		why := s.State.String()
		if s.Err != nil {
			why += ": " + s.Err.Error()
		}
		return chainSet{}, fmt.Errorf("tape %q set %d cannot be read (%s)", tapeName, number, why)
	}
	if err := e.mayRead(tapeName, s.Restricted || ct.Restricted, firstNonEmpty(s.Owner, ct.Owner)); err != nil {
		return chainSet{}, err
	}
	env, ok := setEnv(s)
	if !ok {
		return chainSet{}, fmt.Errorf("tape %q set %d is not an Exchange store backup made by exbackup: it holds no mailboxes", tapeName, number)
	}
	info := t.Info()
	return chainSet{ref: SetRef{Tape: tapeName, Set: number, Type: env.Type}, tape: t, info: info, set: s, env: env, family: info.FamilyID}, nil
}

// chainKey is a digest of what a chain reads: a set rewritten on tape
// gives another key.
func chainKey(chain []chainSet) string {
	h := sha256.New()
	for _, cs := range chain {
		fmt.Fprintf(h, "%s\x00%08x\x00%d\x00%d\x00%s\n", cs.ref.Tape, cs.family, cs.ref.Set, cs.set.Created.UnixNano(), cs.env.Signature)
		for _, ent := range cs.set.Entries {
			fmt.Fprintf(h, "%s\x00%d\x00%s\x00%08x\n", ent.Path, ent.Size, ent.Hash, ent.CRC32C)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// safeName makes a tape name a folder name.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() > 40 {
		return b.String()[:40]
	}
	return b.String()
}

func readStamp(dir string) (stamp, bool) {
	var st stamp
	b, err := os.ReadFile(filepath.Join(dir, stageStamp))
	if err != nil || json.Unmarshal(b, &st) != nil || st.Key == "" {
		return st, false
	}
	return st, true
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// stagedCopy is one folder under items/.
type stagedCopy struct {
	dir   string
	st    stamp
	ok    bool // has its stamp
	used  time.Time
	bytes int64
}

func (e *Engine) stagedCopies() []stagedCopy {
	root := filepath.Join(e.home, itemsFolder)
	des, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []stagedCopy
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		dir := filepath.Join(root, de.Name())
		c := stagedCopy{dir: dir}
		c.st, c.ok = readStamp(dir)
		if fi, err := os.Stat(filepath.Join(dir, stageStamp)); err == nil {
			c.used = fi.ModTime()
		} else if fi, err := os.Stat(dir); err == nil {
			c.used = fi.ModTime()
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].used.After(out[j].used) })
	return out
}

// stale says why a staged copy should go, or "".
func (e *Engine) stale(c stagedCopy, now time.Time) string {
	if !c.ok {
		if now.Sub(c.used) > abandonedAfter {
			return "its staging never finished"
		}
		return ""
	}
	if now.Sub(c.used) > staleAfter {
		return "unused for a day"
	}
	for _, s := range c.st.Chain {
		ct, err := e.cat.TapeByName(s.Tape)
		if err != nil {
			return fmt.Sprintf("tape %q was erased", s.Tape)
		}
		if _, err := os.Stat(ct.Location); err != nil {
			return fmt.Sprintf("tape %q is not there", s.Tape)
		}
		if ct.FamilyID != s.Family {
			return fmt.Sprintf("tape %q was replaced", s.Tape)
		}
		sets, err := e.cat.Sets(ct.ID)
		if err != nil {
			continue
		}
		found := false
		for _, cs := range sets {
			if cs.Number == s.Set && cs.Created.Equal(s.Created) {
				found = true
			}
		}
		if !found {
			return fmt.Sprintf("set %d of tape %q was overwritten", s.Set, s.Tape)
		}
	}
	return ""
}

// pruneItems removes stale staged copies and, past keep, the least
// recently used; never one open in this console, nor except.
func (e *Engine) pruneItems(except string, keep int) (freed int64) {
	now := time.Now()
	kept := 0
	for _, c := range e.stagedCopies() {
		if c.dir == except {
			continue
		}
		e.mu.Lock()
		open := e.itemsOpen[c.dir] > 0
		e.mu.Unlock()
		if open {
			kept++
			continue
		}
		if e.stale(c, now) == "" && (keep < 0 || kept < keep) {
			if c.ok {
				kept++
			}
			continue
		}
		n := dirSize(c.dir)
		if os.RemoveAll(c.dir) == nil {
			freed += n
		}
	}
	return freed
}

// StagedItems is the staged copies of store sets the home holds, and the
// space they take.
func (e *Engine) StagedItems() (copies int, bytes int64) {
	for _, c := range e.stagedCopies() {
		copies++
		bytes += dirSize(c.dir)
	}
	return copies, bytes
}

// CleanItems removes every staged copy not open in this console and
// answers the space freed.
func (e *Engine) CleanItems() (int64, error) {
	e.itemsMu.Lock()
	defer e.itemsMu.Unlock()
	var freed int64
	var errs []error
	for _, c := range e.stagedCopies() {
		e.mu.Lock()
		open := e.itemsOpen[c.dir] > 0
		e.mu.Unlock()
		if open {
			continue
		}
		n := dirSize(c.dir)
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("staged copy %s: %w", c.dir, err))
			continue
		}
		freed += n
	}
	return freed, errors.Join(errs...)
}

func (e *Engine) opened(dir string) {
	e.mu.Lock()
	e.itemsOpen[dir]++
	e.mu.Unlock()
}

// Close closes the store; its staged copy stays for the next OpenItems.
func (it *Items) Close() error {
	var err error
	it.once.Do(func() {
		if it.store != nil {
			err = it.store.Close()
		}
		it.e.mu.Lock()
		if it.e.itemsOpen[it.Dir]--; it.e.itemsOpen[it.Dir] <= 0 {
			delete(it.e.itemsOpen, it.Dir)
		}
		it.e.mu.Unlock()
	})
	return err
}

// FormatBytes is a size as an administrator reads it: "512 bytes",
// "48 KB", "1.0 GiB".
func FormatBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%d KB", (n+1<<9)>>10)
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}
