// Package memback is an in-memory mail.Backend for the front ends' unit
// tests and benchmarks. It keeps the Backend's contract (durable is simply
// "in the map" here) and counts what it was asked, so tests can see that a
// refused message was never delivered.
package memback

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"exbackup/exchange/mail"
)

// Backend is an organization of mailboxes under one domain.
type Backend struct {
	Domain string

	mu         sync.Mutex
	boxes      map[string]*box // by lower-case alias
	watchers   map[int]func(mail.Change)
	nextWatch  int
	validity   uint32
	Deliveries int // Deliver calls that stored something
	// DeliverErr, when set, fails every delivery (a store that stopped).
	DeliverErr error
}

type box struct {
	alias    string
	password string
	folders  map[string]*folder
}

type folder struct {
	validity uint32
	next     mail.UID
	msgs     []*msg // in UID order
}

type msg struct {
	info mail.MessageInfo
	data []byte
}

// New makes an empty organization.
func New(domain string) *Backend {
	return &Backend{Domain: domain, boxes: map[string]*box{}, watchers: map[int]func(mail.Change){}}
}

// AddMailbox adds a mailbox with the default folders.
func (b *Backend) AddMailbox(alias, password string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bx := &box{alias: alias, password: password, folders: map[string]*folder{}}
	for _, f := range []string{mail.Inbox, "Sent Items", "Deleted Items"} {
		bx.folders[f] = b.newFolderLocked()
	}
	b.boxes[strings.ToLower(alias)] = bx
}

func (b *Backend) newFolderLocked() *folder {
	b.validity++
	return &folder{validity: b.validity, next: 1}
}

func (b *Backend) notify(mailbox string, folders ...string) {
	b.mu.Lock()
	fns := make([]func(mail.Change), 0, len(b.watchers))
	for _, fn := range b.watchers {
		fns = append(fns, fn)
	}
	b.mu.Unlock()
	for _, f := range folders {
		for _, fn := range fns {
			fn(mail.Change{Mailbox: mailbox, Folder: f})
		}
	}
}

func (b *Backend) box(alias string) (*box, error) {
	bx := b.boxes[strings.ToLower(alias)]
	if bx == nil {
		return nil, fmt.Errorf("mailbox %s: %w", alias, mail.ErrNoMailbox)
	}
	return bx, nil
}

func (b *Backend) folder(alias, name string) (*box, *folder, error) {
	bx, err := b.box(alias)
	if err != nil {
		return nil, nil, err
	}
	f := bx.folders[name]
	if f == nil {
		return nil, nil, fmt.Errorf("folder %s of %s: %w", name, alias, mail.ErrNoFolder)
	}
	return bx, f, nil
}

func (b *Backend) Authenticate(ctx context.Context, alias, password string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bx := b.boxes[strings.ToLower(alias)]
	if bx == nil || bx.password != password {
		return "", mail.ErrAuthFailed
	}
	return bx.alias, nil
}

