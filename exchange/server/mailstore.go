package server

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/mail"

	bolt "go.etcd.io/bbolt"
)

// priv.edb, schema 2 (docs/mail-store.md): each mailbox holds its folders
// by id, with an index of their names, and each folder its messages by UID
// with their RFC 5322 bytes in a bucket of their own.
//
//	mailboxes/<alias>/
//	    info  = Recipient            seq = mboxSeq
//	    names/<folder path> = folder id (u64 BE)
//	    folders/<id>/ info = folderInfo, msgs/<uid u32 BE> = msgRecord, raw/<uid> = bytes
//
// UIDs, folder ids and UIDVALIDITY values are chosen when a record is
// applied, from the database and the record alone: records apply exactly
// once and in LSN order (meta/applied), so replay, hard recovery and
// roll-forward give every message the UID the live server gave it.
var (
	bNames = []byte("names")
	bMsgs  = []byte("msgs")
	bRaw   = []byte("raw")
	kSeq   = []byte("seq")
)

// Log record kinds of schema 2 (priv.edb unless said otherwise).
const (
	opMailDeliver  = "mail.deliver"
	opMailAppend   = "mail.append"
	opMailFlags    = "mail.flags"
	opMailExpunge  = "mail.expunge"
	opMailCopy     = "mail.copy"
	opFolderCreate = "folder.create"
	opFolderRename = "folder.rename"
	opFolderDelete = "folder.delete"
	opRevalidate   = "mail.revalidate"
	opPassword     = "password" // dir.edb: a mailbox's password hash
	opDomains      = "domains"  // dir.edb: the organization's mail domains
)

// mailOp is the payload of the schema 2 kinds.
type mailOp struct {
	Mailbox  string         `json:"mb,omitempty"`
	To       []string       `json:"to,omitempty"` // deliver: the mailboxes
	Folder   string         `json:"f,omitempty"`
	Dest     string         `json:"d,omitempty"` // copy: destination; rename: new name
	UIDs     []uint32       `json:"u,omitempty"`
	FlagOp   mail.FlagOp    `json:"fo,omitempty"`
	Flags    []string       `json:"fl,omitempty"`
	Move     bool           `json:"mv,omitempty"`
	Date     time.Time      `json:"dt"`
	Data     []byte         `json:"data,omitempty"`
	Meta     *mail.Metadata `json:"meta,omitempty"`
	Hash     string         `json:"hash,omitempty"`    // password
	Domains  []string       `json:"domains,omitempty"` // domains
	Validity uint32         `json:"v,omitempty"`       // revalidate: the base
}

// mailResult is what applying a record answered, for the request that
// logged it: an error in the client's words (the record then changed
// nothing), or the UIDs it chose.
type mailResult struct {
	err      error
	validity uint32
	src, dst []mail.UID
}

type mboxSeq struct {
	NextFolder   uint64 `json:"nextFolder"`
	LastValidity uint32 `json:"lastValidity"`
}

type folderInfo struct {
	Name        string `json:"name"`
	UIDValidity uint32 `json:"uidValidity"`
	UIDNext     uint32 `json:"uidNext"`
	Messages    int    `json:"messages"`
	Size        int64  `json:"size"`
}

type msgRecord struct {
	Flags  []string      `json:"flags,omitempty"`
	Date   time.Time     `json:"date"`
	Size   int64         `json:"size"`
	SHA256 string        `json:"sha256"`
	Meta   mail.Metadata `json:"meta"`
}

func u32(v uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return b[:]
}

// folderRef is an open folder inside a write or read transaction.
type folderRef struct {
	id   uint64
	b    *bolt.Bucket
	info folderInfo
}

func (f *folderRef) save() error {
	v, _ := json.Marshal(f.info)
	return f.b.Put(kInfo, v)
}

// mailbox2 returns a schema 2 mailbox bucket, nil when there is none.
func mailbox2(tx *bolt.Tx, alias string) *bolt.Bucket {
	mbs := tx.Bucket(bMailboxes)
	if mbs == nil {
		return nil
	}
	return mbs.Bucket([]byte(alias))
}

