package tape

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"exbackup/internal/durable"
)

// Library is a folder of file tapes, each a .bkf file named after its tape
// name (see FileName).
type Library struct {
	dir string
}

// ErrNoTape is returned for a tape name the library does not hold.
var ErrNoTape = errors.New("no such tape in the library")

// OpenLibrary opens (creating it if needed) the tape library in dir.
func OpenLibrary(dir string) (*Library, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tape library: %w", err)
	}
	return &Library{dir: dir}, nil
}

// Dir returns the library's folder.
func (l *Library) Dir() string { return l.dir }

// Path returns the file the named tape lives in.
func (l *Library) Path(name string) string { return filepath.Join(l.dir, FileName(name)) }

// List returns the tapes of the library sorted by name. A .bkf file that
// is not a readable tape is listed with Err set and the name its file name
// stands for.
func (l *Library) List() ([]Info, error) {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("tape library: %w", err)
	}
	var out []Info
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(strings.ToLower(n), Ext) || strings.HasPrefix(n, ".") {
			continue
		}
		p := filepath.Join(l.dir, n)
		t, err := Open(p)
		if err != nil {
			out = append(out, Info{Name: NameFromFile(n), Path: p, Err: err})
			continue
		}
		out = append(out, t.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Create starts the named tape anew (NT Backup's Replace): a new TAPE header
// and no sets. An existing tape of that name is replaced.
func (l *Library) Create(name string, o CreateOptions) (*Tape, error) {
	if name == "" {
		return nil, errors.New("tape library: empty tape name")
	}
	return Create(l.Path(name), name, o)
}

// Stage starts the named tape anew beside the old one (see Stage): the old
// tape stays as it is until the new one's Commit.
func (l *Library) Stage(name string, o CreateOptions) (*Tape, error) {
	if name == "" {
		return nil, errors.New("tape library: empty tape name")
	}
	return Stage(l.Path(name), name, o)
}

// Lock takes the named tape's writer lock for a whole job (see Lock), on
// the file the library keeps the tape in.
func (l *Library) Lock(name, job string) (unlock func(), err error) {
	return Lock(l.Path(name), name, job)
}

// Open opens the named tape: its file by FileName, or else a tape of the
// library whose TAPE header carries the name (a .bkf copied in).
func (l *Library) Open(name string) (*Tape, error) {
	t, err := Open(l.Path(name))
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if list, lerr := l.List(); lerr == nil {
		for _, i := range list {
			if i.Err == nil && i.Name == name {
				return Open(i.Path)
			}
		}
	}
	return nil, fmt.Errorf("tape %q: %w", name, ErrNoTape)
}

// Erase removes the named tape from the library, sets and all.
func (l *Library) Erase(name string) error {
	t, err := l.Open(name)
	if err != nil {
		return err
	}
	unlock, err := lockPath(t.Path(), name, "erase")
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(t.Path()); err != nil {
		return fmt.Errorf("erasing tape %q: %w", name, err)
	}
	if err := durable.SyncDir(l.dir); err != nil {
		// The tape is gone from the folder, but a crash could bring it back.
		return fmt.Errorf("erasing tape %q: %w", name, err)
	}
	return nil
}
