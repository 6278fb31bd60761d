package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/mail"

	bolt "go.etcd.io/bbolt"
)

// MailBackend is the store as the SMTP and IMAP front ends see it
// (mail.Backend): the Directory checks passwords and resolves addresses,
// the Information Store keeps the mail. Every change is one log record.
type MailBackend struct{ s *Server }

var _ mail.Backend = MailBackend{}

// Mail answers the server's mail.Backend.
func (s *Server) Mail() MailBackend { return MailBackend{s} }

// watchers are the Watch callbacks of a server.
type watchers struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(mail.Change)
}

func (w *watchers) add(fn func(mail.Change)) func() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fns == nil {
		w.fns = map[int]func(mail.Change){}
	}
	id := w.next
	w.next++
	w.fns[id] = fn
	return func() {
		w.mu.Lock()
		delete(w.fns, id)
		w.mu.Unlock()
	}
}

func (w *watchers) notify(mailbox string, folders ...string) {
	w.mu.Lock()
	fns := make([]func(mail.Change), 0, len(w.fns))
	for _, fn := range w.fns {
		fns = append(fns, fn)
	}
	w.mu.Unlock()
	for _, f := range folders {
		for _, fn := range fns {
			fn(mail.Change{Mailbox: mailbox, Folder: f})
		}
	}
}

func (w *watchers) any() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.fns) > 0
}

// unavailable turns a stopped store into the front ends' temporary failure.
func unavailable(err error) error {
	if errors.Is(err, exchange.ErrNotRunning) {
		return fmt.Errorf("%v: %w", err, mail.ErrUnavailable)
	}
	return err
}

// commitApplied logs a record and waits until it is applied, so that its
// result is known and reads see it.
func (s *store) commitApplied(o *op) (*mailResult, error) {
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	if err := s.commit(o); err != nil {
		return nil, unavailable(err)
	}
	s.waitApplied()
	if s.appliedTo.Load() < o.lsn || o.res == nil {
		// Logged, so durable, but the store stopped before applying it:
		// the next start applies it. The client is told to retry.
		return nil, fmt.Errorf("%s stopped: %w", s.what(), mail.ErrUnavailable)
	}
	return o.res, o.res.err
}

// checkPassword is mail.CheckPassword; tests count its calls.
var checkPassword = mail.CheckPassword

// Authenticate checks every refusal against a hash: an unknown alias, a
// mailbox without a password or with a damaged hash are checked against
// mail.DummyHash, so each costs the argon2 work of a wrong password.
func (b MailBackend) Authenticate(ctx context.Context, alias, password string) (string, error) {
	found, err := b.s.findMailbox(alias)
	if err != nil && !errors.Is(err, mail.ErrNoMailbox) {
		return "", err
	}
	var hash string
	if found != "" {
		err = b.s.ds.view(dirEDB, func(tx *bolt.Tx) error {
			if p := tx.Bucket(bPasswords); p != nil {
				hash = string(p.Get([]byte(found)))
			}
			return nil
		})
		if err != nil {
			return "", unavailable(err)
		}
	}
	if hash == "" {
		checkPassword(mail.DummyHash, password)
		return "", mail.ErrAuthFailed
	}
	ok, err := checkPassword(hash, password)
	if err != nil {
		checkPassword(mail.DummyHash, password)
	}
	if err != nil || !ok {
		return "", mail.ErrAuthFailed
	}
	return found, nil
}

func (b MailBackend) Resolve(ctx context.Context, address string) (string, error) {
	at := strings.LastIndexByte(address, '@')
	if at < 0 {
		return "", fmt.Errorf("%s: %w", address, mail.ErrNotLocal)
	}
	domains, err := b.s.Domains()
	if err != nil {
		return "", unavailable(err)
	}
	if !slices.ContainsFunc(domains, func(d string) bool { return strings.EqualFold(d, address[at+1:]) }) {
		return "", fmt.Errorf("%s: %w", address, mail.ErrNotLocal)
	}
	return b.s.findMailbox(address[:at])
}

func (b MailBackend) Deliver(ctx context.Context, d mail.Delivery) error {
	if len(d.Mailboxes) == 0 {
		return fmt.Errorf("a delivery without mailboxes")
	}
	to := make([]string, len(d.Mailboxes))
	for i, a := range d.Mailboxes {
		found, err := b.s.findMailbox(a)
		if err != nil {
			return err
		}
		to[i] = found
	}
	date := d.ReceivedAt.UTC()
	if date.IsZero() {
		date = time.Now().UTC()
	}
	meta := d.Meta
	if _, err := b.s.is.commitApplied(&op{Kind: opMailDeliver, DB: privEDB, Mail: &mailOp{To: to, Date: date, Data: d.Data, Meta: &meta}}); err != nil {
		return err
	}
	for _, a := range to {
		b.s.mailw.notify(a, mail.Inbox)
	}
	return nil
}

// change logs a record about a mailbox and reports the folders it changed.
func (b MailBackend) change(kind, mailbox string, m *mailOp, folders ...string) (*mailResult, error) {
	found, err := b.s.findMailbox(mailbox)
	if err != nil {
		return nil, err
	}
	m.Mailbox = found
	if m.Date.IsZero() {
		m.Date = time.Now().UTC()
	}
	res, err := b.s.is.commitApplied(&op{Kind: kind, DB: privEDB, Mail: m})
	if err != nil {
		return nil, err
	}
	b.s.mailw.notify(found, folders...)
	return res, nil
}

func validFolderName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//") || len(name) > 1024 {
		return fmt.Errorf("folder name %q is not valid: %w", name, mail.ErrNoFolder)
	}
	return nil
}

