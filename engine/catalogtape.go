package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"exbackup/catalog"
	"exbackup/tape"
)

// CatalogTape rebuilds a tape's records from the tape alone: a tape of the
// library by name, or any .bkf file by path (ours or another MTF writer's).
// A set that goes on past the end of the tape is read on across the
// members of its media family found as CatalogFamily finds them.
func (e *Engine) CatalogTape(ctx context.Context, nameOrPath string, p *Progress) error {
	return e.CatalogFamily(ctx, nameOrPath, nil, p)
}

// CatalogFamily catalogs a tape and the other members of its media family:
// the .bkf files given (in any order), and for a set that goes on past the
// end of a tape, the next member found among them, the cataloged tapes of
// the family at their places, or from the asker in ctx (WithMemberAsker).
// Each member is a tape of its own in the catalog; a set spanning members
// is recorded on the tape it starts on, with its files from all of them,
// each entry naming the member its file starts on. A member not found
// leaves the set listed as this tape holds it, saying which member it
// needs.
func (e *Engine) CatalogFamily(ctx context.Context, nameOrPath string, members []string, p *Progress) (err error) {
	defer func() { p.finish(err) }()
	done := map[string]bool{}
	queue := []string{nameOrPath}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		if abs, err := filepath.Abs(next); err == nil && done[abs] {
			continue
		}
		more, path, err := e.catalogOne(ctx, next, members, p)
		if err != nil {
			return err
		}
		done[path] = true
		for _, m := range append(more, members...) {
			if abs, err := filepath.Abs(m); err == nil && !done[abs] {
				queue = append(queue, m)
			}
		}
	}
	return nil
}

// catalogOne catalogs one tape; it returns the other members of the
// family its sets were read across, and the tape's file.
func (e *Engine) catalogOne(ctx context.Context, nameOrPath string, members []string, p *Progress) (more []string, file string, err error) {
	var t Tape
	if strings.HasSuffix(strings.ToLower(nameOrPath), tape.Ext) {
		if _, serr := os.Stat(nameOrPath); serr == nil {
			t, err = e.lib.OpenPath(nameOrPath)
		}
	}
	if t == nil && err == nil {
		t, err = e.lib.Open(nameOrPath)
	}
	if err != nil {
		return nil, "", tapeErr(nameOrPath, err)
	}
	info := t.Info()
	// A tape being written is cataloged once its writer is done with it.
	if err := e.claim(info.Name); err != nil {
		return nil, "", err
	}
	defer e.release(info.Name)
	unlock, err := e.lib.Lock(info.Name, "catalog")
	if err != nil {
		return nil, "", err
	}
	defer unlock()
	p.update(func(s *Snapshot) { s.Tape = info.Name; s.Current = info.Path })
	p.logf(fmt.Sprintf("Cataloging tape %q (%s)", info.Name, info.Path))
	stamp := stampOf(info.Path)
	sets, fromCatalog, fallback, err := listForCatalog(t)
	if err != nil {
		return nil, "", tapeErr(info.Name, err)
	}
	if fromCatalog {
		p.logf("Read from the tape's media based catalog (exbackup verify checks it against the data).")
	}
	if fallback != nil {
		p.logf(fmt.Sprintf("Read from the tape's blocks, not its media based catalog: %v", fallback))
	}
	owner, restricted := e.owner, false
	loc, _ := filepath.Abs(info.Path)
	file = loc
	if old, err := e.cat.TapeByLocation(loc); err == nil {
		owner, restricted = old.Owner, old.Restricted
	}
	if len(sets) > 0 {
		owner, restricted = firstNonEmpty(sets[0].Owner, owner), restricted || sets[0].Restricted
	}
	var recs []catalog.SetWithEntries
	for _, s := range sets {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		rec := setRecord(s)
		rec.Set.Member = uint16(max(info.Sequence, 1))
		switch {
		case s.Continues:
			var used []string
			rec, used = e.familyRecord(ctx, t, info, s, rec, members, p)
			more = append(more, used...)
		case s.Continued:
			rec.Set.Member, rec.Set.Continued = e.startingMember(info, s.Number), true
		}
		recs = append(recs, rec)
		p.update(func(sn *Snapshot) { sn.Files += rec.Set.Files; sn.Bytes += rec.Set.Bytes })
		state := s.State.String()
		if rec.Set.State != setState(s.State) {
			state = string(rec.Set.State) // read across the members
		}
		if mt := rec.Set.MemberText(); mt != "" {
			state += ", " + mt
		}
		p.logf(fmt.Sprintf("Set %d: %s, %s, %s", s.Number, s.Type, s.Created.Local().Format("1/2/2006 3:04 PM"), state))
	}
	rec := tapeRecord(info, owner, restricted)
	rec.File = stamp
	ct, err := e.cat.ReplaceTape(rec, recs)
	if err == nil {
		err = e.applyVerifyMarks(ct)
	}
	if err != nil {
		return nil, "", fmt.Errorf("catalog: %w", err)
	}
	p.logf(fmt.Sprintf("Cataloged %s.", Plural(len(recs), "set", "sets")))
	return more, file, nil
}

