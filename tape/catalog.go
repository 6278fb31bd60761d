package tape

import (
	"errors"
	"fmt"

	"exbackup/tape/mtf"
)

// QuickScan lists the tape from its media based catalog when it has one
// (Listing.FromCatalog is then set), reading a few blocks rather than the
// whole tape; without a catalog, or when it cannot be read, it is Scan.
// exbackup's own sets come with their per-file digests, from the EXBC
// digest table beside their catalog; when one of them has none (a tape
// written before the table came) or one that does not check out, the
// whole tape is read from its blocks, and Listing.Fallback says why. The
// data are not read: Verify and OpenEntry check them.
func (t *Tape) QuickScan() (Listing, error) {
	f, r, err := t.open()
	if err != nil {
		return Listing{}, err
	}
	c, err := r.Catalog()
	f.Close()
	if err != nil {
		l, serr := t.Scan()
		if r.Tape().CatalogType == mtf.CatalogType1 {
			l.Fallback = err // it names the tape and where
		}
		return l, serr
	}
	for _, s := range c.Sets {
		if s.DigestsErr != nil {
			l, serr := t.Scan()
			l.Fallback = s.DigestsErr
			return l, serr
		}
	}
	l := Listing{Info: infoOf(r, t.path), Problems: c.Problems, FromCatalog: true}
	for _, s := range c.Sets {
		l.Sets = append(l.Sets, fromContents(t.displayName(), s, false, 0))
	}
	return l, nil
}

// QuickTree is Tree from the media based catalog when the tape has one: a
// set's folders at the cost of its catalog. Damage in the set itself only
// shows when its files are extracted.
func (t *Tape) QuickTree(number int) (*Tree, error) {
	f, r, err := t.open()
	if err != nil {
		return nil, err
	}
	c, err := r.Catalog()
	f.Close()
	if err != nil {
		return t.Tree(number)
	}
	for i := len(c.Sets) - 1; i >= 0; i-- {
		if int(c.Sets[i].Start.Number) == number {
			return newTree(t.displayName(), c.Sets[i]), nil
		}
	}
	return t.Tree(number)
}

// VerifyCatalog checks the tape's media based catalog against its blocks:
// every set the walk finds must be in the set map, and each set's detail
// must list its volumes, folders and files with their names, sizes and
// places; an exbackup set's digest table must check out and record each
// file's digests as its FILE block does (Verify then checks the data
// against those). It returns one error per difference; a tape without a catalog
// has none to check (mtf.ErrNoCatalog).
func (t *Tape) VerifyCatalog() ([]error, error) {
	f, r, err := t.open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cat, err := r.Catalog()
	if err != nil {
		return nil, err
	}
	scan, err := r.Scan()
	if err != nil {
		return nil, fmt.Errorf("reading tape %q: %w", t.displayName(), err)
	}
	return compareCatalog(t.displayName(), cat, scan, 0), nil
}

// compareCatalog lists the differences between a catalog and a walk, for
// one set (number) or all (0).
func compareCatalog(tape string, cat, scan *mtf.Contents, number int) []error {
	var out []error
	bad := func(set int, format string, args ...any) {
		out = append(out, fmt.Errorf("tape %q, set %d: media based catalog: %s", tape, set, fmt.Sprintf(format, args...)))
	}
	byNum := map[uint16]*mtf.Set{}
	for _, s := range cat.Sets {
		byNum[s.Start.Number] = s
	}
	for _, w := range scan.Sets {
		n := int(w.Start.Number)
		if number != 0 && n != number || w.End == nil {
			continue
		}
		c := byNum[w.Start.Number]
		if c == nil {
			bad(n, "the set is not in the set map")
			continue
		}
		if c.Offset != w.Offset || c.Start.Name != w.Start.Name || c.Start.Description != w.Start.Description || c.Start.UserName != w.Start.UserName {
			bad(n, "the set map says set %q at byte %d, the tape holds %q at byte %d", c.Start.Name, c.Offset, w.Start.Name, w.Offset)
		}
		if len(c.Volumes) != len(w.Volumes) {
			bad(n, "%d volumes listed, %d on tape", len(c.Volumes), len(w.Volumes))
		}
		if c.DigestsErr != nil && !errors.Is(c.DigestsErr, mtf.ErrNoDigestTable) {
			out = append(out, fmt.Errorf("tape %q, set %d: media based catalog: %w", tape, n, c.DigestsErr))
		}
		if c.End.FDDPBA == 0 {
			continue // a set map entry without detail
		}
		if len(c.Files) != len(w.Files) || len(c.Dirs) != len(w.Dirs) {
			bad(n, "%d folders and %d files listed, %d and %d on tape", len(c.Dirs), len(c.Files), len(w.Dirs), len(w.Files))
		}
		for i := range min(len(c.Files), len(w.Files)) {
			cf, wf := c.Files[i], w.Files[i]
			if cf.Path() != wf.Path() || cf.Block.Offset != wf.Block.Offset || cf.Size != wf.Block.Content().Size {
				bad(n, "file %q of %d bytes at byte %d listed, the tape holds %q of %d bytes at byte %d",
					cf.Path(), cf.Size, cf.Block.Offset, wf.Path(), wf.Block.Content().Size, wf.Block.Offset)
			}
			if ch, wh := cf.Block.Hash, wf.Block.Hash; ch != nil && (wh == nil || *ch != *wh) {
				bad(n, "file %q: its digest table entry differs from the digests in its FILE block", wf.Path())
			}
		}
	}
	return out
}

// catalogProblems is what Verify adds for a set of a tape with a catalog.
func (t *Tape) catalogProblems(number int) []error {
	f, r, err := t.open()
	if err != nil {
		return []error{err}
	}
	defer f.Close()
	if r.Tape().CatalogType != mtf.CatalogType1 {
		return nil
	}
	cat, cerr := r.Catalog()
	scan, err := r.Scan()
	if err != nil {
		return []error{err}
	}
	if cerr != nil {
		// The catalog is read from the tape's end. A set after this one
		// that never finished (a killed backup) left no catalog there:
		// that set is reported on its own and this one is not damaged.
		if last := len(scan.Sets) - 1; errors.Is(cerr, mtf.ErrNoCatalog) && last >= 0 &&
			scan.Sets[last].End == nil && int(scan.Sets[last].Start.Number) != number {
			return nil
		}
		return []error{fmt.Errorf("tape %q, set %d: media based catalog: %w", t.displayName(), number, cerr)}
	}
	return compareCatalog(t.displayName(), cat, scan, number)
}
