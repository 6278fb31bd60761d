package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/mail"

	bolt "go.etcd.io/bbolt"
)

// Item-level restore into the live store (ImportItems): a batch of
// messages is one log record, items.import on priv.edb; each post is one
// record, post.import on pub.edb. Whether a message or post is already
// there is decided when the record is applied, from the database and the
// record alone, so replay, hard recovery and roll-forward import exactly
// what the live server imported.
const (
	opItemsImport = "items.import" // priv.edb: messages into mailbox folders, unless already there
	opPostImport  = "post.import"  // pub.edb: a post into a public folder, unless an equal one is there
)

// importOp is the payload of items.import.
type importOp struct {
	// Date is when the batch was logged: the UIDVALIDITY of the folders
	// it creates is taken from it.
	Date time.Time `json:"dt"`
	// Create are mailboxes to make before the messages go in, when they
	// are not there: a mailbox recreated after a restore gets folders with
	// new UIDVALIDITY values, so that no client's cache of the old ones
	// applies to them.
	Create   []exchange.Recipient `json:"c,omitempty"`
	Messages []importMsg          `json:"m"`
}

type importMsg struct {
	Mailbox string        `json:"mb"`
	Folder  string        `json:"f"`
	Flags   []string      `json:"fl,omitempty"`
	Date    time.Time     `json:"dt"` // internal date
	Data    []byte        `json:"data"`
	SHA256  string        `json:"sha256"`
	Meta    mail.Metadata `json:"meta"`
}

// importApplied is what applying an import record did, for the request
// that logged it.
type importApplied struct {
	imported, duplicates int
	folders              []string    // "alias/Path" created
	changed              [][2]string // mailbox, folder that gained messages
	missing              []string    // mailboxes not there (nothing imported into them)
}

// ImportItems implements Node: the mailboxes to create, then the batch's
// messages as one log record and each post as one, applied while the
// service runs.
func (s *Server) ImportItems(ctx context.Context, req exchange.ImportRequest) (exchange.ImportResult, error) {
	res := exchange.ImportResult{FoldersCreated: []string{}, MailboxesCreated: []string{}}
	if err := checkImport(req); err != nil {
		return res, err
	}
	if !s.is.isRunning() {
		return res, exchange.Errorf(exchange.CodeNotRunning, "the %s on %s is not running: items can be restored only into a running store", exchange.StoreIS.ServiceName(), s.cfg.Name)
	}
	// Which mailboxes exist, by the alias the store spells them with.
	known := map[string]string{} // lower case → alias
	resolve := func(alias string) (string, bool, error) {
		if a, ok := known[strings.ToLower(alias)]; ok {
			return a, true, nil
		}
		found, err := s.findMailbox(alias)
		if errors.Is(err, mail.ErrNoMailbox) {
			return "", false, nil
		} else if err != nil {
			return "", false, err
		}
		known[strings.ToLower(alias)] = found
		return found, true, nil
	}
	imp := &importOp{Date: time.Now().UTC(), Messages: make([]importMsg, len(req.Messages))}
	create := map[string]exchange.Recipient{}
	for _, r := range req.Create {
		if _, ok, err := resolve(r.Alias); err != nil {
			return res, mailToAPI(err)
		} else if !ok {
			create[strings.ToLower(r.Alias)] = r
		}
	}
	for _, m := range req.Messages {
		if _, ok, err := resolve(m.Mailbox); err != nil {
			return res, mailToAPI(err)
		} else if !ok {
			if _, ok := create[strings.ToLower(m.Mailbox)]; !ok {
				return res, exchange.Errorf(exchange.CodeNotFound, "there is no mailbox %s on %s: restore its Directory entry with it (recreate the mailbox), or restore into another mailbox; nothing of this batch was restored", m.Mailbox, s.cfg.Name)
			}
		}
	}
	for _, r := range req.Create {
		if _, ok := create[strings.ToLower(r.Alias)]; !ok {
			continue
		}
		delete(create, strings.ToLower(r.Alias))
		r.HomeServer = s.cfg.Name
		if r.DisplayName == "" {
			r.DisplayName = r.Alias
		}
		if err := s.ds.commit(&op{Kind: opPutRecipient, DB: dirEDB, Recipient: &r}); err != nil {
			return res, err
		}
		imp.Create = append(imp.Create, r)
		known[strings.ToLower(r.Alias)] = r.Alias
		res.MailboxesCreated = append(res.MailboxesCreated, r.Alias)
		res.Messages = append(res.Messages, fmt.Sprintf("Mailbox %s was recreated without a password: set one with exserver mailbox --data %s --alias %s --password PASSWORD.", r.Alias, s.dir, r.Alias))
	}

	if len(req.Messages) > 0 || len(imp.Create) > 0 {
		for i, m := range req.Messages {
			alias, _, _ := resolve(m.Mailbox)
			sum := sha256.Sum256(m.Data)
			meta, _ := mail.Parse(m.Data)
			date := m.Date.UTC()
			if m.Date.IsZero() {
				date = imp.Date
			}
			imp.Messages[i] = importMsg{Mailbox: alias, Folder: m.Folder, Flags: normFlags(m.Flags), Date: date,
				Data: m.Data, SHA256: hex.EncodeToString(sum[:]), Meta: meta}
		}
		o := &op{Kind: opItemsImport, DB: privEDB, Import: imp}
		if err := s.is.commitWait(o); err != nil {
			return res, err
		}
		a := o.imported
		res.Imported += a.imported
		res.Duplicates += a.duplicates
		res.FoldersCreated = append(res.FoldersCreated, a.folders...)
		for _, alias := range a.missing {
			res.Messages = append(res.Messages, fmt.Sprintf("Mailbox %s was not there when the batch was applied: nothing was restored into it.", alias))
		}
		for _, c := range a.changed {
			s.mailw.notify(c[0], c[1])
		}
	}
	if len(req.Posts) > 0 {
		ops := make([]*op, len(req.Posts))
		for i := range req.Posts {
			p := req.Posts[i]
			if err := normalizePost(&p); err != nil {
				return res, err
			}
			ops[i] = &op{Kind: opPostImport, DB: pubEDB, Post: &p}
		}
		if err := s.is.commitWait(ops...); err != nil {
			return res, err
		}
		for _, o := range ops {
			a := o.imported
			res.Imported += a.imported
			res.Duplicates += a.duplicates
			res.FoldersCreated = append(res.FoldersCreated, a.folders...)
			if a.imported > 0 {
				s.mailw.notify("", o.Post.Folder) // IMAP sessions on the public folder, as for a post
			}
		}
	}
	return res, nil
}

