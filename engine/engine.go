package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"exbackup/catalog"
	"exbackup/exchange"
	"exbackup/tape"
)

// Server is what the engine needs of one Exchange-style server: its state,
// service control, and the online backup and restore sessions. The real
// one is the exchange client (see connect.go); tests pass fakes.
type Server interface {
	Status(ctx context.Context) (exchange.Status, error)
	Topology(ctx context.Context) (exchange.Topology, error)
	// StartService starts a service; a staged restore is recovered
	// first, and the result says what its recovery did.
	StartService(ctx context.Context, id exchange.StoreID) (exchange.RestoreResult, error)
	// StopService is refused while a backup of the store streams.
	StopService(ctx context.Context, id exchange.StoreID) error
	BackupPrepare(ctx context.Context, id exchange.StoreID, t exchange.BackupType) (exchange.BackupInfo, error)
	// BackupRead streams one file of a backup session; reading it past
	// its announced size checks the server's trailer.
	BackupRead(ctx context.Context, session, file string) (io.ReadCloser, error)
	BackupEnd(ctx context.Context, session string, success bool) error
	RestorePrepare(ctx context.Context, req exchange.RestoreRequest) (exchange.RestoreInfo, error)
	RestoreWrite(ctx context.Context, session, file string, r io.Reader) error
	RestoreComplete(ctx context.Context, session string) (exchange.RestoreResult, error)
	// CancelRestore drops a store's staged restore.
	CancelRestore(ctx context.Context, id exchange.StoreID) (exchange.RestoreResult, error)
	// Recipients lists the Directory's recipients.
	Recipients(ctx context.Context) ([]exchange.Recipient, error)
	// ImportItems puts one batch of an item-level restore into the live
	// Information Store, online (see exchange.ImportRequest).
	ImportItems(ctx context.Context, req exchange.ImportRequest) (exchange.ImportResult, error)
	Close() error
}

// dialFunc connects to the server at addr with the organization's key,
// refusing any certificate but the pinned one.
type dialFunc func(ctx context.Context, addr, key, fingerprint string) (Server, error)

// Library is what the engine needs of the tape library: tapes by name,
// any .bkf file by path, new tapes and erasing.
type Library interface {
	Open(name string) (Tape, error)
	OpenPath(path string) (Tape, error)
	Create(name string, o tape.CreateOptions) (Tape, error)
	// Stage starts the named tape anew beside the old one, which stays
	// whole until the new one's Commit (a Replace backup).
	Stage(name string, o tape.CreateOptions) (StagedTape, error)
	Erase(name string) error
	// Lock holds the named tape for one job ("backup", "erase",
	// "catalog") against other processes; it refuses at once, naming the
	// holder, while another process holds it.
	Lock(name, job string) (unlock func(), err error)
	// Dir is the library's folder, where a lost catalog is rebuilt from.
	Dir() string
}

// Tape is one tape as the jobs read and append to it.
type Tape interface {
	Info() tape.Info
	Path() string
	Sets() ([]tape.Set, error)
	Set(number int) (tape.Set, error)
	AppendSet(o tape.SetOptions) (SetWriter, error)
	OpenEntry(e tape.Entry, o tape.ReadOptions) (io.ReadCloser, error)
	Verify(ctx context.Context, number int, o tape.VerifyOptions) (tape.VerifyReport, error)
	// SetKey tells whether the keys open an encrypted set (nil for a set
	// that is not encrypted).
	SetKey(number int, kp tape.KeyProvider) error
}

// StagedTape is a new tape written beside the one it is to replace.
type StagedTape interface {
	Tape
	// Commit puts it in place of the old tape in one rename.
	Commit() error
	// Discard removes it, leaving the old tape as it was.
	Discard() error
}

// SetWriter writes one set: nothing of it counts until End.
type SetWriter interface {
	Number() int
	BeginVolume(device, machine string) error
	AddFile(name string, size int64, modTime time.Time, r io.Reader) (tape.Hash, error)
	End() (tape.Set, error)
	Abort() error
}

// Catalog is what the engine reads and records in the catalog.
type Catalog interface {
	Tapes() ([]catalog.Tape, error)
	TapeByName(name string) (catalog.Tape, error)
	TapeByLocation(path string) (catalog.Tape, error)
	PutTape(t catalog.Tape) (catalog.Tape, error)
	ReplaceTape(t catalog.Tape, sets []catalog.SetWithEntries) (catalog.Tape, error)
	DeleteTape(id uint64) error
	Tape(id uint64) (catalog.Tape, error)
	Sets(tapeID uint64) ([]catalog.Set, error)
	AddSet(s catalog.Set, entries []catalog.Entry) (catalog.Set, error)
	UpdateSet(s catalog.Set) error
	ChainFor(server, store string) ([]catalog.Set, error)
	Close() error
}

