package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/emersion/go-smtp"

	"exbackup/exchange"
	"exbackup/exchange/mail"
	"exbackup/exchange/server"
)

// smtpSender delivers load over SMTP with STARTTLS, trusting the server's
// certificate by the fingerprint the admin commands pin.
type smtpSender struct {
	addr, domain string
	tls          *tls.Config
}

func (t *target) smtpSender(addr, domain string) (*smtpSender, error) {
	if t.data != "" {
		ri, err := server.LoadRunInfo(t.data)
		if err != nil {
			return nil, err
		}
		if addr == "" {
			addr = ri.SMTP
		}
		if domain == "" {
			domain = ri.Domain
		}
		t.fingerprint = ri.Fingerprint
	}
	if addr == "" || domain == "" {
		return nil, errors.New("delivering over SMTP needs --smtp HOST:PORT and --domain (or --data of a running server); --via api uses the HTTPS API")
	}
	fp := t.fingerprint
	tc := &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != fp {
			return fmt.Errorf("certificate of %s is %s, not the pinned %s", addr, got, fp)
		}
		return nil
	}}
	return &smtpSender{addr: addr, domain: domain, tls: tc}, nil
}

type smtpConn struct{ c *smtp.Client }

func (c *smtpConn) close() { c.c.Quit(); c.c.Close() }

// send delivers one message on conn (opened when nil), which stays open
// for the next one, as an MTA keeps its connection.
func (s *smtpSender) send(conn *smtpConn, m exchange.Message) (*smtpConn, error) {
	if conn == nil {
		c, err := smtp.DialStartTLS(s.addr, s.tls)
		if err != nil {
			return nil, fmt.Errorf("SMTP %s: %w", s.addr, err)
		}
		conn = &smtpConn{c}
	}
	to := m.Mailbox + "@" + s.domain
	data := mail.Compose(mail.Draft{From: m.From, To: []string{to}, Subject: m.Subject, Date: m.Date, Body: m.Body})
	err := conn.c.SendMail(m.From, []string{to}, bytes.NewReader(data))
	if err != nil {
		conn.c.Close()
		return nil, fmt.Errorf("SMTP %s: %w", s.addr, err)
	}
	return conn, nil
}
