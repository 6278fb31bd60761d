package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	netmail "net/mail"

	"exbackup/exchange"
	"exbackup/exchange/mail"

	bolt "go.etcd.io/bbolt"
)

// The public folders as the mail front ends see them (mail.PublicFolders):
// pub.edb's folders/<path>/<lsn> = Post, read only. A post is rendered to
// RFC 5322 by mail.Compose each time it is read, so the bytes depend on the
// record alone and are the same on every server.
//
// UIDs are the posts' LSNs: a post's key never changes, keys grow in the
// order posts arrive, and a restore that rolls forward replays the same
// records at the same LSNs. A restore that does not roll forward starts a
// new log set, whose LSNs may take those of posts the restore dropped; the
// UIDVALIDITY is a checksum of the log set's signature, so it changes with
// it and clients start over.

var _ mail.PublicFolders = MailBackend{}

// publicValidity is the UIDVALIDITY of every public folder.
func (s *store) publicValidity() (uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running || s.log == nil {
		return 0, unavailable(exchange.Errorf(exchange.CodeNotRunning, "%s is not running", s.what()))
	}
	sig := s.log.Signature()
	return crc32.ChecksumIEEE(sig[:]) | 1, nil // never 0, which IMAP does not allow
}

// publicView reads pub.edb's folders bucket (nil when nothing was posted).
func (b MailBackend) publicView(fn func(fs *bolt.Bucket) error) error {
	return unavailable(b.s.is.view(pubEDB, func(tx *bolt.Tx) error { return fn(tx.Bucket(bFolders)) }))
}

// postUID is the UID of a post's key; a key past what a UID holds (an LSN
// above 2³²) is not shown.
func postUID(k []byte) (mail.UID, bool) {
	if len(k) != 8 {
		return 0, false
	}
	lsn := binary.BigEndian.Uint64(k)
	if lsn == 0 || lsn > math.MaxUint32 {
		return 0, false
	}
	return mail.UID(lsn), true
}

// renderPost is a post as a mail client reads it. Its author is a name,
// not an address: the address is the organization's public folders.
func (b MailBackend) renderPost(lsn uint64, p exchange.Post) []byte {
	domain := ""
	if ds, err := b.s.Domains(); err == nil && len(ds) > 0 {
		domain = ds[0]
	}
	return composePost(lsn, p, domain)
}

// composePost renders a post stored at lsn; an author that is only a name
// gets the address public-folders@domain (exserver.invalid when domain is
// ""). The item-level browse of a recovered set renders posts with it too.
func composePost(lsn uint64, p exchange.Post, domain string) []byte {
	from := p.From
	if _, err := netmail.ParseAddress(from); err != nil {
		if domain == "" {
			domain = "exserver.invalid"
		}
		from = (&netmail.Address{Name: p.From, Address: "public-folders@" + domain}).String()
	}
	return mail.Compose(mail.Draft{From: from, Subject: p.Subject, Date: p.Date, Body: p.Body,
		MessageID: postMessageID(lsn)})
}

// postMessageID is the Message-ID of a post, without angle brackets.
func postMessageID(lsn uint64) string { return fmt.Sprintf("%d.public@exserver.invalid", lsn) }

func (b MailBackend) PublicFolders(ctx context.Context) ([]mail.FolderInfo, error) {
	validity, err := b.s.is.publicValidity()
	if err != nil {
		return nil, err
	}
	var out []mail.FolderInfo
	err = b.publicView(func(fs *bolt.Bucket) error {
		if fs == nil {
			return nil
		}
		return fs.ForEachBucket(func(name []byte) error {
			f := mail.FolderInfo{Name: string(name), UIDValidity: validity, UIDNext: 1}
			fs.Bucket(name).ForEach(func(k, _ []byte) error {
				if uid, ok := postUID(k); ok {
					f.Messages++
					f.UIDNext = uid + 1
				}
				return nil
			})
			out = append(out, f)
			return nil
		})
	})
	return out, err
}

func (b MailBackend) PublicFolder(ctx context.Context, folder string) (mail.Folder, error) {
	validity, err := b.s.is.publicValidity()
	if err != nil {
		return mail.Folder{}, err
	}
	out := mail.Folder{FolderInfo: mail.FolderInfo{Name: folder, UIDValidity: validity, UIDNext: 1}}
	err = b.publicView(func(fs *bolt.Bucket) error {
		var f *bolt.Bucket
		if fs != nil {
			f = fs.Bucket([]byte(folder))
		}
		if f == nil {
			return fmt.Errorf("public folder %s: %w", folder, mail.ErrNoFolder)
		}
		return f.ForEach(func(k, v []byte) error {
			uid, ok := postUID(k)
			if !ok {
				return nil
			}
			var p exchange.Post
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("public folder %s, post %d: %w", folder, uid, err)
			}
			out.List = append(out.List, mail.MessageInfo{UID: uid, InternalDate: p.Date.UTC(), Size: int64(len(b.renderPost(uint64(uid), p)))})
			out.UIDNext = uid + 1
			return nil
		})
	})
	out.Messages = len(out.List)
	return out, err
}

func (b MailBackend) PublicMessage(ctx context.Context, folder string, uid mail.UID) ([]byte, error) {
	var out []byte
	err := b.publicView(func(fs *bolt.Bucket) error {
		var f *bolt.Bucket
		if fs != nil {
			f = fs.Bucket([]byte(folder))
		}
		if f == nil {
			return fmt.Errorf("public folder %s: %w", folder, mail.ErrNoFolder)
		}
		v := f.Get(u64(uint64(uid)))
		if v == nil {
			return fmt.Errorf("post %d of public folder %s: %w", uid, folder, mail.ErrNoMessage)
		}
		var p exchange.Post
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("public folder %s, post %d: %w", folder, uid, err)
		}
		out = b.renderPost(uint64(uid), p)
		return nil
	})
	return out, err
}
