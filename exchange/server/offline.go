package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/mail"

	bolt "go.etcd.io/bbolt"
)

// Offline recovery: the files of a chain's sets (the full set's databases
// and every set's log generations, under their names on tape) are
// recovered in a folder of their own, outside any server, and opened
// read-only for browsing and item-level restore. No service, listener or
// live file is involved: hard recovery is the replay a staged restore runs
// (hardRecovery), then the folder is marked finished.

// offlineMarker records a finished offline recovery in its folder.
const offlineMarker = "recovered.json"

// offlineInfo is the content of recovered.json.
type offlineInfo struct {
	Version   int                   `json:"version"`
	Sets      []exchange.RestoreEnv `json:"sets"`
	LastLSN   uint64                `json:"lastLSN"`
	Recovered time.Time             `json:"recovered"`
	// Files are the recovered databases and the index with their sizes
	// and modification times: a folder whose files changed since is not
	// reopened.
	Files map[string]offlineFile `json:"files"`
	// Index locates the summary index (items.idx) listings read.
	Index offlineIndexRef `json:"index"`
}

// offlineVersion is the version of recovered.json; a folder recovered
// before the index (version 1) is recovered again.
const offlineVersion = 2

type offlineFile struct {
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modTime"`
}

// OfflineStore is a store recovered from backup sets outside any server,
// opened read-only. Its methods are those of the console's ItemStore.
type OfflineStore struct {
	dir       string
	info      offlineInfo
	priv, pub *bolt.DB
	index     *openedIndex
}

// RecoverOffline runs hard recovery in dir, which holds the files of a
// chain's sets of an Information Store as read from tape, replaying from
// the first set's base through the last set's logs, and opens the result
// read-only. sets are the chain's restore environments, full set first;
// they must be one log set with no generation missing. Databases of
// schema 1 are migrated as the server migrates them. Success is recorded
// in dir (recovered.json), which ReopenOffline needs, after the summary
// index listings read (items.idx) is written.
func RecoverOffline(dir string, sets []exchange.RestoreEnv) (*OfflineStore, error) {
	// A folder recovered before is recovered again: it is unfinished until
	// the marker is back, whatever stops this recovery.
	if err := os.Remove(filepath.Join(dir, offlineMarker)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("recovering the backup in %s: %w", dir, err)
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("recovering the backup in %s: %w", dir, err)
	}
	if err := checkOfflineChain(dir, sets); err != nil {
		return nil, err
	}
	last := sets[len(sets)-1]
	high := uint64(0)
	for _, e := range sets {
		high = max(high, e.HighLSN)
	}
	dbs, lsn, err := hardRecovery(dir, dir, []string{privEDB, pubEDB}, sets[0].BaseLSN, high)
	if err != nil {
		return nil, fmt.Errorf("recovering the backup of the %s on %s (%s) in %s: %w", last.Store.ServiceName(), sets[0].Server, describeEnvs(sets), dir, err)
	}
	var errs []error
	for _, db := range dbs {
		errs = append(errs, db.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("recovering the backup in %s: %w", dir, err)
	}
	info := offlineInfo{Version: offlineVersion, Sets: slices.Clone(sets), LastLSN: lsn, Recovered: time.Now().UTC(), Files: map[string]offlineFile{}}
	for _, name := range []string{privEDB, pubEDB} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
			info.Files[name] = offlineFile{Size: fi.Size(), ModTime: fi.ModTime().UTC()}
		}
	}
	_, pub := info.Files[pubEDB]
	if info.Index, err = buildOfflineIndex(dir, pub); err != nil {
		return nil, fmt.Errorf("recovering the backup in %s: indexing its mailboxes and public folders: %w", dir, err)
	}
	fi, err := os.Stat(filepath.Join(dir, offlineIndexFile))
	if err != nil {
		return nil, fmt.Errorf("recovering the backup in %s: %w", dir, err)
	}
	info.Files[offlineIndexFile] = offlineFile{Size: fi.Size(), ModTime: fi.ModTime().UTC()}
	data, _ := json.MarshalIndent(info, "", "  ")
	if err := writeFileAtomic(filepath.Join(dir, offlineMarker), data); err != nil {
		return nil, fmt.Errorf("recovering the backup in %s: recording it: %w", dir, err)
	}
	return openOffline(dir, info)
}

