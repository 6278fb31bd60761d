package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"sort"
	"strings"
	"time"

	"exbackup/exchange"

	bolt "go.etcd.io/bbolt"
)

// Digest implements Node. Each hash covers contents only: mailbox and folder
// names with the hashes of their messages (sorted, so that the keys, which
// are LSNs, do not count), public folders with their posts, and the
// directory's organization, sites, server names and recipients (not the
// addresses, which change with every start). Equal contents give equal
// hashes on any server. A stopped store is read from its file.
func (s *Server) Digest(ctx context.Context) (exchange.Digest, error) {
	var d exchange.Digest
	var err error
	if d.DS, err = s.digestOf(s.ds, dirEDB, digestDir); err != nil {
		return d, err
	}
	if d.Priv, err = s.digestOf(s.is, privEDB, digestPriv); err != nil {
		return d, err
	}
	d.Pub, err = s.digestOf(s.is, pubEDB, digestPub)
	return d, err
}

func (s *Server) digestOf(st *store, name string, fn func(tx *bolt.Tx, h hash.Hash) error) (string, error) {
	h := sha256.New()
	err := st.viewAny(name, func(tx *bolt.Tx) error {
		if tx == nil {
			return nil
		}
		return fn(tx, h)
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

// field writes a length-prefixed field so that no two sequences collide.
func field(h hash.Hash, tag string, v []byte) {
	var n [8]byte
	l := len(v)
	for i := range n {
		n[i] = byte(l >> (8 * i))
	}
	h.Write([]byte(tag))
	h.Write(n[:])
	h.Write(v)
}

// sortedValueHashes hashes each value of a bucket and returns them sorted.
func sortedValueHashes(b *bolt.Bucket) [][]byte {
	var hs [][]byte
	b.ForEach(func(_, v []byte) error {
		if v == nil {
			return nil
		}
		sum := sha256.Sum256(v)
		hs = append(hs, sum[:])
		return nil
	})
	sort.Slice(hs, func(i, j int) bool { return bytes.Compare(hs[i], hs[j]) < 0 })
	return hs
}

// digestPriv hashes, per mailbox and folder name (not folder ids, UIDs or
// UIDVALIDITY, which a migration or a revalidation changes), each message's
// bytes, sorted flags and internal date. A mailbox still of schema 1 (a
// file not yet migrated, read while stopped) is hashed as its migration
// will make it, so a migration leaves the digest as it was.
func digestPriv(tx *bolt.Tx, h hash.Hash) error {
	mbs := tx.Bucket(bMailboxes)
	if mbs == nil {
		return nil
	}
	return mbs.ForEachBucket(func(alias []byte) error {
		mb := mbs.Bucket(alias)
		field(h, "mailbox", alias)
		field(h, "info", mb.Get(kInfo))
		return eachMessage(string(alias), mb, func(folder string, msgs []msgRecord) {
			field(h, "folder", []byte(folder))
			var hs [][]byte
			for _, r := range msgs {
				sum := sha256.Sum256([]byte(r.SHA256 + "\x00" + strings.Join(normFlags(r.Flags), " ") + "\x00" + r.Date.UTC().Format(time.RFC3339Nano)))
				hs = append(hs, sum[:])
			}
			sort.Slice(hs, func(i, j int) bool { return bytes.Compare(hs[i], hs[j]) < 0 })
			for _, m := range hs {
				field(h, "message", m)
			}
		})
	})
}

// eachMessage calls fn for each folder of a mailbox in name order with its
// messages in UID order, reading a schema 1 mailbox as its migration makes
// it.
func eachMessage(alias string, mb *bolt.Bucket, fn func(folder string, msgs []msgRecord)) error {
	if mb.Get(kSeq) == nil {
		folders, err := readV1Mailbox(mb)
		for _, f := range folders {
			recs := make([]msgRecord, len(f.msgs))
			for i := range f.msgs {
				r, raw := v1Record(alias, f.lsns[i], &f.msgs[i])
				sum := sha256.Sum256(raw)
				r.SHA256 = hex.EncodeToString(sum[:])
				recs[i] = r
			}
			fn(f.name, recs)
		}
		return err
	}
	return mb.Bucket(bNames).ForEach(func(k, _ []byte) error {
		f := openFolder(mb, string(k))
		if f == nil {
			return fmt.Errorf("folder %s of %s has no contents", k, alias)
		}
		var recs []msgRecord
		err := f.b.Bucket(bMsgs).ForEach(func(_, v []byte) error {
			var r msgRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			recs = append(recs, r)
			return nil
		})
		fn(string(k), recs)
		return err
	})
}

func digestPub(tx *bolt.Tx, h hash.Hash) error {
	fs := tx.Bucket(bFolders)
	if fs == nil {
		return nil
	}
	return fs.ForEachBucket(func(folder []byte) error {
		field(h, "folder", folder)
		for _, p := range sortedValueHashes(fs.Bucket(folder)) {
			field(h, "post", p)
		}
		return nil
	})
}

func digestDir(tx *bolt.Tx, h hash.Hash) error {
	if b := tx.Bucket(bOrg); b != nil {
		field(h, "org", b.Get(kName))
		if v := b.Get(kDomains); v != nil {
			field(h, "domains", v)
		}
	}
	if ps := tx.Bucket(bPasswords); ps != nil {
		ps.ForEach(func(k, v []byte) error {
			field(h, "password", append(append(slices.Clone(k), 0), v...))
			return nil
		})
	}
	if sites := tx.Bucket(bSites); sites != nil {
		err := sites.ForEachBucket(func(site []byte) error {
			field(h, "site", site)
			return sites.Bucket(site).ForEach(func(k, _ []byte) error {
				field(h, "server", k)
				return nil
			})
		})
		if err != nil {
			return err
		}
	}
	if rs := tx.Bucket(bRecipients); rs != nil {
		return rs.ForEach(func(k, v []byte) error {
			var r exchange.Recipient
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			field(h, "recipient", []byte(r.Alias+"\x00"+r.DisplayName+"\x00"+r.HomeServer))
			return nil
		})
	}
	return nil
}

// Messages lists the messages of one mailbox, all folders, in delivery
// order within each folder, as the API's Message: its header fields; the
// body is not parsed back. It reads a stopped store from its file.
func (s *Server) Messages(ctx context.Context, mailbox string) ([]exchange.Message, error) {
	var out []exchange.Message
	err := s.is.viewAny(privEDB, func(tx *bolt.Tx) error {
		if tx == nil {
			return nil
		}
		mbs := tx.Bucket(bMailboxes)
		if mbs == nil || mbs.Bucket([]byte(mailbox)) == nil {
			return exchange.Errorf(exchange.CodeNotFound, "there is no mailbox %q on %s", mailbox, s.cfg.Name)
		}
		return eachMessage(mailbox, mbs.Bucket([]byte(mailbox)), func(folder string, msgs []msgRecord) {
			for _, r := range msgs {
				m := exchange.Message{Mailbox: mailbox, Folder: folder, Subject: r.Meta.Subject, Date: r.Meta.Date}
				if len(r.Meta.From) > 0 {
					m.From = r.Meta.From[0].Address
				}
				for _, a := range r.Meta.To {
					m.To = append(m.To, a.Address)
				}
				if m.Date.IsZero() {
					m.Date = r.Date
				}
				out = append(out, m)
			}
		})
	})
	return out, err
}
