package imapd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"exbackup/exchange/mail"
)

// Config sets up a Server; zero fields take the defaults shown.
type Config struct {
	TLS         *tls.Config // required: IMAP is served on TLS only (imaps)
	MaxConns    int         // open at once, more get BYE; 200
	AppendLimit uint32      // largest APPEND; 25 MiB
	// Throttle slows down wrong passwords; one with the usual settings.
	Throttle *mail.Throttle
	// SummaryEvery is how often refused logins are summed up in the log;
	// 1 minute.
	SummaryEvery time.Duration
	Log          *slog.Logger
}

// Server is an IMAP listener in front of a Backend.
type Server struct {
	be   mail.Backend
	pub  mail.PublicFolders // be, when it keeps public folders
	cfg  Config
	imap *imapserver.Server
	log  *slog.Logger

	mu      sync.Mutex
	open    map[viewKey]*view
	closing chan struct{}
	once    sync.Once
	stop    func()
}

type viewKey struct{ mailbox, folder string }

// New makes a Server; Serve starts it.
func New(be mail.Backend, cfg Config) (*Server, error) {
	if cfg.TLS == nil {
		return nil, errors.New("the IMAP server needs a TLS certificate")
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 200
	}
	if cfg.AppendLimit == 0 {
		cfg.AppendLimit = 25 << 20
	}
	if cfg.Throttle == nil {
		cfg.Throttle = mail.NewThrottle()
	}
	if cfg.SummaryEvery <= 0 {
		cfg.SummaryEvery = time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{be: be, cfg: cfg, log: cfg.Log, open: map[viewKey]*view{}, closing: make(chan struct{})}
	s.pub, _ = be.(mail.PublicFolders)
	s.imap = imapserver.New(&imapserver.Options{
		NewSession: s.newSession,
		Caps: imap.CapSet{
			imap.CapIMAP4rev1: {}, imap.CapNamespace: {}, imap.CapUIDPlus: {},
			imap.CapMove: {}, imap.CapChildren: {}, imap.CapSpecialUse: {},
		},
		Logger: logAdapter{cfg.Log},
		// The listener is TLS already; imapserver sees a plain net.Conn.
		InsecureAuth: true,
	})
	s.stop = be.Watch(s.changed)
	go cfg.Throttle.Summarize(cfg.Log, "imap", cfg.SummaryEvery, s.closing)
	return s, nil
}

// Serve answers TLS connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	busy := func(c net.Conn) { fmt.Fprintf(c, "* BYE Too many connections, try again later\r\n") }
	err := s.imap.Serve(mail.LimitListener(tls.NewListener(ln, s.cfg.TLS), s.cfg.MaxConns, busy))
	select {
	case <-s.closing:
		return nil
	default:
		return err
	}
}

// Close stops listening and drops every connection.
func (s *Server) Close() error {
	s.once.Do(func() {
		close(s.closing)
		s.stop()
	})
	return s.imap.Close()
}

type logAdapter struct{ l *slog.Logger }

func (a logAdapter) Printf(format string, v ...any) { a.l.Warn("imap: " + fmt.Sprintf(format, v...)) }

func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	return &session{s: s, remote: mail.HostOf(c.NetConn().RemoteAddr())}, nil, nil
}

// changed is the Backend's change hook: it must not block, so the views
// that show the folder are refreshed on their own goroutine.
func (s *Server) changed(c mail.Change) {
	s.mu.Lock()
	v := s.open[viewKey{strings.ToLower(c.Mailbox), c.Folder}]
	s.mu.Unlock()
	// Changes that come while a refresh is pending are covered by it: the
	// flag drops before the refresh reads, so a later change starts another.
	if v != nil && v.pending.CompareAndSwap(false, true) {
		go func() {
			v.pending.Store(false)
			v.refresh(s.be, nil)
		}()
	}
}

// acquire answers the shared view of a folder, fresh.
func (s *Server) acquire(mailbox, folder string) (*view, error) {
	k := viewKey{strings.ToLower(mailbox), folder}
	for try := 0; ; try++ {
		s.mu.Lock()
		v := s.open[k]
		if v == nil || v.isGone() {
			// A folder deleted and made again is another folder: the
			// sessions still on the old view keep it to themselves.
			v = &view{mailbox: mailbox, folder: folder}
			s.open[k] = v
		}
		v.refs++
		s.mu.Unlock()
		err := v.refresh(s.be, nil)
		if err == nil {
			return v, nil
		}
		s.release(v)
		// The view went out of date just now: once more, with a new one.
		if try > 0 || !v.isGone() {
			return nil, err
		}
	}
}

