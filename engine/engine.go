package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"exbackup/catalog"
	"exbackup/exchange"
	"exbackup/internal/durable"
	"exbackup/tape"
)

// ServerConn is how the console reaches one server: its address and the
// certificate fingerprint pinned for it.
type ServerConn struct {
	Address     string `json:"address"`
	Fingerprint string `json:"fingerprint"`
}

// Settings are the console's settings, in $EXBACKUP_HOME/settings.json: the
// organization it is connected to and who counts as an administrator.
type Settings struct {
	Organization string                `json:"organization,omitempty"`
	Key          string                `json:"key,omitempty"`
	Entry        string                `json:"entry,omitempty"` // the server connected through
	Servers      map[string]ServerConn `json:"servers,omitempty"`
	Demo         bool                  `json:"demo,omitempty"` // connected to the built-in demo organization
	// AdminGroups name the Unix groups whose members are administrators:
	// they may restore and verify restricted tapes of any owner.
	AdminGroups []string `json:"adminGroups,omitempty"`
	LastTape    string   `json:"lastTape,omitempty"` // appended to when no tape is named
}

const settingsFile = "settings.json"

// LoadSettings reads the settings of a home folder (zero settings when there
// are none yet).
func LoadSettings(home string) (Settings, error) {
	var s Settings
	data, err := os.ReadFile(filepath.Join(home, settingsFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%s: %w", filepath.Join(home, settingsFile), err)
	}
	return s, nil
}

// Connected reports whether the settings name an organization.
func (s Settings) Connected() bool { return s.Entry != "" && s.Key != "" }

// Engine runs the console's jobs against one home folder: its catalog, its
// tape library and its settings.
type Engine struct {
	home  string
	cat   *catalog.Catalog
	lib   *tape.Library
	owner string
	admin func() bool // whether the current user is an administrator

	mu       sync.Mutex
	settings Settings
	clients  map[string]*exchange.Client
	running  map[string]bool // tapes being written, by name

	catalogNotice string // what opening the catalog found (catalogrepair.go)
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
	e := &Engine{home: home, cat: cat, lib: lib, owner: currentOwner(), settings: st,
		clients: map[string]*exchange.Client{}, running: map[string]bool{}}
	e.admin = e.systemAdmin
	e.checkCatalog(reset)
	return e, nil
}

// Close closes the catalog and the connections.
func (e *Engine) Close() error {
	e.mu.Lock()
	for _, c := range e.clients {
		c.Close()
	}
	e.clients = map[string]*exchange.Client{}
	e.mu.Unlock()
	return e.cat.Close()
}

// Home returns the home folder.
func (e *Engine) Home() string { return e.home }

// Library returns the tape library.
func (e *Engine) Library() *tape.Library { return e.lib }

// Catalog returns the catalog (for reading).
func (e *Engine) Catalog() *catalog.Catalog { return e.cat }

// Settings returns the current settings.
func (e *Engine) Settings() Settings {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.settings
}

// SaveSettings replaces the settings and writes them.
func (e *Engine) SaveSettings(s Settings) error {
	data, _ := json.MarshalIndent(s, "", "  ")
	if err := durable.WriteFile(filepath.Join(e.home, settingsFile), data, 0o600); err != nil {
		return err
	}
	e.mu.Lock()
	e.settings = s
	for _, c := range e.clients {
		c.Close()
	}
	e.clients = map[string]*exchange.Client{}
	e.mu.Unlock()
	return nil
}

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

// FetchFingerprint reads a server's certificate fingerprint, to be shown and
// confirmed before it is pinned.
func (e *Engine) FetchFingerprint(ctx context.Context, addr string) (string, error) {
	return exchange.FetchFingerprint(ctx, addr)
}

// Connect connects to an organization through one of its servers, whose
// fingerprint the administrator confirmed, and records every server of the
// topology with the fingerprint the directory holds for it.
func (e *Engine) Connect(ctx context.Context, addr, key, fingerprint string) error {
	return e.connect(ctx, addr, key, fingerprint, false)
}

// ConnectDemo is Connect for the built-in demo organization.
func (e *Engine) ConnectDemo(ctx context.Context, addr, key, fingerprint string) error {
	return e.connect(ctx, addr, key, fingerprint, true)
}

func (e *Engine) connect(ctx context.Context, addr, key, fingerprint string, demo bool) error {
	c, err := exchange.Dial(ctx, addr, key, fingerprint)
	if err != nil {
		return err
	}
	defer c.Close()
	topo, err := c.Topology(ctx)
	if err != nil {
		return err
	}
	st := e.Settings()
	st.Organization, st.Key, st.Entry, st.Demo = topo.Organization, key, addr, demo
	st.Servers = map[string]ServerConn{}
	for _, site := range topo.Sites {
		for _, srv := range site.Servers {
			st.Servers[srv.Name] = ServerConn{Address: srv.Address, Fingerprint: srv.Fingerprint}
		}
	}
	if status, err := c.Status(ctx); err == nil {
		st.Servers[status.Name] = ServerConn{Address: addr, Fingerprint: fingerprint}
	}
	return e.SaveSettings(st)
}

// client returns a connection to the named server.
func (e *Engine) client(ctx context.Context, server string) (*exchange.Client, error) {
	e.mu.Lock()
	c := e.clients[server]
	st := e.settings
	e.mu.Unlock()
	if c != nil {
		return c, nil
	}
	if !st.Connected() {
		return nil, errors.New("not connected to an organization: use Operations > Microsoft Exchange… or exbackup connect")
	}
	conn, ok := st.Servers[server]
	if !ok || conn.Address == "" {
		if err := e.refresh(ctx); err != nil {
			return nil, err
		}
		st = e.Settings()
		if conn, ok = st.Servers[server]; !ok {
			return nil, fmt.Errorf("server %s is not in organization %s", server, st.Organization)
		}
		if conn.Address == "" {
			return nil, fmt.Errorf("server %s has never announced its address", server)
		}
	}
	c, err := exchange.Dial(ctx, conn.Address, st.Key, conn.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("server %s: %w", server, err)
	}
	e.mu.Lock()
	if old := e.clients[server]; old != nil {
		c.Close()
		c = old
	} else {
		e.clients[server] = c
	}
	e.mu.Unlock()
	return c, nil
}

// refresh reads the topology again through the entry server and records
// addresses that changed (fingerprints pinned earlier never change).
func (e *Engine) refresh(ctx context.Context) error {
	st := e.Settings()
	entry := ""
	var fp string
	for _, conn := range st.Servers {
		if conn.Address == st.Entry {
			entry, fp = conn.Address, conn.Fingerprint
		}
	}
	if entry == "" {
		return fmt.Errorf("the entry server %s is unknown: connect again", st.Entry)
	}
	c, err := exchange.Dial(ctx, entry, st.Key, fp)
	if err != nil {
		return err
	}
	defer c.Close()
	topo, err := c.Topology(ctx)
	if err != nil {
		return err
	}
	changed := false
	for _, site := range topo.Sites {
		for _, srv := range site.Servers {
			old, ok := st.Servers[srv.Name]
			if ok && old.Fingerprint != "" && srv.Fingerprint != "" && old.Fingerprint != srv.Fingerprint {
				return fmt.Errorf("server %s now presents certificate %s, not the pinned %s: refusing it", srv.Name, srv.Fingerprint, old.Fingerprint)
			}
			if !ok || old.Address != srv.Address {
				if st.Servers == nil {
					st.Servers = map[string]ServerConn{}
				}
				st.Servers[srv.Name] = ServerConn{Address: srv.Address, Fingerprint: firstNonEmpty(old.Fingerprint, srv.Fingerprint)}
				changed = true
			}
		}
	}
	if changed {
		return e.SaveSettings(st)
	}
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Organization answers the topology and each server's status. Servers that
// do not answer within a few seconds are listed as unreachable.
func (e *Engine) Organization(ctx context.Context) (Org, error) {
	if err := e.refresh(ctx); err != nil {
		return Org{}, err
	}
	st := e.Settings()
	c, err := e.client(ctx, e.entryName())
	if err != nil {
		return Org{}, err
	}
	topo, err := c.Topology(ctx)
	if err != nil {
		return Org{}, err
	}
	org := Org{Topology: topo, Status: map[string]exchange.Status{}, Unreachable: map[string]string{}, Demo: st.Demo}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, site := range topo.Sites {
		for _, srv := range site.Servers {
			wg.Add(1)
			go func(name string) {
				defer wg.Done()
				sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				var status exchange.Status
				c, err := e.client(sctx, name)
				if err == nil {
					status, err = c.Status(sctx)
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					org.Unreachable[name] = err.Error()
					return
				}
				org.Status[name] = status
			}(srv.Name)
		}
	}
	wg.Wait()
	return org, nil
}

func (e *Engine) entryName() string {
	st := e.Settings()
	names := make([]string, 0, len(st.Servers))
	for name, conn := range st.Servers {
		if conn.Address == st.Entry {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
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
func (e *Engine) openTape(name string) (*tape.Tape, catalog.Tape, error) {
	ct, cerr := e.cat.TapeByName(name)
	if cerr == nil {
		if t, err := tape.Open(ct.Location); err == nil {
			return t, ct, nil
		}
	}
	t, err := e.lib.Open(name)
	if err != nil {
		if cerr == nil {
			return nil, ct, fmt.Errorf("tape %q is cataloged but its file %s is missing", name, ct.Location)
		}
		return nil, ct, fmt.Errorf("tape %q: %w", name, err)
	}
	if cerr != nil {
		ct = catalog.Tape{}
	}
	return t, ct, nil
}

func storeDevice(server string, store exchange.StoreID) string {
	return `\\` + server + `\` + store.ServiceName()
}

// parseDevice reads `\\SERVER\Microsoft Information Store`.
func parseDevice(dev string) (server string, store exchange.StoreID, ok bool) {
	rest, found := strings.CutPrefix(dev, `\\`)
	if !found {
		return "", "", false
	}
	server, svc, found := strings.Cut(rest, `\`)
	if !found {
		return "", "", false
	}
	for _, id := range []exchange.StoreID{exchange.StoreDS, exchange.StoreIS} {
		if svc == id.ServiceName() {
			return server, id, true
		}
	}
	return "", "", false
}