// createMailbox2 makes a mailbox with its buckets; an existing one is
// answered as it is.
func createMailbox2(tx *bolt.Tx, alias string) (*bolt.Bucket, error) {
	mbs, err := tx.CreateBucketIfNotExists(bMailboxes)
	if err != nil {
		return nil, err
	}
	mb, err := mbs.CreateBucketIfNotExists([]byte(alias))
	if err != nil {
		return nil, err
	}
	for _, b := range [][]byte{bNames, bFolders} {
		if _, err := mb.CreateBucketIfNotExists(b); err != nil {
			return nil, err
		}
	}
	if mb.Get(kSeq) == nil {
		v, _ := json.Marshal(mboxSeq{NextFolder: 1})
		if err := mb.Put(kSeq, v); err != nil {
			return nil, err
		}
	}
	return mb, nil
}

func readSeq(mb *bolt.Bucket) mboxSeq {
	var q mboxSeq
	json.Unmarshal(mb.Get(kSeq), &q)
	if q.NextFolder == 0 {
		q.NextFolder = 1
	}
	return q
}

func openFolder(mb *bolt.Bucket, name string) *folderRef {
	if mb == nil || mb.Bucket(bNames) == nil {
		return nil
	}
	id := mb.Bucket(bNames).Get([]byte(name))
	if len(id) != 8 {
		return nil
	}
	fb := mb.Bucket(bFolders).Bucket(id)
	if fb == nil {
		return nil
	}
	f := &folderRef{id: binary.BigEndian.Uint64(id), b: fb}
	json.Unmarshal(fb.Get(kInfo), &f.info)
	return f
}

// newFolder creates a folder. Its UIDVALIDITY is the record's time in
// seconds, or one more than the mailbox's last when that is not above it:
// a folder made again under an old name never gets an old value.
func newFolder(mb *bolt.Bucket, name string, at time.Time, validity uint32) (*folderRef, error) {
	q := readSeq(mb)
	if validity == 0 {
		validity = max(q.LastValidity+1, uint32(at.Unix()))
	}
	q.LastValidity = max(q.LastValidity, validity)
	id := q.NextFolder
	q.NextFolder++
	fb, err := mb.Bucket(bFolders).CreateBucket(u64(id))
	if err != nil {
		return nil, err
	}
	for _, b := range [][]byte{bMsgs, bRaw} {
		if _, err := fb.CreateBucket(b); err != nil {
			return nil, err
		}
	}
	if err := mb.Bucket(bNames).Put([]byte(name), u64(id)); err != nil {
		return nil, err
	}
	v, _ := json.Marshal(q)
	if err := mb.Put(kSeq, v); err != nil {
		return nil, err
	}
	f := &folderRef{id: id, b: fb, info: folderInfo{Name: name, UIDValidity: validity, UIDNext: 1}}
	return f, f.save()
}

// putMessage stores a message under the folder's next UID.
func (f *folderRef) putMessage(rec msgRecord, data []byte) (mail.UID, error) {
	uid := f.info.UIDNext
	f.info.UIDNext++
	rec.Size = int64(len(data))
	if rec.SHA256 == "" {
		sum := sha256.Sum256(data)
		rec.SHA256 = hex.EncodeToString(sum[:])
	}
	rec.Flags = normFlags(rec.Flags)
	v, _ := json.Marshal(rec)
	if err := f.b.Bucket(bMsgs).Put(u32(uid), v); err != nil {
		return 0, err
	}
	if err := f.b.Bucket(bRaw).Put(u32(uid), data); err != nil {
		return 0, err
	}
	f.info.Messages++
	f.info.Size += rec.Size
	return mail.UID(uid), nil
}

func (f *folderRef) message(uid uint32) (msgRecord, bool) {
	v := f.b.Bucket(bMsgs).Get(u32(uid))
	if v == nil {
		return msgRecord{}, false
	}
	var r msgRecord
	json.Unmarshal(v, &r)
	return r, true
}

