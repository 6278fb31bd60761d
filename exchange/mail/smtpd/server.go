package smtpd

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"exbackup/exchange/mail"
)

// Config sets up a Server; zero fields take the defaults shown.
type Config struct {
	Hostname        string      // in the greeting and Received: lines; "localhost"
	TLS             *tls.Config // offered with STARTTLS; nil offers none
	MaxMessageBytes int64       // larger messages get 552; 25 MiB
	MaxRecipients   int         // per message; 100
	MaxConns        int         // open at once, more get 421; 100
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration // each 2 minutes
	// DeliverTimeout bounds how long a message waits for the store before
	// the client is told to retry; 1 minute.
	DeliverTimeout time.Duration
	// SummaryEvery is how often refused recipients are summed up in the
	// log; 1 minute.
	SummaryEvery time.Duration
	Log          *slog.Logger
}

// Server is an SMTP listener in front of a Backend.
type Server struct {
	be   mail.Backend
	cfg  Config
	smtp *smtp.Server
	log  *slog.Logger

	delivered atomic.Int64
	refused   atomic.Int64
	aborted   atomic.Int64
	// Refused recipients are summed up in the log now and then, not
	// logged one by one: a relay probe must not flood the log.
	relays, unknown mail.Tally
	closing         chan struct{}
	once            sync.Once
}

// New makes a Server; Serve starts it.
func New(be mail.Backend, cfg Config) *Server {
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 25 << 20
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = 100
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 100
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 2 * time.Minute
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 2 * time.Minute
	}
	if cfg.DeliverTimeout <= 0 {
		cfg.DeliverTimeout = time.Minute
	}
	if cfg.SummaryEvery <= 0 {
		cfg.SummaryEvery = time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{be: be, cfg: cfg, log: cfg.Log, closing: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = cfg.Hostname
	srv.TLSConfig = cfg.TLS
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = cfg.MaxRecipients
	srv.ReadTimeout = cfg.ReadTimeout
	srv.WriteTimeout = cfg.WriteTimeout
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = logAdapter{cfg.Log}
	s.smtp = srv
	go s.summarize()
	return s
}

func (s *Server) summarize() {
	tk := time.NewTicker(s.cfg.SummaryEvery)
	defer tk.Stop()
	for {
		select {
		case <-tk.C:
		case <-s.closing:
			s.logSummary()
			return
		}
		s.logSummary()
	}
}

func (s *Server) logSummary() {
	s.relays.LogSummary(s.log, "smtp: relaying refused", "smtp")
	s.unknown.LogSummary(s.log, "smtp: unknown recipients refused", "smtp")
}

// Serve answers connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	busy := func(c net.Conn) {
		fmt.Fprintf(c, "421 4.7.0 %s Too many connections, try again later\r\n", s.cfg.Hostname)
	}
	err := s.smtp.Serve(mail.LimitListener(ln, s.cfg.MaxConns, busy))
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops listening and drops every connection; a message not yet
// acknowledged is not delivered.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.closing) })
	return s.smtp.Close()
}

// Stats counts what a Server did since it was made.
type Stats struct {
	Delivered int64 // messages acknowledged with 250
	Refused   int64 // recipients refused (relaying, unknown mailbox)
	Aborted   int64 // messages cut off before their end, or too large
}

// Stats answers the counts so far.
func (s *Server) Stats() Stats {
	return Stats{Delivered: s.delivered.Load(), Refused: s.refused.Load(), Aborted: s.aborted.Load()}
}

type logAdapter struct{ l *slog.Logger }

func (a logAdapter) Printf(format string, v ...any) { a.l.Warn("smtp: " + fmt.Sprintf(format, v...)) }
func (a logAdapter) Println(v ...any) {
	a.l.Warn("smtp: " + strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

// session is one SMTP conversation; a message's state lasts from MAIL to
// the end of DATA or RSET.
type session struct {
	s     *Server
	conn  *smtp.Conn
	from  string
	rcpts []string // addresses as given, for Received: "for"
	boxes []string // resolved aliases, without repeats
}

var (
	errRelay = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "Relaying denied: this server accepts mail only for its own organization"}
	errNoMailbox = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "No such mailbox here"}
	errBadAddress = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3},
		Message: "Bad recipient address syntax"}
	errTryLater = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "The mail store cannot take the message now; try again later"}
	errAborted = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2},
		Message: "Message transfer aborted; nothing was delivered"}
)