// commitWait logs records, in their order, and waits until they are
// applied, so that what they did is known. It counts as a change waiting
// for as long (a backup stream gives way to it).
func (s *store) commitWait(ops ...*op) error {
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	if err := s.commitAll(ops); err != nil {
		return err
	}
	s.waitApplied()
	for _, o := range ops {
		if s.appliedTo.Load() < o.lsn || o.imported == nil {
			return exchange.Errorf(exchange.CodeNotRunning, "%s stopped before the batch was applied: it is logged and is applied when the service starts; run the restore again to see what it did", s.what())
		}
	}
	return nil
}

// commitAll is commit for several records: all are sent to the committer
// before any answer is awaited, so that they share group commits, and the
// committer, reading its queue in order, logs them in their order.
func (s *store) commitAll(ops []*op) error {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		if b := s.getBroken(); b != nil {
			return exchange.Errorf(exchange.CodeNotRunning, "%s stopped after a failure: %v", s.what(), b)
		}
		return exchange.Errorf(exchange.CodeNotRunning, "%s is not running", s.what())
	}
	reqs, quit := s.reqs, s.quit
	s.mu.Unlock()
	var err error
	var sent []*request
send:
	for _, o := range ops {
		r := &request{op: o, done: make(chan error, 1)}
		select {
		case reqs <- r:
			sent = append(sent, r)
		case <-quit:
			err = exchange.Errorf(exchange.CodeNotRunning, "%s is stopping", s.what())
			break send
		}
	}
	for _, r := range sent {
		if e := <-r.done; e != nil && err == nil {
			err = e
		}
	}
	return err
}

