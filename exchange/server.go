package exchange

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Config is a server's identity and settings, in DATA/server.json.
type Config struct {
	Organization    string    `json:"organization"`
	Site            string    `json:"site"`
	Name            string    `json:"name"`
	Key             string    `json:"key"` // the organization's access key
	CircularLogging bool      `json:"circularLogging"`
	Listen          string    `json:"listen,omitempty"` // last address served
	Created         time.Time `json:"created"`
}

// RunInfo is written to DATA/run.json while a server serves, so that admin
// commands given --data find its address and fingerprint by themselves.
type RunInfo struct {
	Address     string `json:"address"`
	Fingerprint string `json:"fingerprint"`
	PID         int    `json:"pid"`
}

const (
	configFile = "server.json"
	runFile    = "run.json"
	tlsDir     = "tls"
)

// Server is one Exchange-style server: its Directory and Information Store
// services and what it offers through the API.
type Server struct {
	dir         string
	cfg         Config
	cert        tls.Certificate
	fingerprint string
	log         *slog.Logger
	ds, is      *store

	mu      sync.Mutex
	address string
	topo    Topology // last topology read, answered while the DS is stopped
	peers   map[string]*Client
}

var _ Node = (*Server)(nil)

// InitOptions are the arguments of `exserver init`.
type InitOptions struct {
	Dir             string
	Organization    string
	Site            string
	Name            string
	Key             string // required with Join; made when empty otherwise
	Join            string // host:port of a running server of the organization
	JoinFingerprint string // pinned fingerprint of that server; fetched when empty
	CircularLogging bool
}