func (b MailBackend) Folders(ctx context.Context, mailbox string) ([]mail.FolderInfo, error) {
	found, err := b.s.findMailbox(mailbox)
	if err != nil {
		return nil, err
	}
	var out []mail.FolderInfo
	err = b.s.is.view(privEDB, func(tx *bolt.Tx) error {
		mb := mailbox2(tx, found)
		return mb.Bucket(bNames).ForEach(func(k, _ []byte) error {
			if f := openFolder(mb, string(k)); f != nil {
				out = append(out, mail.FolderInfo{Name: f.info.Name, UIDValidity: f.info.UIDValidity, UIDNext: mail.UID(f.info.UIDNext), Messages: f.info.Messages})
			}
			return nil
		})
	})
	return out, unavailable(err)
}

func (b MailBackend) CreateFolder(ctx context.Context, mailbox, name string) error {
	if err := validFolderName(name); err != nil {
		return err
	}
	_, err := b.change(opFolderCreate, mailbox, &mailOp{Folder: name})
	return err
}

func (b MailBackend) RenameFolder(ctx context.Context, mailbox, from, to string) error {
	if err := validFolderName(to); err != nil {
		return err
	}
	before, _ := b.Folders(ctx, mailbox)
	var changed []string
	for _, f := range before {
		if f.Name == from || strings.HasPrefix(f.Name, from+string(mail.Delim)) {
			changed = append(changed, f.Name)
		}
	}
	_, err := b.change(opFolderRename, mailbox, &mailOp{Folder: from, Dest: to}, changed...)
	return err
}

func (b MailBackend) DeleteFolder(ctx context.Context, mailbox, name string) error {
	_, err := b.change(opFolderDelete, mailbox, &mailOp{Folder: name}, name)
	return err
}

// folderView reads one folder of a mailbox.
func (b MailBackend) folderView(mailbox, name string, fn func(f *folderRef) error) error {
	found, err := b.s.findMailbox(mailbox)
	if err != nil {
		return err
	}
	return unavailable(b.s.is.view(privEDB, func(tx *bolt.Tx) error {
		f := openFolder(mailbox2(tx, found), name)
		if f == nil {
			return fmt.Errorf("folder %s of %s: %w", name, found, mail.ErrNoFolder)
		}
		return fn(f)
	}))
}

func (b MailBackend) Folder(ctx context.Context, mailbox, name string) (mail.Folder, error) {
	var out mail.Folder
	err := b.folderView(mailbox, name, func(f *folderRef) error {
		out.FolderInfo = mail.FolderInfo{Name: f.info.Name, UIDValidity: f.info.UIDValidity, UIDNext: mail.UID(f.info.UIDNext), Messages: f.info.Messages}
		out.List = make([]mail.MessageInfo, 0, f.info.Messages)
		return f.b.Bucket(bMsgs).ForEach(func(k, v []byte) error {
			var r struct {
				Flags []string  `json:"flags"`
				Date  time.Time `json:"date"`
				Size  int64     `json:"size"`
			}
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out.List = append(out.List, mail.MessageInfo{UID: mail.UID(binary.BigEndian.Uint32(k)), Flags: r.Flags, InternalDate: r.Date, Size: r.Size})
			return nil
		})
	})
	return out, err
}

func (b MailBackend) Message(ctx context.Context, mailbox, name string, uid mail.UID) ([]byte, error) {
	var out []byte
	err := b.folderView(mailbox, name, func(f *folderRef) error {
		v := f.b.Bucket(bRaw).Get(u32(uint32(uid)))
		if v == nil {
			return fmt.Errorf("message %d of %s: %w", uid, name, mail.ErrNoMessage)
		}
		out = slices.Clone(v)
		return nil
	})
	return out, err
}

func uids32(uids []mail.UID) []uint32 {
	out := make([]uint32, len(uids))
	for i, u := range uids {
		out[i] = uint32(u)
	}
	return out
}

func (b MailBackend) SetFlags(ctx context.Context, mailbox, name string, uids []mail.UID, op mail.FlagOp, flags []string) error {
	_, err := b.change(opMailFlags, mailbox, &mailOp{Folder: name, UIDs: uids32(uids), FlagOp: op, Flags: flags}, name)
	return err
}

func (b MailBackend) Expunge(ctx context.Context, mailbox, name string, uids []mail.UID) error {
	_, err := b.change(opMailExpunge, mailbox, &mailOp{Folder: name, UIDs: uids32(uids)}, name)
	return err
}

func (b MailBackend) Append(ctx context.Context, mailbox, name string, data []byte, flags []string, date time.Time) (uint32, mail.UID, error) {
	meta, _ := mail.Parse(data)
	if date.IsZero() {
		date = time.Now()
	}
	res, err := b.change(opMailAppend, mailbox, &mailOp{Folder: name, Data: data, Flags: flags, Date: date.UTC(), Meta: &meta}, name)
	if err != nil {
		return 0, 0, err
	}
	return res.validity, res.dst[0], nil
}

func (b MailBackend) Copy(ctx context.Context, mailbox, from string, uids []mail.UID, to string, move bool) (uint32, []mail.UID, []mail.UID, error) {
	res, err := b.change(opMailCopy, mailbox, &mailOp{Folder: from, Dest: to, UIDs: uids32(uids), Move: move}, from, to)
	if err != nil {
		return 0, nil, nil, err
	}
	return res.validity, res.src, res.dst, nil
}

func (b MailBackend) Watch(fn func(mail.Change)) func() { return b.s.mailw.add(fn) }

// notifyDelivered reports a message the HTTPS API delivered, once reads
// see it, to the IMAP sessions that watch.
func (s *Server) notifyDelivered(mailbox, folder string) {
	if !s.mailw.any() {
		return
	}
	s.is.waitApplied()
	s.mailw.notify(mailbox, folder)
}
