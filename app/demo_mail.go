package app

import (
	"bytes"
	"context"
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

// DemoPassword is the password of every mailbox of the demo organization,
// for SMTP and IMAP clients (the README names it).
const DemoPassword = "demo-pass"

// givePasswords sets DemoPassword on every demo mailbox that has no
// password, so that a demo made before mailboxes had passwords can be read
// with a mail client too. A password someone set is kept.
func (d *demo) givePasswords(ctx context.Context) error {
	for _, srv := range d.srvs {
		if st, err := srv.Status(ctx); err == nil && st.IS != exchange.Running {
			continue // restore-pending (KeepStagedRestores): its turn comes at a later start
		}
		aliases, err := srv.MailboxesWithoutPassword(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", srv.Config().Name, err)
		}
		for _, a := range aliases {
			if err := srv.SetPassword(ctx, a, DemoPassword); err != nil {
				return fmt.Errorf("%s: the password of %s: %w", srv.Config().Name, a, err)
			}
		}
	}
	return nil
}

// demoSMTP delivers a message as a mail client would: over the server's
// SMTP with STARTTLS, its certificate pinned by fingerprint. The message
// lands in the Inbox, as SMTP mail does.
func demoSMTP(srv *server.Server, m exchange.Message) error {
	ri, ok := srv.Running()
	if !ok || ri.SMTP == "" || ri.Domain == "" {
		return errors.New("the demo server serves no SMTP")
	}
	fp := srv.Fingerprint()
	tc := &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if "sha256:"+hex.EncodeToString(sum[:]) != fp {
			return fmt.Errorf("the certificate of %s is not the demo server's", ri.SMTP)
		}
		return nil
	}}
	c, err := smtp.DialStartTLS(ri.SMTP, tc)
	if err != nil {
		return err
	}
	defer c.Close()
	to := m.Mailbox + "@" + ri.Domain
	from := "demo@" + ri.Domain
	atts := make([]mail.Attachment, len(m.Attachments))
	for i, a := range m.Attachments {
		atts[i] = mail.Attachment{Name: a.Name, Data: a.Data}
	}
	data := mail.Compose(mail.Draft{From: m.From + " <" + from + ">", To: []string{to}, Subject: m.Subject, Date: m.Date, Body: m.Body, Attachments: atts})
	if err := c.SendMail(from, []string{to}, bytes.NewReader(data)); err != nil {
		return err
	}
	return c.Quit()
}
