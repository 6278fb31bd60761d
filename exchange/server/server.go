package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/client"
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
	SMTP        string `json:"smtp,omitempty"`   // HOST:PORT of SMTP (STARTTLS)
	IMAP        string `json:"imaps,omitempty"`  // HOST:PORT of IMAP over TLS
	Domain      string `json:"domain,omitempty"` // the first mail domain: mailboxes are ALIAS@Domain
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
	limits      Limits
	ds, is      *store

	mu      sync.Mutex
	address string
	topo    exchange.Topology // last topology read, answered while the DS is stopped
	peers   map[string]*client.Client

	keepStaged bool // StartServices leaves a staged restore staged (KeepStagedRestores)

	mailw    watchers    // mail.Backend Watch callbacks (mailbackend.go)
	mailOpts MailOptions // the mail listeners Serve opens (listeners.go)
	running  *RunInfo    // while serving
}

var _ exchange.Node = (*Server)(nil)

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
	Domain          string // the organization's mail domain; DefaultDomain of its name when empty
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
	if o.Domain != "" {
		if err := validDomain(o.Domain); err != nil {
			return Config{}, err
		}
	}
	if _, err := os.Stat(filepath.Join(o.Dir, configFile)); err == nil {
		return Config{}, fmt.Errorf("%s already holds a server", o.Dir)
	}
	if o.Join != "" && o.Key == "" {
		return Config{}, errors.New("joining an organization needs its access key (--key)")
	}
	if o.Key != "" {
		if err := CheckKey(o.Key); err != nil {
			return Config{}, err
		}
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
	me := exchange.ServerInfo{Name: o.Name, Site: o.Site, Fingerprint: fp}
	topo := exchange.Topology{Organization: o.Organization, Sites: []exchange.Site{{Name: o.Site, Servers: []exchange.ServerInfo{me}}}}
	if o.Join != "" {
		pin := o.JoinFingerprint
		if pin == "" {
			if pin, err = client.FetchFingerprint(ctx, o.Join); err != nil {
				return Config{}, err
			}
		}
		c, err := client.Dial(ctx, o.Join, cfg.Key, pin)
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
	if o.Domain == "" {
		o.Domain = DefaultDomain(cfg.Organization)
	}
	if err := s.SetDomains([]string{o.Domain}); err != nil {
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
	s := &Server{dir: dir, cfg: cfg, cert: cert, fingerprint: fp, log: log, limits: DefaultLimits(), peers: map[string]*client.Client{}}
	s.ds = newStore(exchange.StoreDS, cfg.Name, filepath.Join(dir, "dsadata"), []string{dirEDB}, cfg.CircularLogging)
	s.is = newStore(exchange.StoreIS, cfg.Name, filepath.Join(dir, "mdbdata"), []string{privEDB, pubEDB}, cfg.CircularLogging)
	s.ds.events, s.is.events = log, log
	s.topo = exchange.Topology{Organization: cfg.Organization}
	return s, nil
}

// Config returns the server's settings.
func (s *Server) Config() Config { return s.cfg }

// Fingerprint returns the server's certificate fingerprint.
func (s *Server) Fingerprint() string { return s.fingerprint }

// Certificate returns the server's TLS certificate.
func (s *Server) Certificate() tls.Certificate { return s.cert }

// KeepStagedRestores makes StartServices leave a store whose restore is
// staged stopped and restore-pending, for a later set of its chain or an
// administrator's Start Service, instead of recovering it. For a server
// that a console starts and stops with each of its commands (the demo
// organization): its starting is not a server restarting, and recovering
// there would end a chain the administrator is restoring set by set.
func (s *Server) KeepStagedRestores() { s.keepStaged = true }

// StartServices starts the Directory, then the Information Store. A store
// with a staged restore recovers it first (unless KeepStagedRestores); one
// that cannot stays stopped, and that is reported, not fatal.
func (s *Server) StartServices() error {
	var errs []error
	for _, st := range []*store{s.ds, s.is} {
		if s.keepStaged {
			if m, err := readMarker(st.dir); err == nil && m != nil && m.Phase == phaseStaging {
				s.log.Info("restore staged: service left stopped until it is started", "store", st.id)
				continue
			}
		}
		res, err := st.startReport()
		s.logRecovery(st, res, err)
		if err != nil {
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
	s.peers = map[string]*client.Client{}
	s.mu.Unlock()
	return errors.Join(errs...)
}

func (s *Server) storeOf(id exchange.StoreID) (*store, error) {
	switch id {
	case exchange.StoreDS:
		return s.ds, nil
	case exchange.StoreIS:
		return s.is, nil
	}
	return nil, exchange.Errorf(exchange.CodeBadRequest, "unknown store %q (DS or IS)", id)
}

// Status implements Node.
func (s *Server) Status(ctx context.Context) (exchange.Status, error) {
	st := exchange.Status{Organization: s.cfg.Organization, Site: s.cfg.Site, Name: s.cfg.Name,
		DS: s.ds.state(), IS: s.is.state(), CircularLogging: s.cfg.CircularLogging}
	for _, x := range []*store{s.ds, s.is} {
		if r, ok := x.staged(); ok {
			st.Restores = append(st.Restores, r)
		}
		if b, ok := x.backupShown(); ok {
			st.Backups = append(st.Backups, b)
		}
	}
	return st, nil
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