// ReopenOffline opens a folder RecoverOffline finished, read-only; a
// folder whose recovery did not finish, whose databases or index changed
// since, or whose index is missing or damaged, is refused.
func ReopenOffline(dir string) (*OfflineStore, error) {
	data, err := os.ReadFile(filepath.Join(dir, offlineMarker))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("the backup staged in %s was not recovered to the end: recover it again", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("the backup staged in %s: %w", dir, err)
	}
	var info offlineInfo
	if err := json.Unmarshal(data, &info); err != nil || len(info.Sets) == 0 {
		return nil, fmt.Errorf("the backup staged in %s: %s is unreadable: recover it again", dir, offlineMarker)
	}
	if info.Version != offlineVersion {
		return nil, fmt.Errorf("the backup staged in %s was recovered by another version of exbackup: recover it again", dir)
	}
	if _, ok := info.Files[offlineIndexFile]; !ok {
		return nil, fmt.Errorf("the backup staged in %s: %s names no index: recover it again", dir, offlineMarker)
	}
	for _, name := range slices.Sorted(maps.Keys(info.Files)) {
		want := info.Files[name]
		fi, err := os.Stat(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("the backup staged in %s: %s is missing: recover it again", dir, name)
		}
		if err != nil || fi.Size() != want.Size || !fi.ModTime().UTC().Equal(want.ModTime) {
			return nil, fmt.Errorf("the backup staged in %s: %s changed since it was recovered: recover it again", dir, name)
		}
	}
	return openOffline(dir, info)
}

func openOffline(dir string, info offlineInfo) (*OfflineStore, error) {
	o := &OfflineStore{dir: dir, info: info}
	var err error
	if o.index, err = openOfflineIndex(dir, info.Index); err != nil {
		return nil, err
	}
	if o.priv, err = boltOpen(filepath.Join(dir, privEDB), true); err != nil {
		o.index.Close()
		return nil, fmt.Errorf("the backup staged in %s: opening %s: %w", dir, privEDB, err)
	}
	if _, ok := info.Files[pubEDB]; ok {
		if o.pub, err = boltOpen(filepath.Join(dir, pubEDB), true); err != nil {
			o.priv.Close()
			o.index.Close()
			return nil, fmt.Errorf("the backup staged in %s: opening %s: %w", dir, pubEDB, err)
		}
	}
	return o, nil
}

// checkOfflineChain checks that sets are a chain of one Information Store
// whose files are all in dir.
func checkOfflineChain(dir string, sets []exchange.RestoreEnv) error {
	if len(sets) == 0 {
		return fmt.Errorf("recovering a backup in %s: no backup set was given", dir)
	}
	full := sets[0]
	if full.Store != exchange.StoreIS {
		return fmt.Errorf("the set of the %s on %s holds no mailboxes: only sets of an Information Store can be browsed", full.Store.ServiceName(), full.Server)
	}
	if !full.Type.Full() {
		return fmt.Errorf("the %s set of %s on %s cannot be recovered alone: its chain must begin with a Normal or Copy set", full.Type, full.Store.ServiceName(), full.Server)
	}
	for i := 1; i < len(sets); i++ {
		prev, e := sets[i-1], sets[i]
		switch {
		case e.Type.Full():
			return fmt.Errorf("set %d of the chain (%s, %s) is a full set: a chain holds one full set, first", i+1, e.Type, e.Created.Format(time.DateTime))
		case e.Store != full.Store || e.Signature != full.Signature:
			return fmt.Errorf("set %d of the chain (%s, %s) does not belong to the log set of the full set of %s", i+1, e.Type, e.Created.Format(time.DateTime), full.Created.Format(time.DateTime))
		case e.LowGen > prev.HighGen+1:
			return fmt.Errorf("log generations %s to %s are missing between set %d and set %d of the chain: a set of the chain is missing", genName(prev.HighGen+1), genName(e.LowGen-1), i, i+1)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, privEDB)); err != nil {
		return fmt.Errorf("the private information store %s of the full set is not in %s", privEDB, dir)
	}
	// Replay starts in the full set's last generation (it holds its base)
	// and needs every generation after it.
	high := full.HighGen
	for _, e := range sets {
		high = max(high, e.HighGen)
	}
	for g := full.HighGen; g <= high; g++ {
		if _, err := os.Stat(filepath.Join(dir, genName(g))); err != nil {
			return fmt.Errorf("log generation %s is missing from %s: the sets of the chain hold %s", genName(g), dir, describeGens(sets))
		}
	}
	return nil
}