func (ss *session) Reset() { ss.from, ss.rcpts, ss.boxes = "", nil, nil }

func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	ss.Reset()
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if strings.ContainsAny(to, " \t\r\n<>") || strings.Count(to, "@") != 1 {
		return errBadAddress
	}
	ctx, cancel := context.WithTimeout(context.Background(), ss.s.cfg.DeliverTimeout)
	defer cancel()
	alias, err := ss.s.be.Resolve(ctx, to)
	switch {
	case errors.Is(err, mail.ErrNotLocal):
		ss.s.refused.Add(1)
		ss.s.relays.Add(mail.HostOf(ss.conn.Conn().RemoteAddr()))
		return errRelay
	case errors.Is(err, mail.ErrNoMailbox):
		ss.s.refused.Add(1)
		ss.s.unknown.Add(mail.HostOf(ss.conn.Conn().RemoteAddr()))
		return errNoMailbox
	case err != nil:
		ss.s.log.Warn("smtp: resolving a recipient failed", "to", to, "err", err)
		return errTryLater
	}
	ss.rcpts = append(ss.rcpts, to)
	for _, b := range ss.boxes {
		if strings.EqualFold(b, alias) {
			return nil
		}
	}
	ss.boxes = append(ss.boxes, alias)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	now := time.Now()
	var body bytes.Buffer
	if _, err := body.ReadFrom(r); err != nil {
		// Too large, or the client went away before the final dot: the
		// message is incomplete and nothing is stored.
		ss.s.aborted.Add(1)
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se
		}
		ss.s.log.Info("smtp: message transfer aborted", "remote", mail.HostOf(ss.conn.Conn().RemoteAddr()), "err", err)
		return errAborted
	}
	data := ss.trace(now, body.Bytes())
	meta, _ := mail.Parse(data) // a broken header is stored as it came
	ctx, cancel := context.WithTimeout(context.Background(), ss.s.cfg.DeliverTimeout)
	defer cancel()
	err := ss.s.be.Deliver(ctx, mail.Delivery{From: ss.from, Mailboxes: ss.boxes, Data: data, Meta: meta, ReceivedAt: now})
	if err != nil {
		ss.s.log.Warn("smtp: delivery failed", "from", ss.from, "mailboxes", ss.boxes, "err", err)
		return errTryLater
	}
	ss.s.delivered.Add(1)
	return nil
}

// trace prepends what the delivering MTA adds (RFC 5321 4.4): the
// Return-Path of the envelope sender and a Received: line.
func (ss *session) trace(now time.Time, body []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(body) + 256)
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", ss.from)
	remote := ss.conn.Conn().RemoteAddr()
	with := "ESMTP"
	if _, ok := ss.conn.TLSConnectionState(); ok {
		with = "ESMTPS"
	}
	fmt.Fprintf(&b, "Received: from %s (%s)\r\n\tby %s (exserver) with %s id %s",
		sanitize(ss.conn.Hostname()), bracketed(remote), ss.s.cfg.Hostname, with, queueID())
	if len(ss.rcpts) == 1 {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", sanitize(ss.rcpts[0]))
	}
	fmt.Fprintf(&b, ";\r\n\t%s\r\n", now.Format(time.RFC1123Z))
	b.Write(body)
	return b.Bytes()
}

func bracketed(a net.Addr) string {
	if a == nil {
		return "unknown"
	}
	return "[" + mail.HostOf(a) + "]"
}

// sanitize keeps a client-chosen name from breaking the header line.
func sanitize(s string) string {
	if s == "" {
		return "unknown"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r == 0x7f || r == '(' || r == ')' || r == ';' {
			return '_'
		}
		return r
	}, s)
}

func queueID() string {
	var b [6]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
