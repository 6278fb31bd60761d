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

// The catalog is a cache of the tapes. When the engine opens, it makes sure
// the cache can be trusted: a damaged catalog.db is moved aside and rebuilt
// from every tape of the library, and a tape whose file changed since the
// catalog last saw it (a backup killed after its set was on tape and
// before the catalog recorded it, a .bkf copied in, a catalog rolled back)
// is cataloged again. Files are compared by size and modification time,
// which a stat gives without reading the tape.

// openCatalog opens the catalog, starting a new one when it is damaged.
func openCatalog(home string) (*catalog.Catalog, *catalog.Reset, error) {
	path := filepath.Join(home, "catalog.db")
	cat, reset, err := catalog.OpenOrReset(path)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return cat, reset, nil
}

// CatalogNotice is the one line to show the administrator about what
// opening the catalog found ("The catalog was damaged (…); moved aside to
// …; rebuilt from 3 tapes."), or "" when there was nothing to say.
func (e *Engine) CatalogNotice() string { return e.catalogNotice }

// checkCatalog rebuilds the catalog after a reset, or catalogs again the
// tapes it is behind on, and sets the notice.
func (e *Engine) checkCatalog(reset *catalog.Reset) {
	files, err := e.libraryFiles()
	if err != nil {
		e.catalogNotice = fmt.Sprintf("The catalog could not be checked against the tapes: %v.", err)
		return
	}
	if reset != nil {
		done, failed := e.recatalog(files)
		e.catalogNotice = fmt.Sprintf("The catalog was damaged (%s); moved aside to %s; rebuilt from %d tapes%s.",
			reset.Reason, reset.MovedTo, done, failedList(failed))
		return
	}
	tapes, err := e.cat.Tapes()
	if err != nil {
		e.catalogNotice = fmt.Sprintf("The catalog could not be read: %v.", err)
		return
	}
	known := map[string]catalog.Tape{}
	for _, t := range tapes {
		known[t.Location] = t
	}
	var stale []string
	for _, f := range files {
		if t, ok := known[f]; !ok || !t.File.Same(stampOf(f)) {
			stale = append(stale, f)
		}
		delete(known, f)
	}
	// Tapes cataloged from outside the library are checked too, while
	// their file is there.
	for loc, t := range known {
		if st := stampOf(loc); !st.IsZero() && !st.Same(t.File) {
			stale = append(stale, loc)
		}
	}
	if len(stale) == 0 {
		return
	}
	done, failed := e.recatalog(stale)
	if done > 0 || len(failed) > 0 {
		e.catalogNotice = fmt.Sprintf("The catalog was behind the tapes; cataloged %d tapes again%s.", done, failedList(failed))
	}
}

// recatalog catalogs each file from the tape alone, as exbackup catalog
// does, and returns how many it cataloged and the ones it could not.
func (e *Engine) recatalog(files []string) (int, []string) {
	var failed []string
	done := 0
	for _, f := range files {
		if err := e.CatalogTape(context.Background(), f, nil); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", filepath.Base(f), err))
			continue
		}
		done++
	}
	return done, failed
}

func failedList(failed []string) string {
	if len(failed) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d files are no readable tape: %s)", len(failed), strings.Join(failed, "; "))
}

// libraryFiles lists the library's .bkf files by absolute path, as
// Library.List would, without opening them.
func (e *Engine) libraryFiles() ([]string, error) {
	dir, err := filepath.Abs(e.lib.Dir())
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("tape library: %w", err)
	}
	var out []string
	for _, ent := range ents {
		n := ent.Name()
		if ent.Type().IsRegular() && strings.HasSuffix(strings.ToLower(n), tape.Ext) && !strings.HasPrefix(n, ".") {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out, nil
}

// stampOf is what the catalog remembers of a tape file to tell it changed;
// zero when the file cannot be seen.
func stampOf(path string) catalog.FileStamp {
	st, err := os.Stat(path)
	if err != nil {
		return catalog.FileStamp{}
	}
	return catalog.FileStamp{Size: st.Size(), Modified: st.ModTime().UTC()}
}

// stampTape records that the catalog matches the tape's file as it is now
// (after a backup recorded its set). Failing that, the tape is only
// cataloged again at the next open.
func (e *Engine) stampTape(id uint64, path string) {
	if ct, err := e.cat.Tape(id); err == nil {
		ct.File = stampOf(path)
		e.cat.PutTape(ct)
	}
}
