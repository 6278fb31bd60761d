package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"exbackup/exchange"
	"exbackup/exchange/mail"

	bolt "go.etcd.io/bbolt"
)

// dir.edb, schema 2: mailbox passwords and the organization's mail domains.
//
//	passwords/<alias> = argon2id PHC string (mail.HashPassword)
//	org/domains       = JSON list of domains
//
// The passwords are kept out of Recipient, which the API hands to every
// console.
var (
	bPasswords = []byte("passwords")
	kDomains   = []byte("domains")
)

func (o *op) applyDir(tx *bolt.Tx) error {
	m := o.Mail
	if m == nil {
		return fmt.Errorf("%s record without its fields", o.Kind)
	}
	switch o.Kind {
	case opPassword:
		b, err := tx.CreateBucketIfNotExists(bPasswords)
		if err != nil {
			return err
		}
		return b.Put([]byte(m.Mailbox), []byte(m.Hash))
	case opDomains:
		b, err := tx.CreateBucketIfNotExists(bOrg)
		if err != nil {
			return err
		}
		v, _ := json.Marshal(m.Domains)
		return b.Put(kDomains, v)
	}
	return fmt.Errorf("unknown log record kind %q", o.Kind)
}

// DefaultDomain is the mail domain an organization gets when none is
// given: its name in lower case, runs of other characters as one hyphen,
// and ".local".
func DefaultDomain(org string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(org) {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	d := strings.TrimSuffix(b.String(), "-")
	if d == "" {
		d = "exchange"
	}
	return d + ".local"
}

// validDomain checks a mail domain given on the command line.
func validDomain(d string) error {
	if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return fmt.Errorf("mail domain %q is not valid", d)
	}
	for _, r := range d {
		if !(r == '.' || r == '-' || (r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)))) {
			return fmt.Errorf("mail domain %q is not valid (letters, digits, '-' and '.')", d)
		}
	}
	return nil
}

// Domains answers the organization's mail domains; a Directory that
// records none (made before there was mail) has the default one.
func (s *Server) Domains() ([]string, error) {
	var out []string
	org := s.cfg.Organization
	err := s.ds.viewAny(dirEDB, func(tx *bolt.Tx) error {
		if tx == nil {
			return nil
		}
		if b := tx.Bucket(bOrg); b != nil {
			if v := b.Get(kName); v != nil {
				org = string(v)
			}
			if v := b.Get(kDomains); v != nil {
				return json.Unmarshal(v, &out)
			}
		}
		return nil
	})
	if len(out) == 0 {
		out = []string{DefaultDomain(org)}
	}
	return out, err
}

// SetDomains records the organization's mail domains.
func (s *Server) SetDomains(domains []string) error {
	for _, d := range domains {
		if err := validDomain(d); err != nil {
			return err
		}
	}
	return s.ds.commit(&op{Kind: opDomains, DB: dirEDB, Mail: &mailOp{Domains: domains}})
}

// SetPassword gives a mailbox of this server a password for SMTP and IMAP.
func (s *Server) SetPassword(ctx context.Context, alias, password string) error {
	if password == "" {
		return exchange.Errorf(exchange.CodeBadRequest, "the password of %s is empty", alias)
	}
	found, err := s.findMailbox(alias)
	if err != nil {
		return err
	}
	hash, err := mail.HashPassword(password)
	if err != nil {
		return err
	}
	return s.ds.commit(&op{Kind: opPassword, DB: dirEDB, Mail: &mailOp{Mailbox: found, Hash: hash}})
}

// findMailbox answers the alias of a mailbox of this server as the store
// spells it, given it in any case.
func (s *Server) findMailbox(alias string) (string, error) {
	var found string
	look := func(tx *bolt.Tx) error {
		mbs := tx.Bucket(bMailboxes)
		if mbs == nil {
			return nil
		}
		if mbs.Bucket([]byte(alias)) != nil {
			found = alias
			return nil
		}
		return mbs.ForEachBucket(func(k []byte) error {
			if found == "" && strings.EqualFold(string(k), alias) {
				found = string(k)
			}
			return nil
		})
	}
	// Mailboxes are never removed: one already applied needs no wait.
	err := s.is.viewApplied(privEDB, look)
	if err == nil && found == "" {
		err = s.is.view(privEDB, look)
	}
	if err != nil {
		return "", unavailable(err)
	}
	if found == "" {
		return "", fmt.Errorf("mailbox %s: %w", alias, mail.ErrNoMailbox)
	}
	return found, nil
}

// MailboxesWithoutPassword answers the aliases of the mailboxes of this
// server that have no password yet (made before mailboxes had them, or
// through the API, which sets none).
func (s *Server) MailboxesWithoutPassword(ctx context.Context) ([]string, error) {
	var all []string
	err := s.is.view(privEDB, func(tx *bolt.Tx) error {
		mbs := tx.Bucket(bMailboxes)
		if mbs == nil {
			return nil
		}
		return mbs.ForEachBucket(func(k []byte) error {
			all = append(all, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var out []string
	err = s.ds.view(dirEDB, func(tx *bolt.Tx) error {
		p := tx.Bucket(bPasswords)
		for _, a := range all {
			if p == nil || p.Get([]byte(a)) == nil {
				out = append(out, a)
			}
		}
		return nil
	})
	return out, err
}