func describeGens(sets []exchange.RestoreEnv) string {
	s := ""
	for i, e := range sets {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %s–%s", e.Type, genName(e.LowGen), genName(e.HighGen))
	}
	return s
}

func describeEnvs(sets []exchange.RestoreEnv) string {
	st := make([]exchange.StagedSet, len(sets))
	for i, e := range sets {
		st[i] = exchange.StagedSet{Type: e.Type, Server: e.Server, Created: e.Created, LowGen: e.LowGen, HighGen: e.HighGen}
	}
	return describeSets(st)
}

// Close closes the databases and the index; the folder stays for
// ReopenOffline.
func (o *OfflineStore) Close() error {
	var errs []error
	if o.index != nil {
		errs = append(errs, o.index.Close())
	}
	if o.priv != nil {
		errs = append(errs, o.priv.Close())
	}
	if o.pub != nil {
		errs = append(errs, o.pub.Close())
	}
	return errors.Join(errs...)
}

// Dir is the folder the store was recovered in.
func (o *OfflineStore) Dir() string { return o.dir }

// Sets are the restore environments of the sets it was recovered from.
func (o *OfflineStore) Sets() []exchange.RestoreEnv { return slices.Clone(o.info.Sets) }

func (o *OfflineStore) noMailbox(alias string) error {
	return exchange.Errorf(exchange.CodeNotFound, "there is no mailbox %s in the backup of %s", alias, o.info.Sets[0].Server)
}

// Mailboxes lists the mailboxes of the private store, by alias, from the
// index.
func (o *OfflineStore) Mailboxes() ([]exchange.MailboxSummary, error) {
	var out []exchange.MailboxSummary
	for _, m := range o.index.head.Mailboxes {
		out = append(out, m.Summary)
	}
	return out, nil
}

// eachFolderInfo calls fn for each folder of a mailbox, in name order.
func eachFolderInfo(mb *bolt.Bucket, fn func(name string, fi folderInfo)) {
	names := mb.Bucket(bNames)
	if names == nil {
		return
	}
	names.ForEach(func(k, _ []byte) error {
		if f := openFolder(mb, string(k)); f != nil {
			fn(string(k), f.info)
		}
		return nil
	})
}

// Folders lists a mailbox's folders, in name order (a parent before its
// subfolders), from the index.
func (o *OfflineStore) Folders(alias string) ([]exchange.FolderSummary, error) {
	m := o.index.mailbox(alias)
	if m == nil {
		return nil, o.noMailbox(alias)
	}
	out := []exchange.FolderSummary{}
	for _, f := range m.Folders {
		out = append(out, f.Summary)
	}
	return out, nil
}

func (o *OfflineStore) noFolder(alias, name string) error {
	return exchange.Errorf(exchange.CodeNotFound, "mailbox %s has no folder %s in the backup of %s", alias, name, o.info.Sets[0].Server)
}

// folder runs fn on a folder of a mailbox.
func (o *OfflineStore) folder(alias, name string, fn func(f *folderRef) error) error {
	return o.priv.View(func(tx *bolt.Tx) error {
		mb := mailbox2(tx, alias)
		if mb == nil {
			return o.noMailbox(alias)
		}
		f := openFolder(mb, name)
		if f == nil {
			return o.noFolder(alias, name)
		}
		return fn(f)
	})
}

func itemOf(uid uint32, r msgRecord) exchange.ItemSummary {
	it := exchange.ItemSummary{ID: uint64(uid), MessageID: r.Meta.MessageID, Date: r.Meta.Date, Received: r.Date,
		Subject: r.Meta.Subject, Size: r.Size, Flags: r.Flags, SHA256: r.SHA256}
	if it.Date.IsZero() {
		it.Date = r.Date
	}
	if len(r.Meta.From) > 0 {
		it.From = r.Meta.From[0].String()
	}
	for _, a := range r.Meta.To {
		it.To = append(it.To, a.String())
	}
	return it
}