// Engine runs the console's jobs against one home folder: its catalog, its
// tape library and its settings.
type Engine struct {
	home  string
	cat   Catalog
	lib   Library
	dial  dialFunc
	owner string
	admin func() bool // whether the current user is an administrator

	mu       sync.Mutex
	settings Settings
	clients  map[string]Server
	running  map[string]bool // tapes being written, by name

	catalogNotice string // what opening the catalog found (catalogrepair.go)

	recoverer  Recoverer      // opens staged store sets (items.go)
	itemsMu    sync.Mutex     // one staging at a time
	itemsOpen  map[string]int // staged folders open, by path
	backupPoll time.Duration  // how often a stop waiting for a backup reads the status
}

// Open opens the engine on a home folder, creating what is missing.
func Open(home string) (*Engine, error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	st, err := LoadSettings(home)
	if err != nil {
		return nil, err
	}
	cat, reset, err := openCatalog(home)
	if err != nil {
		return nil, err
	}
	lib, err := tape.OpenLibrary(filepath.Join(home, "tapes"))
	if err != nil {
		cat.Close()
		return nil, err
	}
	e := newEngine(home, st, cat, fileLibrary{lib}, dialExchange)
	e.admin = e.systemAdmin
	e.checkCatalog(reset)
	return e, nil
}

// newEngine joins the parts; tests pass fakes for any of them.
func newEngine(home string, st Settings, cat Catalog, lib Library, dial dialFunc) *Engine {
	return &Engine{home: home, cat: cat, lib: lib, dial: dial, owner: currentOwner(), settings: st,
		admin: func() bool { return false }, clients: map[string]Server{}, running: map[string]bool{}, itemsOpen: map[string]int{},
		backupPoll: backupPoll}
}

// Close closes the catalog and the connections.
func (e *Engine) Close() error {
	e.dropClients()
	return e.cat.Close()
}

// Home returns the home folder.
func (e *Engine) Home() string { return e.home }

// Owner is user@host of whoever runs the console.
func (e *Engine) Owner() string { return e.owner }

func currentOwner() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

func (e *Engine) isAdmin() bool { return e.admin() }

// systemAdmin reports whether the current user is an administrator: root,
// or a member of a group the settings name.
func (e *Engine) systemAdmin() bool {
	if os.Geteuid() == 0 {
		return true
	}
	u, err := user.Current()
	if err != nil {
		return false
	}
	gids, _ := u.GroupIds()
	for _, gid := range gids {
		g, err := user.LookupGroupId(gid)
		if err != nil {
			continue
		}
		for _, want := range e.Settings().AdminGroups {
			if g.Name == want {
				return true
			}
		}
	}
	return false
}

// mayRead refuses a restricted set to anyone but its owner or an
// administrator.
func (e *Engine) mayRead(tapeName string, restricted bool, owner string) error {
	if !restricted || owner == e.owner || e.isAdmin() {
		return nil
	}
	return fmt.Errorf("tape %q is restricted to its owner %s or an administrator; you are %s", tapeName, owner, e.owner)
}

// claim marks a tape as being written, so that two jobs never write (or
// erase) one tape at once.
func (e *Engine) claim(name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running[name] {
		return fmt.Errorf("tape %q is being written by another job", name)
	}
	e.running[name] = true
	return nil
}

func (e *Engine) release(name string) {
	e.mu.Lock()
	delete(e.running, name)
	e.mu.Unlock()
}

// Tapes lists the catalog's tapes.
func (e *Engine) Tapes() ([]catalog.Tape, error) { return e.cat.Tapes() }

// Sets lists a tape's sets from the catalog.
func (e *Engine) Sets(tapeID uint64) ([]catalog.Set, error) { return e.cat.Sets(tapeID) }

// TapePresent reports whether a cataloged tape's file is there.
func (e *Engine) TapePresent(t catalog.Tape) bool {
	_, err := os.Stat(t.Location)
	return err == nil
}

// openTape opens a tape by name from the library, or by the location the
// catalog records for it.
func (e *Engine) openTape(name string) (Tape, catalog.Tape, error) {
	ct, cerr := e.cat.TapeByName(name)
	if cerr == nil {
		if t, err := e.lib.OpenPath(ct.Location); err == nil {
			return t, ct, nil
		}
	}
	t, err := e.lib.Open(name)
	if err != nil {
		if cerr == nil {
			return nil, ct, fmt.Errorf("tape %q is cataloged but its file %s is missing", name, ct.Location)
		}
		return nil, ct, tapeErr(name, err)
	}
	if cerr != nil {
		ct = catalog.Tape{}
	}
	return t, ct, nil
}

// tapeErr names the tape in err, once: the library's errors already do.
func tapeErr(name string, err error) error {
	if strings.Contains(err.Error(), fmt.Sprintf("tape %q", name)) {
		return err
	}
	return fmt.Errorf("tape %q: %w", name, err)
}

func storeDevice(server string, store exchange.StoreID) string {
	return `\\` + server + `\` + store.ServiceName()
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