// familyRecord is the record of a set that goes on past the end of its
// tape, read across the members of its family: every file, each entry
// with the member it starts on. A member not found leaves rec as the tape
// lists it, its damage naming the member needed.
func (e *Engine) familyRecord(ctx context.Context, t Tape, info tape.Info, s tape.Set, rec catalog.SetWithEntries, members []string, p *Progress) (catalog.SetWithEntries, []string) {
	ft, ok := t.(interface {
		FamilyTree(int, tape.NextMember) (*tape.Tree, error)
	})
	if !ok {
		return rec, nil
	}
	tr, err := ft.FamilyTree(s.Number, e.memberFinder(ctx, info.Name, s.Number, members))
	if err == nil {
		if me := missingMember(tr); me != nil {
			err = me
		}
	}
	if err != nil {
		rec.Set.Damage = err.Error()
		p.logf(fmt.Sprintf("Set %d: %s", s.Number, err))
		return rec, nil
	}
	whole := s
	whole.Volumes, whole.Entries = tr.Volumes, tr.Entries()
	whole.Files, whole.Bytes = len(whole.Entries), 0
	for _, en := range whole.Entries {
		whole.Bytes += en.Size
	}
	whole.Err, whole.State = nil, tape.SetComplete
	if !tr.Complete {
		whole.State = tape.SetDamaged
		if len(tr.Problems) > 0 {
			whole.Err = tr.Problems[0]
		}
	}
	out := setRecord(whole)
	out.Set.Member = uint16(max(info.Sequence, 1))
	last := tr.Members[len(tr.Members)-1]
	out.Set.LastMember = uint16(last.Sequence)
	for i, en := range whole.Entries {
		out.Entries[i].Member = uint16(en.Member)
	}
	var used []string
	for _, m := range tr.Members[1:] {
		used = append(used, m.Path)
		p.logf(fmt.Sprintf("Set %d goes on on member %d of media family %08X: %s", s.Number, m.Sequence, info.FamilyID, m.Path))
	}
	return out, used
}

// startingMember is the member of the family a continued set began on:
// the earliest cataloged member holding the set that reaches this one,
// else the member before.
func (e *Engine) startingMember(info tape.Info, number int) uint16 {
	first := uint16(max(info.Sequence-1, 1))
	tapes, err := e.cat.Tapes()
	if err != nil {
		return first
	}
	for _, t := range tapes {
		if t.FamilyID != info.FamilyID || int(t.Sequence) >= info.Sequence || t.Sequence == 0 {
			continue
		}
		sets, err := e.cat.Sets(t.ID)
		if err != nil {
			continue
		}
		for _, s := range sets {
			if s.Number == number && int(s.LastMember) >= info.Sequence && !s.Continued && s.Member < first {
				first = s.Member
			}
		}
	}
	return first
}

// listForCatalog lists a tape's sets for the catalog: from its media based
// catalog when it has one (a few blocks read instead of the whole tape;
// exbackup's own sets take their per-file digests from the digest table
// beside it), else from its blocks. fallback is why a tape with a catalog
// was read from its blocks all the same.
func listForCatalog(t Tape) (sets []tape.Set, fromCatalog bool, fallback error, err error) {
	if q, ok := t.(interface{ QuickScan() (tape.Listing, error) }); ok {
		l, err := q.QuickScan()
		if err != nil {
			return nil, false, nil, err
		}
		return l.Sets, l.FromCatalog, l.Fallback, nil
	}
	sets, err = t.Sets()
	return sets, false, nil, err
}