func (b *Backend) Resolve(ctx context.Context, address string) (string, error) {
	local, domain, ok := strings.Cut(address, "@")
	if !ok || !strings.EqualFold(domain, b.Domain) {
		return "", fmt.Errorf("%s: %w", address, mail.ErrNotLocal)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	bx, err := b.box(local)
	if err != nil {
		return "", err
	}
	return bx.alias, nil
}

func (b *Backend) Deliver(ctx context.Context, d mail.Delivery) error {
	b.mu.Lock()
	if b.DeliverErr != nil {
		b.mu.Unlock()
		return b.DeliverErr
	}
	for _, a := range d.Mailboxes {
		if _, _, err := b.folder(a, mail.Inbox); err != nil {
			b.mu.Unlock()
			return err
		}
	}
	for _, a := range d.Mailboxes {
		_, f, _ := b.folder(a, mail.Inbox)
		f.add(slices.Clone(d.Data), nil, d.ReceivedAt)
	}
	b.Deliveries++
	b.mu.Unlock()
	for _, a := range d.Mailboxes {
		b.notify(a, mail.Inbox)
	}
	return nil
}

func (f *folder) add(data []byte, flags []string, date time.Time) mail.UID {
	uid := f.next
	f.next++
	f.msgs = append(f.msgs, &msg{info: mail.MessageInfo{UID: uid, Flags: slices.Clone(flags), InternalDate: date, Size: int64(len(data))}, data: data})
	return uid
}

func (b *Backend) Folders(ctx context.Context, mailbox string) ([]mail.FolderInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bx, err := b.box(mailbox)
	if err != nil {
		return nil, err
	}
	var out []mail.FolderInfo
	for name, f := range bx.folders {
		out = append(out, mail.FolderInfo{Name: name, UIDValidity: f.validity, UIDNext: f.next, Messages: len(f.msgs)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func parent(name string) string {
	if i := strings.LastIndexByte(name, mail.Delim); i >= 0 {
		return name[:i]
	}
	return ""
}

func (b *Backend) CreateFolder(ctx context.Context, mailbox, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	bx, err := b.box(mailbox)
	if err != nil {
		return err
	}
	if bx.folders[name] != nil {
		return fmt.Errorf("folder %s: %w", name, mail.ErrFolderExists)
	}
	if p := parent(name); p != "" && bx.folders[p] == nil {
		return fmt.Errorf("folder %s: %w", p, mail.ErrNoFolder)
	}
	bx.folders[name] = b.newFolderLocked()
	return nil
}

func (b *Backend) RenameFolder(ctx context.Context, mailbox, from, to string) error {
	b.mu.Lock()
	bx, f, err := b.folder(mailbox, from)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	if bx.folders[to] != nil {
		b.mu.Unlock()
		return fmt.Errorf("folder %s: %w", to, mail.ErrFolderExists)
	}
	if p := parent(to); p != "" && bx.folders[p] == nil {
		b.mu.Unlock()
		return fmt.Errorf("folder %s: %w", p, mail.ErrNoFolder)
	}
	changed := []string{from}
	if from == mail.Inbox {
		nf := b.newFolderLocked()
		nf.msgs, nf.next = f.msgs, f.next
		f.msgs = nil
		bx.folders[to] = nf
	} else {
		for name, sub := range bx.folders {
			if rest, ok := strings.CutPrefix(name, from+string(mail.Delim)); ok {
				delete(bx.folders, name)
				bx.folders[to+string(mail.Delim)+rest] = sub
				changed = append(changed, name)
			}
		}
		delete(bx.folders, from)
		bx.folders[to] = f
	}
	b.mu.Unlock()
	b.notify(bx.alias, changed...)
	return nil
}

func (b *Backend) DeleteFolder(ctx context.Context, mailbox, name string) error {
	b.mu.Lock()
	bx, _, err := b.folder(mailbox, name)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	if name == mail.Inbox {
		b.mu.Unlock()
		return fmt.Errorf("the Inbox: %w", mail.ErrFolderInUse)
	}
	for other := range bx.folders {
		if strings.HasPrefix(other, name+string(mail.Delim)) {
			b.mu.Unlock()
			return fmt.Errorf("folder %s has subfolders: %w", name, mail.ErrFolderInUse)
		}
	}
	delete(bx.folders, name)
	b.mu.Unlock()
	b.notify(bx.alias, name)
	return nil
}

func (b *Backend) Folder(ctx context.Context, mailbox, name string) (mail.Folder, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, f, err := b.folder(mailbox, name)
	if err != nil {
		return mail.Folder{}, err
	}
	out := mail.Folder{FolderInfo: mail.FolderInfo{Name: name, UIDValidity: f.validity, UIDNext: f.next, Messages: len(f.msgs)}}
	out.List = make([]mail.MessageInfo, len(f.msgs))
	for i, m := range f.msgs {
		out.List[i] = m.info
		out.List[i].Flags = slices.Clone(m.info.Flags)
	}
	return out, nil
}

func (f *folder) find(uid mail.UID) (int, bool) {
	return sort.Find(len(f.msgs), func(i int) int {
		switch {
		case uid < f.msgs[i].info.UID:
			return -1
		case uid > f.msgs[i].info.UID:
			return 1
		}
		return 0
	})
}

func (b *Backend) Message(ctx context.Context, mailbox, name string, uid mail.UID) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, f, err := b.folder(mailbox, name)
	if err != nil {
		return nil, err
	}
	i, ok := f.find(uid)
	if !ok {
		return nil, fmt.Errorf("message %d of %s: %w", uid, name, mail.ErrNoMessage)
	}
	return f.msgs[i].data, nil
}

func (b *Backend) SetFlags(ctx context.Context, mailbox, name string, uids []mail.UID, op mail.FlagOp, flags []string) error {
	b.mu.Lock()
	bx, f, err := b.folder(mailbox, name)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	for _, u := range uids {
		i, ok := f.find(u)
		if !ok {
			continue
		}
		m := f.msgs[i]
		switch op {
		case mail.FlagsReplace:
			m.info.Flags = nil
			fallthrough
		case mail.FlagsAdd:
			for _, fl := range flags {
				if !slices.ContainsFunc(m.info.Flags, func(x string) bool { return strings.EqualFold(x, fl) }) {
					m.info.Flags = append(m.info.Flags, fl)
				}
			}
		case mail.FlagsRemove:
			m.info.Flags = slices.DeleteFunc(m.info.Flags, func(x string) bool {
				return slices.ContainsFunc(flags, func(fl string) bool { return strings.EqualFold(x, fl) })
			})
		}
	}
	b.mu.Unlock()
	b.notify(bx.alias, name)
	return nil
}

func (b *Backend) Expunge(ctx context.Context, mailbox, name string, uids []mail.UID) error {
	b.mu.Lock()
	bx, f, err := b.folder(mailbox, name)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	f.msgs = slices.DeleteFunc(f.msgs, func(m *msg) bool { return slices.Contains(uids, m.info.UID) })
	b.mu.Unlock()
	b.notify(bx.alias, name)
	return nil
}

func (b *Backend) Append(ctx context.Context, mailbox, name string, data []byte, flags []string, date time.Time) (uint32, mail.UID, error) {
	b.mu.Lock()
	bx, f, err := b.folder(mailbox, name)
	if err != nil {
		b.mu.Unlock()
		return 0, 0, err
	}
	uid := f.add(slices.Clone(data), flags, date)
	b.mu.Unlock()
	b.notify(bx.alias, name)
	return f.validity, uid, nil
}

func (b *Backend) Copy(ctx context.Context, mailbox, from string, uids []mail.UID, to string, move bool) (uint32, []mail.UID, []mail.UID, error) {
	b.mu.Lock()
	bx, src, err := b.folder(mailbox, from)
	if err == nil && from == to {
		err = fmt.Errorf("folder %s: copying into itself", from)
	}
	var dst *folder
	if err == nil {
		_, dst, err = b.folder(mailbox, to)
	}
	if err != nil {
		b.mu.Unlock()
		return 0, nil, nil, err
	}
	var srcUIDs, dstUIDs []mail.UID
	for _, u := range uids {
		i, ok := src.find(u)
		if !ok {
			continue
		}
		m := src.msgs[i]
		srcUIDs = append(srcUIDs, u)
		dstUIDs = append(dstUIDs, dst.add(m.data, m.info.Flags, m.info.InternalDate))
	}
	if move {
		src.msgs = slices.DeleteFunc(src.msgs, func(m *msg) bool { return slices.Contains(srcUIDs, m.info.UID) })
	}
	b.mu.Unlock()
	b.notify(bx.alias, from, to)
	return dst.validity, srcUIDs, dstUIDs, nil
}

func (b *Backend) Watch(fn func(mail.Change)) func() {
	b.mu.Lock()
	id := b.nextWatch
	b.nextWatch++
	b.watchers[id] = fn
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.watchers, id)
		b.mu.Unlock()
	}
}

var _ mail.Backend = (*Backend)(nil)
