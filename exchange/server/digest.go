package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"sort"

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

func digestPriv(tx *bolt.Tx, h hash.Hash) error {
	mbs := tx.Bucket(bMailboxes)
	if mbs == nil {
		return nil
	}
	return mbs.ForEachBucket(func(alias []byte) error {
		mb := mbs.Bucket(alias)
		field(h, "mailbox", alias)
		field(h, "info", mb.Get(kInfo))
		fs := mb.Bucket(bFolders)
		if fs == nil {
			return nil
		}
		return fs.ForEachBucket(func(folder []byte) error {
			field(h, "folder", folder)
			for _, m := range sortedValueHashes(fs.Bucket(folder)) {
				field(h, "message", m)
			}
			return nil
		})
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
// order within each folder. It reads a stopped store from its file.
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
		fs := mbs.Bucket([]byte(mailbox)).Bucket(bFolders)
		return fs.ForEachBucket(func(folder []byte) error {
			return fs.Bucket(folder).ForEach(func(_, v []byte) error {
				var m exchange.Message
				if err := json.Unmarshal(v, &m); err != nil {
					return err
				}
				out = append(out, m)
				return nil
			})
		})
	})
	return out, err
}
