package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"

	"exbackup/exchange/mail/imapd"
	"exbackup/exchange/mail/smtpd"
)

// MailOptions are the mail listeners of a serving server. An empty address
// takes a free port on the API's host; "off" serves none.
type MailOptions struct {
	SMTP string // SMTP with STARTTLS, for delivery
	IMAP string // IMAP over TLS (imaps)
}

// SetMail sets the mail listeners Serve opens; without a call it opens
// both on free ports beside the API.
func (s *Server) SetMail(o MailOptions) {
	s.mu.Lock()
	s.mailOpts = o
	s.mu.Unlock()
}

// mailListeners are the SMTP and IMAP servers in front of the store.
type mailListeners struct {
	smtp     *smtpd.Server
	imap     *imapd.Server
	smtpAddr string
	imapAddr string
}

// listenMail opens the mail listeners beside the API bound at api.
func (s *Server) listenMail(api string) (*mailListeners, error) {
	s.mu.Lock()
	o := s.mailOpts
	s.mu.Unlock()
	host, _, err := net.SplitHostPort(api)
	if err != nil {
		return nil, err
	}
	addr := func(a string) string {
		if a == "" {
			return net.JoinHostPort(host, "0")
		}
		return a
	}
	tc := &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12}
	ml := &mailListeners{}
	hostname := strings.ToLower(s.cfg.Name)
	if domains, err := s.Domains(); err == nil && len(domains) > 0 {
		hostname += "." + domains[0]
	}
	if o.SMTP != "off" {
		ln, err := net.Listen("tcp", addr(o.SMTP))
		if err != nil {
			return nil, fmt.Errorf("SMTP: listening on %s: %w", addr(o.SMTP), err)
		}
		ml.smtp = smtpd.New(s.Mail(), smtpd.Config{Hostname: hostname, TLS: tc, Log: s.log})
		ml.smtpAddr = ln.Addr().String()
		go func() {
			if err := ml.smtp.Serve(ln); err != nil {
				s.log.Warn("SMTP stopped", "err", err)
			}
		}()
	}
	if o.IMAP != "off" {
		ln, err := net.Listen("tcp", addr(o.IMAP))
		if err != nil {
			ml.close()
			return nil, fmt.Errorf("IMAP: listening on %s: %w", addr(o.IMAP), err)
		}
		ml.imap, err = imapd.New(s.Mail(), imapd.Config{TLS: tc, Log: s.log})
		if err != nil {
			ln.Close()
			ml.close()
			return nil, err
		}
		ml.imapAddr = ln.Addr().String()
		go func() {
			if err := ml.imap.Serve(ln); err != nil {
				s.log.Warn("IMAP stopped", "err", err)
			}
		}()
	}
	return ml, nil
}

func (ml *mailListeners) close() error {
	var errs []error
	if ml.smtp != nil {
		errs = append(errs, ml.smtp.Close())
	}
	if ml.imap != nil {
		errs = append(errs, ml.imap.Close())
	}
	return errors.Join(errs...)
}

// readyLine is what `exserver run` prints once it serves: the API's part
// first, as it always was, so that readers of the old line still match.
func readyLine(name, url, fp string, ml *mailListeners) string {
	l := fmt.Sprintf("ready %s %s %s", name, url, fp)
	if ml.smtpAddr != "" {
		l += " smtp=" + ml.smtpAddr
	}
	if ml.imapAddr != "" {
		l += " imaps=" + ml.imapAddr
	}
	return l
}

// Running answers what the server serves on, once Serve has opened its
// listeners.
func (s *Server) Running() (RunInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil {
		return RunInfo{}, false
	}
	return *s.running, true
}