// Messages lists a folder's messages in UID order from the index,
// without reading the databases; Attachments are filled in by Message.
func (o *OfflineStore) Messages(alias, folder string) ([]exchange.ItemSummary, error) {
	m := o.index.mailbox(alias)
	if m == nil {
		return nil, o.noMailbox(alias)
	}
	f := findIndexFolder(m.Folders, folder)
	if f == nil {
		return nil, o.noFolder(alias, folder)
	}
	return o.index.items(f, fmt.Sprintf("folder %s of mailbox %s", folder, alias))
}

// Message answers a message's exact stored bytes and its summary with
// its attachments' names.
func (o *OfflineStore) Message(alias, folder string, uid uint64) ([]byte, exchange.ItemSummary, error) {
	var (
		raw []byte
		it  exchange.ItemSummary
	)
	err := o.folder(alias, folder, func(f *folderRef) error {
		r, ok := msgRecord{}, false
		if uid <= 1<<32-1 {
			r, ok = f.message(uint32(uid))
		}
		if !ok {
			return exchange.Errorf(exchange.CodeNotFound, "folder %s of mailbox %s has no message %d in the backup", folder, alias, uid)
		}
		raw = slices.Clone(f.b.Bucket(bRaw).Get(u32(uint32(uid))))
		it = itemOf(uint32(uid), r)
		return nil
	})
	if err != nil {
		return nil, it, err
	}
	it.Attachments = mail.AttachmentNames(raw)
	return raw, it, nil
}

// PublicFolders lists the public folders, in name order, from the index.
func (o *OfflineStore) PublicFolders() ([]exchange.FolderSummary, error) {
	out := []exchange.FolderSummary{}
	for _, f := range o.index.head.Public {
		if f.Error != "" {
			return out, errors.New(f.Error)
		}
		out = append(out, f.Summary)
	}
	return out, nil
}

// renderPost is a post as an RFC 5322 message, as IMAP shows it
// (composePost) but for the domain, which an Information Store's set does
// not hold: an author that is only a name gets an address at
// exserver.invalid.
func renderPost(lsn uint64, p exchange.Post) []byte { return composePost(lsn, p, "") }

func postItem(lsn uint64, p exchange.Post) (exchange.ItemSummary, []byte) {
	raw := renderPost(lsn, p)
	sum := sha256.Sum256(raw)
	return exchange.ItemSummary{ID: lsn, MessageID: postMessageID(lsn), Date: p.Date, Received: p.Date,
		From: p.From, Subject: p.Subject, Size: int64(len(raw)), SHA256: hex.EncodeToString(sum[:])}, raw
}

func (o *OfflineStore) publicFolder(folder string, fn func(b *bolt.Bucket) error) error {
	if o.pub == nil {
		return exchange.Errorf(exchange.CodeNotFound, "the backup of %s holds no public folders", o.info.Sets[0].Server)
	}
	return o.pub.View(func(tx *bolt.Tx) error {
		var b *bolt.Bucket
		if fs := tx.Bucket(bFolders); fs != nil {
			b = fs.Bucket([]byte(folder))
		}
		if b == nil {
			return exchange.Errorf(exchange.CodeNotFound, "there is no public folder %s in the backup of %s", folder, o.info.Sets[0].Server)
		}
		return fn(b)
	})
}

// Posts lists a public folder's posts in the order they were stored,
// from the index.
func (o *OfflineStore) Posts(folder string) ([]exchange.ItemSummary, error) {
	if o.pub == nil {
		return nil, exchange.Errorf(exchange.CodeNotFound, "the backup of %s holds no public folders", o.info.Sets[0].Server)
	}
	f := findIndexFolder(o.index.head.Public, folder)
	if f == nil {
		return nil, exchange.Errorf(exchange.CodeNotFound, "there is no public folder %s in the backup of %s", folder, o.info.Sets[0].Server)
	}
	return o.index.items(f, "public folder "+folder)
}

// Post answers a post as stored, rendered as an RFC 5322 message, and its
// summary.
func (o *OfflineStore) Post(folder string, id uint64) (exchange.Post, []byte, exchange.ItemSummary, error) {
	var p exchange.Post
	err := o.publicFolder(folder, func(b *bolt.Bucket) error {
		v := b.Get(u64(id))
		if v == nil {
			return exchange.Errorf(exchange.CodeNotFound, "public folder %s has no post %d in the backup", folder, id)
		}
		return json.Unmarshal(v, &p)
	})
	if err != nil {
		return p, nil, exchange.ItemSummary{}, err
	}
	it, raw := postItem(id, p)
	return p, raw, it, nil
}