// Init creates a server's data folder: its settings, certificate, and the
// directory holding the organization (or, joining, what the running server
// answers after registering this one).
func Init(ctx context.Context, o InitOptions) (Config, error) {
	if o.Dir == "" || o.Site == "" || o.Name == "" {
		return Config{}, errors.New("init needs --data, --site and --name")
	}
	if o.Join == "" && o.Organization == "" {
		return Config{}, errors.New("init needs --org (or --join to join an existing organization)")
	}
	if err := validName("server", o.Name); err != nil {
		return Config{}, err
	}
	if err := validName("site", o.Site); err != nil {
		return Config{}, err
	}
	if _, err := os.Stat(filepath.Join(o.Dir, configFile)); err == nil {
		return Config{}, fmt.Errorf("%s already holds a server", o.Dir)
	}
	if o.Join != "" && o.Key == "" {
		return Config{}, errors.New("joining an organization needs its access key (--key)")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return Config{}, err
	}
	if err := GenerateCertificate(filepath.Join(o.Dir, tlsDir), nil); err != nil {
		return Config{}, fmt.Errorf("creating the certificate: %w", err)
	}
	_, fp, err := LoadCertificate(filepath.Join(o.Dir, tlsDir))
	if err != nil {
		return Config{}, err
	}
	cfg := Config{Organization: o.Organization, Site: o.Site, Name: o.Name, Key: o.Key,
		CircularLogging: o.CircularLogging, Created: time.Now().UTC()}
	if cfg.Key == "" {
		cfg.Key = NewKey()
	}
	me := ServerInfo{Name: o.Name, Site: o.Site, Fingerprint: fp}
	topo := Topology{Organization: o.Organization, Sites: []Site{{Name: o.Site, Servers: []ServerInfo{me}}}}
	if o.Join != "" {
		pin := o.JoinFingerprint
		if pin == "" {
			if pin, err = FetchFingerprint(ctx, o.Join); err != nil {
				return Config{}, err
			}
		}
		c, err := Dial(ctx, o.Join, cfg.Key, pin)
		if err != nil {
			return Config{}, err
		}
		defer c.Close()
		if topo, err = c.Join(ctx, me); err != nil {
			return Config{}, fmt.Errorf("joining through %s: %w", o.Join, err)
		}
		if o.Organization != "" && o.Organization != topo.Organization {
			return Config{}, fmt.Errorf("%s belongs to organization %q, not %q", o.Join, topo.Organization, o.Organization)
		}
		cfg.Organization = topo.Organization
	}
	data, _ := json.MarshalIndent(cfg, "", "  ")
	if err := writeFileAtomic(filepath.Join(o.Dir, configFile), data); err != nil {
		return Config{}, err
	}
	s, err := Open(o.Dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return Config{}, err
	}
	defer s.Close()
	if err := s.ds.start(); err != nil {
		return Config{}, err
	}
	if err := s.ds.commit(&op{Kind: opSetOrg, DB: dirEDB, Org: cfg.Organization}); err != nil {
		return Config{}, err
	}
	for _, site := range topo.Sites {
		for _, srv := range site.Servers {
			srv := srv
			if err := s.ds.commit(&op{Kind: opPutServer, DB: dirEDB, Server: &srv}); err != nil {
				return Config{}, err
			}
		}
	}
	if err := s.is.start(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func validName(what, name string) error {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, `\/:*?"<>|`) || strings.TrimSpace(name) != name {
		return fmt.Errorf("%s name %q is not valid (1–64 characters, none of \\/:*?\"<>| and no surrounding spaces)", what, name)
	}
	return nil
}

// LoadConfig reads DATA/server.json.
func LoadConfig(dir string) (Config, error) {
	var cfg Config
	data, err := os.ReadFile(filepath.Join(dir, configFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return cfg, fmt.Errorf("%s holds no server: run exserver init first", dir)
		}
		return cfg, err
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", filepath.Join(dir, configFile), err)
	}
	return cfg, nil
}

// LoadRunInfo reads DATA/run.json of a serving server.
func LoadRunInfo(dir string) (RunInfo, error) {
	var ri RunInfo
	data, err := os.ReadFile(filepath.Join(dir, runFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return ri, fmt.Errorf("the server in %s is not running (no %s)", dir, runFile)
		}
		return ri, err
	}
	return ri, json.Unmarshal(data, &ri)
}

// Open loads a server from its data folder; its services are not started.
func Open(dir string, log *slog.Logger) (*Server, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	cert, fp, err := LoadCertificate(filepath.Join(dir, tlsDir))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{dir: dir, cfg: cfg, cert: cert, fingerprint: fp, log: log, peers: map[string]*Client{}}
	s.ds = newStore(StoreDS, cfg.Name, filepath.Join(dir, "dsadata"), []string{dirEDB}, cfg.CircularLogging)
	s.is = newStore(StoreIS, cfg.Name, filepath.Join(dir, "mdbdata"), []string{privEDB, pubEDB}, cfg.CircularLogging)
	s.topo = Topology{Organization: cfg.Organization}
	return s, nil
}

// Config returns the server's settings.
func (s *Server) Config() Config { return s.cfg }

// Fingerprint returns the server's certificate fingerprint.
func (s *Server) Fingerprint() string { return s.fingerprint }

// Certificate returns the server's TLS certificate.
func (s *Server) Certificate() tls.Certificate { return s.cert }

// StartServices starts the Directory, then the Information Store. A store
// with a restore in progress stays stopped; that is reported, not fatal.
func (s *Server) StartServices() error {
	var errs []error
	for _, st := range []*store{s.ds, s.is} {
		if err := st.start(); err != nil {
			s.log.Warn("service not started", "store", st.id, "err", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close stops both services.
func (s *Server) Close() error {
	errs := []error{s.is.stop(), s.ds.stop()}
	s.mu.Lock()
	for _, c := range s.peers {
		c.Close()
	}
	s.peers = map[string]*Client{}
	s.mu.Unlock()
	return errors.Join(errs...)
}

func (s *Server) storeOf(id StoreID) (*store, error) {
	switch id {
	case StoreDS:
		return s.ds, nil
	case StoreIS:
		return s.is, nil
	}
	return nil, Errorf(CodeBadRequest, "unknown store %q (DS or IS)", id)
}

// Status implements Node.
func (s *Server) Status(ctx context.Context) (Status, error) {
	return Status{Organization: s.cfg.Organization, Site: s.cfg.Site, Name: s.cfg.Name,
		DS: s.ds.state(), IS: s.is.state(), CircularLogging: s.cfg.CircularLogging}, nil
}

// Topology implements Node.
func (s *Server) Topology(ctx context.Context) (Topology, error) {
	topo := Topology{Organization: s.cfg.Organization}
	err := s.ds.view(dirEDB, func(tx *bolt.Tx) error {
		if b := tx.Bucket(bOrg); b != nil {
			if v := b.Get(kName); v != nil {
				topo.Organization = string(v)
			}
		}
		sites := tx.Bucket(bSites)
		if sites == nil {
			return nil
		}
		return sites.ForEachBucket(func(k []byte) error {
			site := Site{Name: string(k)}
			err := sites.Bucket(k).ForEach(func(_, v []byte) error {
				var si ServerInfo
				if err := json.Unmarshal(v, &si); err != nil {
					return err
				}
				site.Servers = append(site.Servers, si)
				return nil
			})
			topo.Sites = append(topo.Sites, site)
			return err
		})
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if errors.Is(err, ErrNotRunning) && len(s.topo.Sites) > 0 {
			return s.topo, nil
		}
		if errors.Is(err, ErrNotRunning) {
			// Never read: answer this server alone.
			return Topology{Organization: s.cfg.Organization, Sites: []Site{{Name: s.cfg.Site,
				Servers: []ServerInfo{{Name: s.cfg.Name, Site: s.cfg.Site, Address: s.address, Fingerprint: s.fingerprint}}}}}, nil
		}
		return Topology{}, err
	}
	sort.Slice(topo.Sites, func(i, j int) bool { return topo.Sites[i].Name < topo.Sites[j].Name })
	s.topo = topo
	return topo, nil
}

func (t Topology) find(name string) (ServerInfo, bool) {
	for _, site := range t.Sites {
		for _, srv := range site.Servers {
			if srv.Name == name {
				return srv, true
			}
		}
	}
	return ServerInfo{}, false
}

// Join implements Node: it records the new server and passes it on.
func (s *Server) Join(ctx context.Context, in ServerInfo) (Topology, error) {
	if err := validName("server", in.Name); err != nil {
		return Topology{}, Errorf(CodeBadRequest, "%v", err)
	}
	if err := validName("site", in.Site); err != nil {
		return Topology{}, Errorf(CodeBadRequest, "%v", err)
	}
	topo, err := s.Topology(ctx)
	if err != nil {
		return Topology{}, err
	}
	if old, ok := topo.find(in.Name); ok && (old.Site != in.Site || (old.Fingerprint != "" && old.Fingerprint != in.Fingerprint)) {
		return Topology{}, Errorf(CodeConflict, "the organization already has a server named %s (site %s)", in.Name, old.Site)
	}
	if err := s.UpdateServer(ctx, in); err != nil {
		return Topology{}, err
	}
	s.passOn(topo, in)
	return s.Topology(ctx)
}

// UpdateServer implements Node.
func (s *Server) UpdateServer(ctx context.Context, in ServerInfo) error {
	if err := validName("server", in.Name); err != nil {
		return Errorf(CodeBadRequest, "%v", err)
	}
	if err := validName("site", in.Site); err != nil {
		return Errorf(CodeBadRequest, "%v", err)
	}
	if in.Name == s.cfg.Name && in.Fingerprint != s.fingerprint {
		return Errorf(CodeConflict, "%s is this server: another server cannot take its name", in.Name)
	}
	return s.ds.commit(&op{Kind: opPutServer, DB: dirEDB, Server: &in})
}

// passOn sends a server object to the other servers of the organization, in
// the background: a server that is down learns it when the new one
// announces its address.
func (s *Server) passOn(topo Topology, in ServerInfo) {
	for _, site := range topo.Sites {
		for _, peer := range site.Servers {
			if peer.Name == s.cfg.Name || peer.Name == in.Name || peer.Address == "" {
				continue
			}
			go func(peer ServerInfo) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err := s.peer(ctx, peer)
				if err == nil {
					err = c.UpdateServer(ctx, in)
				}
				if err != nil {
					s.log.Warn("could not pass a server object on", "to", peer.Name, "server", in.Name, "err", err)
				}
			}(peer)
		}
	}
}

func (s *Server) peer(ctx context.Context, p ServerInfo) (*Client, error) {
	s.mu.Lock()
	c := s.peers[p.Name]
	s.mu.Unlock()
	if c != nil && c.Addr() == p.Address {
		return c, nil
	}
	c, err := Dial(ctx, p.Address, s.cfg.Key, p.Fingerprint)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if old := s.peers[p.Name]; old != nil {
		old.Close()
	}
	s.peers[p.Name] = c
	s.mu.Unlock()
	return c, nil
}

// announce records this server's address in its directory and tells the
// other servers.
func (s *Server) announce(addr string) {
	s.mu.Lock()
	s.address = addr
	s.mu.Unlock()
	me := ServerInfo{Name: s.cfg.Name, Site: s.cfg.Site, Address: addr, Fingerprint: s.fingerprint}
	if err := s.ds.commit(&op{Kind: opPutServer, DB: dirEDB, Server: &me}); err != nil {
		s.log.Warn("could not record the address", "err", err)
	}
	topo, err := s.Topology(context.Background())
	if err == nil {
		s.passOn(topo, me)
	}
}

// Recipients implements Node.
func (s *Server) Recipients(ctx context.Context) ([]Recipient, error) {
	var out []Recipient
	err := s.ds.view(dirEDB, func(tx *bolt.Tx) error {
		b := tx.Bucket(bRecipients)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var r Recipient
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}

// StartService implements Node.
func (s *Server) StartService(ctx context.Context, id StoreID) error {
	st, err := s.storeOf(id)
	if err != nil {
		return err
	}
	if id == StoreIS && !s.ds.isRunning() {
		return Errorf(CodeRefused, "the Microsoft Information Store on %s needs the Microsoft Directory: start the Directory first", s.cfg.Name)
	}
	s.log.Info("starting service", "store", id)
	return st.start()
}

// StopService implements Node. Stopping the Directory stops the Information
// Store first, which depends on it.
func (s *Server) StopService(ctx context.Context, id StoreID) error {
	st, err := s.storeOf(id)
	if err != nil {
		return err
	}
	s.log.Info("stopping service", "store", id)
	if id == StoreDS {
		if _, err := s.Topology(ctx); err != nil {
			s.log.Warn("topology not cached", "err", err)
		}
		if err := s.is.stop(); err != nil {
			return Errorf(CodeInternal, "stopping the Microsoft Information Store on %s: %v", s.cfg.Name, err)
		}
	}
	if err := st.stop(); err != nil {
		return Errorf(CodeInternal, "stopping %s: %v", st.what(), err)
	}
	return nil
}

// BackupPrepare implements Node.
func (s *Server) BackupPrepare(ctx context.Context, id StoreID, t BackupType) (BackupInfo, error) {
	st, err := s.storeOf(id)
	if err != nil {
		return BackupInfo{}, err
	}
	sess, err := st.backupPrepare(t, RestoreEnv{Organization: s.cfg.Organization, Site: s.cfg.Site, Server: s.cfg.Name})
	if err != nil {
		return BackupInfo{}, err
	}
	s.log.Info("backup prepared", "store", id, "type", t, "session", sess.id, "low", sess.info.Env.LowGen, "high", sess.info.Env.HighGen)
	return sess.info, nil
}

func (s *Server) backupSession(id string) (*store, *backupSession, error) {
	for _, st := range []*store{s.ds, s.is} {
		st.smu.Lock()
		sess := st.session
		st.smu.Unlock()
		if sess != nil && sess.id == id {
			return st, sess, nil
		}
	}
	return nil, nil, Errorf(CodeNotFound, "no backup session %q on %s (it ended or was abandoned)", id, s.cfg.Name)
}

// BackupRead implements Node.
func (s *Server) BackupRead(ctx context.Context, session, file string) (io.ReadCloser, error) {
	_, sess, err := s.backupSession(session)
	if err != nil {
		return nil, err
	}
	return sess.open(file)
}

// BackupEnd implements Node.
func (s *Server) BackupEnd(ctx context.Context, session string, success bool) error {
	st, _, err := s.backupSession(session)
	if err != nil {
		return err
	}
	err = st.backupEnd(session, success)
	s.log.Info("backup ended", "store", st.id, "session", session, "success", success, "err", err)
	return err
}

// RestorePrepare implements Node: the rules of Exchange 5.5 are checked
// before anything is touched.
func (s *Server) RestorePrepare(ctx context.Context, req RestoreRequest) (RestoreInfo, error) {
	env := req.Env
	st, err := s.storeOf(env.Store)
	if err != nil {
		return RestoreInfo{}, err
	}
	if env.Organization != s.cfg.Organization {
		return RestoreInfo{}, Errorf(CodeRefused, "the set belongs to organization %q; %s is in %q: a set restores only within its organization", env.Organization, s.cfg.Name, s.cfg.Organization)
	}
	if env.Site != s.cfg.Site {
		return RestoreInfo{}, Errorf(CodeRefused, "the set comes from site %q; %s is in site %q: a set restores only to a server of its own site", env.Site, s.cfg.Name, s.cfg.Site)
	}
	var warnings []string
	if env.Store == StoreDS {
		if env.Server != s.cfg.Name {
			return RestoreInfo{}, Errorf(CodeRefused, "the Directory of %s can only be restored to %s, its original server", env.Server, env.Server)
		}
		topo := s.topo
		var others []string
		for _, site := range topo.Sites {
			if site.Name != s.cfg.Site && len(site.Servers) > 0 {
				others = append(others, site.Name)
			}
		}
		if len(others) > 0 {
			warnings = append(warnings, fmt.Sprintf("Sites %s still hold the server object of %s: until directory replication catches up they may show invalid users.", strings.Join(others, ", "), s.cfg.Name))
		}
	} else if env.Type.Full() {
		if !req.Private && !req.Public {
			return RestoreInfo{}, Errorf(CodeBadRequest, "choose Private, Public or both to restore the Information Store")
		}
		if env.Server != s.cfg.Name && !(req.Erase && req.Private && req.Public) {
			return RestoreInfo{}, Errorf(CodeRefused, "restoring the Information Store of %s to %s requires Erase all existing data and both Private and Public", env.Server, s.cfg.Name)
		}
	}
	rs, w, err := st.restorePrepare(req)
	if err != nil {
		return RestoreInfo{}, err
	}
	s.log.Info("restore prepared", "store", env.Store, "type", env.Type, "from", env.Server, "session", rs.id)
	return RestoreInfo{Session: rs.id, Warnings: append(warnings, w...)}, nil
}

func (s *Server) restoreSession(id string) (*restoreSession, error) {
	for _, st := range []*store{s.ds, s.is} {
		st.smu.Lock()
		rs := st.restore
		st.smu.Unlock()
		if rs != nil && rs.id == id {
			return rs, nil
		}
	}
	return nil, Errorf(CodeNotFound, "no restore session %q on %s", id, s.cfg.Name)
}

// RestoreWrite implements Node.
func (s *Server) RestoreWrite(ctx context.Context, session, file string, r io.Reader) error {
	rs, err := s.restoreSession(session)
	if err != nil {
		return err
	}
	return rs.write(file, r)
}

// RestoreComplete implements Node.
func (s *Server) RestoreComplete(ctx context.Context, session string) (RestoreResult, error) {
	rs, err := s.restoreSession(session)
	if err != nil {
		return RestoreResult{}, err
	}
	if rs.req.Start && rs.req.Last && rs.st.id == StoreIS && !s.ds.isRunning() {
		if err := s.ds.start(); err != nil {
			return RestoreResult{}, err
		}
	}
	res, err := rs.complete()
	s.log.Info("restore completed", "store", rs.st.id, "recovered", res.Recovered, "err", err)
	return res, err
}

// CreateMailbox implements Node: a recipient in the Directory and a mailbox
// with its default folders in the private store.
func (s *Server) CreateMailbox(ctx context.Context, r Recipient) error {
	if r.Alias == "" {
		return Errorf(CodeBadRequest, "a mailbox needs an alias")
	}
	if r.HomeServer == "" {
		r.HomeServer = s.cfg.Name
	}
	if r.HomeServer != s.cfg.Name {
		return Errorf(CodeBadRequest, "mailbox %s has home server %s, not %s", r.Alias, r.HomeServer, s.cfg.Name)
	}
	if r.DisplayName == "" {
		r.DisplayName = r.Alias
	}
	if !s.is.isRunning() {
		return Errorf(CodeNotRunning, "the Microsoft Information Store on %s is not running", s.cfg.Name)
	}
	if err := s.ds.commit(&op{Kind: opPutRecipient, DB: dirEDB, Recipient: &r}); err != nil {
		return err
	}
	return s.is.commit(&op{Kind: opMailbox, DB: privEDB, Recipient: &r})
}

// Deliver implements Node.
func (s *Server) Deliver(ctx context.Context, m Message) error {
	if err := m.normalize(); err != nil {
		return err
	}
	var exists bool
	check := func(tx *bolt.Tx) error {
		if mbs := tx.Bucket(bMailboxes); mbs != nil {
			exists = mbs.Bucket([]byte(m.Mailbox)) != nil
		}
		return nil
	}
	// Mailboxes are never removed: one already applied needs no wait; one
	// not found yet may have been acknowledged a moment ago.
	err := s.is.viewApplied(privEDB, check)
	if err == nil && !exists {
		err = s.is.view(privEDB, check)
	}
	if err != nil {
		return err
	}
	if !exists {
		return Errorf(CodeNotFound, "there is no mailbox %q on %s", m.Mailbox, s.cfg.Name)
	}
	return s.is.commit(&op{Kind: opDeliver, DB: privEDB, Message: &m})
}

// Post implements Node.
func (s *Server) Post(ctx context.Context, p Post) error {
	if err := p.normalize(); err != nil {
		return err
	}
	return s.is.commit(&op{Kind: opPost, DB: pubEDB, Post: &p})
}

// SetGroupCommit turns group commit off (every message its own log write
// and fsync) or on; it exists to measure what group commit buys.
func (s *Server) SetGroupCommit(on bool) {
	limit := 1
	if on {
		limit = maxBatch
	}
	for _, st := range []*store{s.ds, s.is} {
		st.control(func() error { st.batchLimit = limit; return nil })
	}
}
