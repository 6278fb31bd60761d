package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"exbackup/catalog"
	"exbackup/tape"
)

// CatalogTape rebuilds a tape's records from the tape alone: a tape of the
// library by name, or any .bkf file by path (ours or another MTF writer's).
func (e *Engine) CatalogTape(ctx context.Context, nameOrPath string, p *Progress) (err error) {
	defer func() { p.finish(err) }()
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
		return tapeErr(nameOrPath, err)
	}
	info := t.Info()
	// A tape being written is cataloged once its writer is done with it.
	if err := e.claim(info.Name); err != nil {
		return err
	}
	defer e.release(info.Name)
	unlock, err := e.lib.Lock(info.Name, "catalog")
	if err != nil {
		return err
	}
	defer unlock()
	p.update(func(s *Snapshot) { s.Tape = info.Name; s.Current = info.Path })
	p.logf(fmt.Sprintf("Cataloging tape %q (%s)", info.Name, info.Path))
	stamp := stampOf(info.Path)
	sets, fromCatalog, err := listForCatalog(t)
	if err != nil {
		return tapeErr(info.Name, err)
	}
	if fromCatalog {
		p.logf("Read from the tape's media based catalog (exbackup verify checks it against the data).")
	}
	owner, restricted := e.owner, false
	loc, _ := filepath.Abs(info.Path)
	if old, err := e.cat.TapeByLocation(loc); err == nil {
		owner, restricted = old.Owner, old.Restricted
	}
	if len(sets) > 0 {
		owner, restricted = firstNonEmpty(sets[0].Owner, owner), restricted || sets[0].Restricted
	}
	var recs []catalog.SetWithEntries
	for _, s := range sets {
		if err := ctx.Err(); err != nil {
			return err
		}
		recs = append(recs, setRecord(s))
		p.update(func(sn *Snapshot) { sn.Files += s.Files; sn.Bytes += s.Bytes })
		p.logf(fmt.Sprintf("Set %d: %s, %s, %s", s.Number, s.Type, s.Created.Local().Format("1/2/2006 3:04 PM"), s.State))
	}
	rec := tapeRecord(info, owner, restricted)
	rec.File = stamp
	ct, err := e.cat.ReplaceTape(rec, recs)
	if err == nil {
		err = e.applyVerifyMarks(ct)
	}
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	p.logf(fmt.Sprintf("Cataloged %s.", Plural(len(recs), "set", "sets")))
	return nil
}

// listForCatalog lists a tape's sets for the catalog: from its media based
// catalog when another program wrote the tape and left one (a few blocks
// read instead of the whole tape), else from its blocks. exbackup's own
// sets are always read from their blocks, which alone carry the per-file
// digests the catalog keeps for them.
func listForCatalog(t Tape) (sets []tape.Set, fromCatalog bool, err error) {
	if q, ok := t.(interface{ QuickScan() (tape.Listing, error) }); ok && t.Info().Software != tape.DefaultSoftware {
		l, err := q.QuickScan()
		if err == nil && l.FromCatalog && !slices.ContainsFunc(l.Sets, func(s tape.Set) bool { return s.Exbackup }) {
			return l.Sets, true, nil
		}
	}
	sets, err = t.Sets()
	return sets, false, err
}