// applyImport applies items.import: each message goes into its folder
// (created, with its parents, when missing) unless the folder holds one
// with the same SHA-256 and Message-ID.
func (o *op) applyImport(tx *bolt.Tx) error {
	if o.Import == nil {
		return fmt.Errorf("%s record without its messages", o.Kind)
	}
	res := &importApplied{}
	o.imported = res
	type target struct {
		f    *folderRef
		have map[string][]uint32 // sha256 → UIDs
	}
	for i := range o.Import.Create {
		r := &o.Import.Create[i]
		if mb := mailbox2(tx, r.Alias); mb != nil && mb.Get(kSeq) != nil {
			continue
		}
		if err := createMailboxAt(tx, r, o.Import.Date); err != nil {
			return err
		}
	}
	targets := map[[2]string]*target{}
	var order [][2]string
	for _, m := range o.Import.Messages {
		mb := mailbox2(tx, m.Mailbox)
		if mb == nil || mb.Get(kSeq) == nil {
			if !slices.Contains(res.missing, m.Mailbox) {
				res.missing = append(res.missing, m.Mailbox)
			}
			continue
		}
		key := [2]string{m.Mailbox, m.Folder}
		t := targets[key]
		if t == nil {
			f, created, err := ensureFolder(mb, m.Folder, o.Import.Date)
			if err != nil {
				return err
			}
			for _, c := range created {
				res.folders = append(res.folders, m.Mailbox+"/"+c)
			}
			t = &target{f: f, have: folderHashes(f)}
			targets[key] = t
			order = append(order, key)
		}
		if uids := t.have[m.SHA256]; len(uids) > 0 && t.f.holdsMessageID(uids, m.Meta.MessageID) {
			res.duplicates++
			continue
		}
		uid, err := t.f.putMessage(msgRecord{Flags: m.Flags, Date: m.Date, SHA256: m.SHA256, Meta: m.Meta}, m.Data)
		if err != nil {
			return err
		}
		t.have[m.SHA256] = append(t.have[m.SHA256], uint32(uid))
		res.imported++
		if !slices.Contains(res.changed, key) {
			res.changed = append(res.changed, key)
		}
	}
	for _, key := range order {
		if err := targets[key].f.save(); err != nil {
			return err
		}
	}
	return nil
}

// createMailboxAt makes a mailbox with the default folders, their
// UIDVALIDITY taken from at as folder.create takes it.
func createMailboxAt(tx *bolt.Tx, r *exchange.Recipient, at time.Time) error {
	mb, err := createMailbox2(tx, r.Alias)
	if err != nil {
		return err
	}
	v, _ := json.Marshal(r)
	if err := mb.Put(kInfo, v); err != nil {
		return err
	}
	for _, name := range slices.Sorted(slices.Values(defaultFolders)) {
		if openFolder(mb, name) == nil {
			if _, err := newFolder(mb, name, at, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureFolder opens a folder of a mailbox, creating it and any missing
// parents; it answers the names it created, parents first.
func ensureFolder(mb *bolt.Bucket, name string, at time.Time) (*folderRef, []string, error) {
	if f := openFolder(mb, name); f != nil {
		return f, nil, nil
	}
	var created []string
	parts := strings.Split(name, string(mail.Delim))
	for i := range parts {
		p := strings.Join(parts[:i+1], string(mail.Delim))
		if openFolder(mb, p) != nil {
			continue
		}
		if _, err := newFolder(mb, p, at, 0); err != nil {
			return nil, nil, err
		}
		created = append(created, p)
	}
	return openFolder(mb, name), created, nil
}

var shaField = []byte(`"sha256":"`)

// folderHashes indexes a folder's messages by SHA-256. It reads the hash
// out of each record without decoding the rest: a large folder is
// indexed once per batch.
func folderHashes(f *folderRef) map[string][]uint32 {
	have := map[string][]uint32{}
	f.b.Bucket(bMsgs).ForEach(func(k, v []byte) error {
		i := bytes.Index(v, shaField)
		if i < 0 {
			return nil
		}
		rest := v[i+len(shaField):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			have[string(rest[:j])] = append(have[string(rest[:j])], binary.BigEndian.Uint32(k))
		}
		return nil
	})
	return have
}

// holdsMessageID reports whether one of the messages uids has the
// Message-ID id.
func (f *folderRef) holdsMessageID(uids []uint32, id string) bool {
	for _, u := range uids {
		if r, ok := f.message(u); ok && r.Meta.MessageID == id {
			return true
		}
	}
	return false
}

// applyPostImport applies post.import: the post goes into its public
// folder under the record's LSN, unless the folder holds an equal post.
func (o *op) applyPostImport(tx *bolt.Tx, lsn uint64) error {
	p := o.Post
	if p == nil {
		return fmt.Errorf("%s record without its post", o.Kind)
	}
	res := &importApplied{}
	o.imported = res
	fs, err := tx.CreateBucketIfNotExists(bFolders)
	if err != nil {
		return err
	}
	f := fs.Bucket([]byte(p.Folder))
	if f == nil {
		if f, err = fs.CreateBucket([]byte(p.Folder)); err != nil {
			return err
		}
		res.folders = append(res.folders, "Public Folders/"+p.Folder)
	}
	dup := false
	f.ForEach(func(_, v []byte) error {
		var have exchange.Post
		if !dup && json.Unmarshal(v, &have) == nil && samePost(have, *p) {
			dup = true
		}
		return nil
	})
	if dup {
		res.duplicates++
		return nil
	}
	v, _ := json.Marshal(p)
	res.imported++
	return f.Put(u64(lsn), v)
}

func samePost(a, b exchange.Post) bool {
	return a.Folder == b.Folder && a.From == b.From && a.Subject == b.Subject && a.Body == b.Body && a.Date.Equal(b.Date)
}