func (s *Server) release(v *view) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := viewKey{strings.ToLower(v.mailbox), v.folder}
	if v.refs--; v.refs == 0 && s.open[k] == v {
		delete(s.open, k)
	}
}

// view is a folder as the sessions that selected it see it. list is the
// server's numbering (sequence number i+1 is list[i]); the tracker turns it
// into each session's numbering, which lags until that session is told.
type view struct {
	mailbox, folder string
	refs            int // guarded by Server.mu
	pending         atomic.Bool

	mu       sync.Mutex
	tracker  *imapserver.MailboxTracker
	validity uint32
	uidNext  mail.UID
	list     []mail.MessageInfo
	gone     bool // deleted, renamed away, or replaced
}

func (v *view) isGone() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.gone
}

// refresh reloads the folder and queues the differences for every session
// but source (which answers its own change itself).
func (v *view) refresh(be mail.Backend, source *imapserver.SessionTracker) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gone {
		return fmt.Errorf("folder %s: %w", v.folder, mail.ErrNoFolder)
	}
	f, err := loadFolder(ctx, be, v.mailbox, v.folder)
	if v.tracker == nil {
		if err != nil {
			return err
		}
		v.tracker = imapserver.NewMailboxTracker(uint32(len(f.List)))
		v.validity, v.uidNext, v.list = f.UIDValidity, f.UIDNext, f.List
		return nil
	}
	if errors.Is(err, mail.ErrNoFolder) || err == nil && f.UIDValidity != v.validity {
		// The folder the sessions selected is no more: to them it empties.
		for i := len(v.list); i > 0; i-- {
			v.tracker.QueueExpunge(uint32(i))
		}
		v.list, v.gone = nil, true
		return fmt.Errorf("folder %s: %w", v.folder, mail.ErrNoFolder)
	}
	if err != nil {
		return err
	}
	v.apply(f, source)
	return nil
}

// apply turns the difference between the shown list and f into tracker
// updates: expunges from the highest sequence number down (so each number
// is valid when it is queued), then flag changes, then the new count.
func (v *view) apply(f mail.Folder, source *imapserver.SessionTracker) {
	present := make(map[mail.UID]int, len(f.List))
	for i, m := range f.List {
		present[m.UID] = i
	}
	shown := len(v.list) // what the tracker counts
	for i := len(v.list) - 1; i >= 0; i-- {
		if _, ok := present[v.list[i].UID]; !ok {
			v.tracker.QueueExpunge(uint32(i + 1))
			shown--
		}
	}
	kept := make([]mail.MessageInfo, 0, len(f.List))
	for _, m := range v.list {
		if j, ok := present[m.UID]; ok {
			kept = append(kept, f.List[j])
			if !sameFlags(m.Flags, f.List[j].Flags) {
				v.tracker.QueueMessageFlags(uint32(len(kept)), imap.UID(m.UID), imapFlags(f.List[j].Flags), source)
			}
		}
	}
	var last mail.UID
	if len(kept) > 0 {
		last = kept[len(kept)-1].UID
	}
	for _, m := range f.List {
		if m.UID > last {
			kept = append(kept, m)
		}
	}
	if len(kept) > shown {
		v.tracker.QueueNumMessages(uint32(len(kept)))
	}
	v.list, v.uidNext = kept, f.UIDNext
}

func sameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !hasFlag(b, x) {
			return false
		}
	}
	return true
}

func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}

func imapFlags(flags []string) []imap.Flag {
	out := make([]imap.Flag, len(flags))
	for i, f := range flags {
		out[i] = imap.Flag(f)
	}
	return out
}

func storeFlags(flags []imap.Flag) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if strings.EqualFold(string(f), `\Recent`) || f == imap.FlagWildcard {
			continue // not a flag a client may set
		}
		out = append(out, string(f))
	}
	return out
}

// imapName is the IMAP name of a store folder: the store's Inbox is INBOX.
func imapName(folder string) string {
	if folder == mail.Inbox {
		return "INBOX"
	}
	if rest, ok := strings.CutPrefix(folder, mail.Inbox+string(mail.Delim)); ok {
		return "INBOX" + string(mail.Delim) + rest
	}
	return folder
}

// storeName is the store folder an IMAP name means; INBOX is any case.
func storeName(name string) string {
	name = strings.TrimRight(name, string(mail.Delim))
	head, rest, sub := strings.Cut(name, string(mail.Delim))
	if strings.EqualFold(head, "INBOX") {
		if sub {
			return mail.Inbox + string(mail.Delim) + rest
		}
		return mail.Inbox
	}
	return name
}