func (f *folderRef) deleteMessage(uid uint32) error {
	r, ok := f.message(uid)
	if !ok {
		return nil
	}
	f.info.Messages--
	f.info.Size -= r.Size
	if err := f.b.Bucket(bMsgs).Delete(u32(uid)); err != nil {
		return err
	}
	return f.b.Bucket(bRaw).Delete(u32(uid))
}

// normFlags sorts flags and drops repeats (compared without case, as IMAP
// does), so that equal flag sets are equal bytes.
func normFlags(flags []string) []string {
	var out []string
	for _, f := range flags {
		if f != "" && !slices.ContainsFunc(out, func(x string) bool { return strings.EqualFold(x, f) }) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

func changeFlags(have []string, op mail.FlagOp, flags []string) []string {
	switch op {
	case mail.FlagsReplace:
		return normFlags(flags)
	case mail.FlagsAdd:
		return normFlags(append(slices.Clone(have), flags...))
	}
	return slices.DeleteFunc(slices.Clone(have), func(x string) bool {
		return slices.ContainsFunc(flags, func(f string) bool { return strings.EqualFold(x, f) })
	})
}

func parentOf(name string) string {
	if i := strings.LastIndexByte(name, mail.Delim); i >= 0 {
		return name[:i]
	}
	return ""
}

// v1MessageID is the Message-ID a schema 1 message is rendered with: the
// LSN that delivered it and its mailbox make it unique and the same on
// every server.
func v1Render(alias string, lsn uint64, m *exchange.Message) []byte {
	atts := make([]mail.Attachment, len(m.Attachments))
	for i, a := range m.Attachments {
		atts[i] = mail.Attachment{Name: a.Name, Data: a.Data}
	}
	return mail.Compose(mail.Draft{From: m.From, To: m.To, Subject: m.Subject, Date: m.Date, Body: m.Body,
		MessageID: fmt.Sprintf("%d.%s@exserver.invalid", lsn, alias), Attachments: atts})
}

// v1Record is the schema 2 message a schema 1 message becomes.
func v1Record(alias string, lsn uint64, m *exchange.Message) (msgRecord, []byte) {
	raw := v1Render(alias, lsn, m)
	meta, _ := mail.Parse(raw)
	return msgRecord{Date: m.Date.UTC(), Meta: meta}, raw
}

// applyMailbox2 applies a mailbox record: a mailbox with the default
// folders, those it lacks. Folders made this way have UIDVALIDITY 1, as
// the migration gives them: no client has seen them.
func applyMailbox2(tx *bolt.Tx, r *exchange.Recipient) error {
	mb, err := createMailbox2(tx, r.Alias)
	if err != nil {
		return err
	}
	v, _ := json.Marshal(r)
	if err := mb.Put(kInfo, v); err != nil {
		return err
	}
	names := slices.Sorted(slices.Values(defaultFolders))
	for _, name := range names {
		if openFolder(mb, name) == nil {
			if _, err := newFolder(mb, name, time.Time{}, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyDeliver1 applies a schema 1 deliver record to schema 2: the message
// is rendered as the migration renders it and takes the folder's next UID,
// so that migrating and then replaying gives what replaying and then
// migrating gives.
func applyDeliver1(tx *bolt.Tx, lsn uint64, m *exchange.Message) error {
	mb, err := createMailbox2(tx, m.Mailbox)
	if err != nil {
		return err
	}
	f := openFolder(mb, m.Folder)
	if f == nil {
		if f, err = newFolder(mb, m.Folder, time.Time{}, 1); err != nil {
			return err
		}
	}
	rec, raw := v1Record(m.Mailbox, lsn, m)
	if _, err := f.putMessage(rec, raw); err != nil {
		return err
	}
	return f.save()
}

// applyMail applies a schema 2 mail record. What the client did wrong (a
// folder that is not there, a name taken) is the record's result, not an
// error: the record then changes nothing, and the store goes on.
func (o *op) applyMail(tx *bolt.Tx) error {
	m := o.Mail
	if m == nil {
		return fmt.Errorf("%s record without its fields", o.Kind)
	}
	res := &mailResult{}
	o.res = res
	if o.Kind == opRevalidate {
		return applyRevalidate(tx, m.Validity)
	}
	if o.Kind == opMailDeliver {
		for _, alias := range m.To {
			if mailbox2(tx, alias) == nil {
				res.err = fmt.Errorf("mailbox %s: %w", alias, mail.ErrNoMailbox)
				return nil
			}
		}
		rec := msgRecord{Date: m.Date}
		if m.Meta != nil {
			rec.Meta = *m.Meta
		}
		for _, alias := range m.To {
			mb := mailbox2(tx, alias)
			f := openFolder(mb, mail.Inbox)
			var err error
			if f == nil {
				if f, err = newFolder(mb, mail.Inbox, m.Date, 0); err != nil {
					return err
				}
			}
			if _, err := f.putMessage(rec, m.Data); err != nil {
				return err
			}
			if err := f.save(); err != nil {
				return err
			}
		}
		return nil
	}
	mb := mailbox2(tx, m.Mailbox)
	if mb == nil || mb.Get(kSeq) == nil {
		res.err = fmt.Errorf("mailbox %s: %w", m.Mailbox, mail.ErrNoMailbox)
		return nil
	}
	noFolder := func(name string) error { return fmt.Errorf("folder %s: %w", name, mail.ErrNoFolder) }
	switch o.Kind {
	case opFolderCreate:
		if openFolder(mb, m.Folder) != nil {
			res.err = fmt.Errorf("folder %s: %w", m.Folder, mail.ErrFolderExists)
			return nil
		}
		if p := parentOf(m.Folder); p != "" && openFolder(mb, p) == nil {
			res.err = noFolder(p)
			return nil
		}
		f, err := newFolder(mb, m.Folder, m.Date, 0)
		if err == nil {
			res.validity = f.info.UIDValidity
		}
		return err
	case opFolderRename:
		return applyRename(mb, m, res)
	case opFolderDelete:
		f := openFolder(mb, m.Folder)
		switch {
		case f == nil:
			res.err = noFolder(m.Folder)
		case m.Folder == mail.Inbox:
			res.err = fmt.Errorf("the Inbox: %w", mail.ErrFolderInUse)
		case hasSubfolders(mb, m.Folder):
			res.err = fmt.Errorf("folder %s has subfolders: %w", m.Folder, mail.ErrFolderInUse)
		default:
			if err := mb.Bucket(bNames).Delete([]byte(m.Folder)); err != nil {
				return err
			}
			return mb.Bucket(bFolders).DeleteBucket(u64(f.id))
		}
		return nil
	}
	f := openFolder(mb, m.Folder)
	if f == nil {
		res.err = noFolder(m.Folder)
		return nil
	}
	switch o.Kind {
	case opMailAppend:
		rec := msgRecord{Date: m.Date, Flags: m.Flags}
		if m.Meta != nil {
			rec.Meta = *m.Meta
		}
		uid, err := f.putMessage(rec, m.Data)
		if err != nil {
			return err
		}
		res.validity, res.dst = f.info.UIDValidity, []mail.UID{uid}
		return f.save()
	case opMailFlags:
		for _, u := range m.UIDs {
			r, ok := f.message(u)
			if !ok {
				continue
			}
			r.Flags = changeFlags(r.Flags, m.FlagOp, m.Flags)
			v, _ := json.Marshal(r)
			if err := f.b.Bucket(bMsgs).Put(u32(u), v); err != nil {
				return err
			}
		}
		return nil
	case opMailExpunge:
		for _, u := range m.UIDs {
			if err := f.deleteMessage(u); err != nil {
				return err
			}
		}
		return f.save()
	case opMailCopy:
		if m.Dest == m.Folder {
			res.err = fmt.Errorf("folder %s: copying into itself", m.Folder)
			return nil
		}
		to := openFolder(mb, m.Dest)
		if to == nil {
			res.err = noFolder(m.Dest)
			return nil
		}
		for _, u := range m.UIDs {
			r, ok := f.message(u)
			if !ok {
				continue
			}
			raw := slices.Clone(f.b.Bucket(bRaw).Get(u32(u)))
			uid, err := to.putMessage(r, raw)
			if err != nil {
				return err
			}
			res.src, res.dst = append(res.src, mail.UID(u)), append(res.dst, uid)
			if m.Move {
				if err := f.deleteMessage(u); err != nil {
					return err
				}
			}
		}
		res.validity = to.info.UIDValidity
		if err := to.save(); err != nil {
			return err
		}
		return f.save()
	}
	return fmt.Errorf("unknown log record kind %q", o.Kind)
}

func hasSubfolders(mb *bolt.Bucket, name string) bool {
	c := mb.Bucket(bNames).Cursor()
	prefix := []byte(name + string(mail.Delim))
	k, _ := c.Seek(prefix)
	return k != nil && strings.HasPrefix(string(k), string(prefix))
}

// applyRename renames a folder and its subfolders by rewriting their names;
// the Inbox instead gives its messages, with their UIDs, to a new folder
// and stays, keeping its UIDNEXT so that its UIDs are never reused.
func applyRename(mb *bolt.Bucket, m *mailOp, res *mailResult) error {
	from, to := m.Folder, m.Dest
	f := openFolder(mb, from)
	switch {
	case f == nil:
		res.err = fmt.Errorf("folder %s: %w", from, mail.ErrNoFolder)
		return nil
	case openFolder(mb, to) != nil:
		res.err = fmt.Errorf("folder %s: %w", to, mail.ErrFolderExists)
		return nil
	case parentOf(to) != "" && openFolder(mb, parentOf(to)) == nil:
		res.err = fmt.Errorf("folder %s: %w", parentOf(to), mail.ErrNoFolder)
		return nil
	case to == from || strings.HasPrefix(to, from+string(mail.Delim)):
		res.err = fmt.Errorf("folder %s cannot move into itself: %w", from, mail.ErrFolderInUse)
		return nil
	}
	names := mb.Bucket(bNames)
	if from == mail.Inbox {
		nf, err := newFolder(mb, to, m.Date, 0)
		if err != nil {
			return err
		}
		var uids []uint32
		f.b.Bucket(bMsgs).ForEach(func(k, _ []byte) error {
			uids = append(uids, binary.BigEndian.Uint32(k))
			return nil
		})
		for _, u := range uids {
			r, _ := f.message(u)
			raw := slices.Clone(f.b.Bucket(bRaw).Get(u32(u)))
			v, _ := json.Marshal(r)
			if err := nf.b.Bucket(bMsgs).Put(u32(u), v); err != nil {
				return err
			}
			if err := nf.b.Bucket(bRaw).Put(u32(u), raw); err != nil {
				return err
			}
			if err := f.deleteMessage(u); err != nil {
				return err
			}
		}
		nf.info.UIDNext, nf.info.Messages, nf.info.Size = f.info.UIDNext, len(uids), 0
		for _, u := range uids {
			r, _ := nf.message(u)
			nf.info.Size += r.Size
		}
		if err := nf.save(); err != nil {
			return err
		}
		return f.save()
	}
	type mv struct{ old, new string }
	var moves []mv
	c := names.Cursor()
	prefix := from + string(mail.Delim)
	for k, _ := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, _ = c.Next() {
		moves = append(moves, mv{string(k), to + string(mail.Delim) + strings.TrimPrefix(string(k), prefix)})
	}
	moves = append(moves, mv{from, to})
	for _, x := range moves {
		sf := openFolder(mb, x.old)
		if err := names.Delete([]byte(x.old)); err != nil {
			return err
		}
		if err := names.Put([]byte(x.new), u64(sf.id)); err != nil {
			return err
		}
		sf.info.Name = x.new
		if err := sf.save(); err != nil {
			return err
		}
	}
	return nil
}
