package server

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"exbackup/exchange"

	bolt "go.etcd.io/bbolt"
)

// op is one logged change. It is encoded as JSON into a log record, and
// applying it is deterministic given the database and its LSN. Each
// database applies a record exactly once, in LSN order, in the transaction
// that records it in meta/applied; replay skips what is at or below it.
type op struct {
	Kind string `json:"k"`
	DB   string `json:"db"` // the file it applies to: dir.edb, priv.edb, pub.edb

	Org       string               `json:"org,omitempty"`
	Server    *exchange.ServerInfo `json:"srv,omitempty"`
	Recipient *exchange.Recipient  `json:"rcp,omitempty"`
	Message   *exchange.Message    `json:"msg,omitempty"`
	Post      *exchange.Post       `json:"post,omitempty"`
	Mail      *mailOp              `json:"mail,omitempty"` // the schema 2 kinds (mailstore.go)
	Import    *importOp            `json:"imp,omitempty"`  // items.import (items.go)

	lsn      uint64         // set by the committer once logged
	res      *mailResult    // set by the applier: what a mail record answered
	imported *importApplied // set by the applier: what an import record did
}

const (
	opSetOrg       = "org"       // dir.edb: organization name
	opPutServer    = "server"    // dir.edb: add or update a server object
	opPutRecipient = "recipient" // dir.edb: add or update a recipient
	opMailbox      = "mailbox"   // priv.edb: create a mailbox with its default folders
	opDeliver      = "deliver"   // priv.edb: a message into a mailbox folder
	opPost         = "post"      // pub.edb: a post into a public folder
)

// Database file names.
const (
	dirEDB  = "dir.edb"
	privEDB = "priv.edb"
	pubEDB  = "pub.edb"
)

// defaultFolders are created with every mailbox, as Exchange did.
var defaultFolders = []string{"Inbox", "Outbox", "Sent Items", "Deleted Items", "Calendar", "Contacts"}

// Bucket names. The tree of each .edb is drawn in the package doc:
//
//	dir.edb   meta{applied, schema}  org{name}  sites/<site>/<server> = ServerInfo  recipients/<alias> = Recipient
//	priv.edb  meta{applied, schema}  mailboxes/<alias>/{info, seq, names/<path>, folders/<id>/{info, msgs, raw}} (mailstore.go)
//	pub.edb   meta{applied, schema}  folders/<path>/<lsn> = Post
var (
	bMeta       = []byte("meta")
	bOrg        = []byte("org")
	bSites      = []byte("sites")
	bRecipients = []byte("recipients")
	bMailboxes  = []byte("mailboxes")
	bFolders    = []byte("folders")
	kApplied    = []byte("applied")
	kName       = []byte("name")
	kInfo       = []byte("info")
)

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// appliedLSN reads the LSN of the last op applied to a database.
func appliedLSN(tx *bolt.Tx) uint64 {
	m := tx.Bucket(bMeta)
	if m == nil {
		return 0
	}
	v := m.Get(kApplied)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func setApplied(tx *bolt.Tx, lsn uint64) error {
	m, err := tx.CreateBucketIfNotExists(bMeta)
	if err != nil {
		return err
	}
	return m.Put(kApplied, u64(lsn))
}

func encodeOp(o *op) ([]byte, error) { return json.Marshal(o) }

func decodeOp(data []byte) (*op, error) {
	var o op
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("undecodable log record: %w", err)
	}
	return &o, nil
}

// apply applies one op with its LSN inside a write transaction of its
// database. The caller records the applied LSN.
func (o *op) apply(tx *bolt.Tx, lsn uint64) error {
	switch o.Kind {
	case opSetOrg:
		b, err := tx.CreateBucketIfNotExists(bOrg)
		if err != nil {
			return err
		}
		return b.Put(kName, []byte(o.Org))
	case opPutServer:
		if o.Server == nil {
			return fmt.Errorf("server op without server")
		}
		sites, err := tx.CreateBucketIfNotExists(bSites)
		if err != nil {
			return err
		}
		site, err := sites.CreateBucketIfNotExists([]byte(o.Server.Site))
		if err != nil {
			return err
		}
		v, _ := json.Marshal(o.Server)
		return site.Put([]byte(o.Server.Name), v)
	case opPutRecipient:
		if o.Recipient == nil {
			return fmt.Errorf("recipient op without recipient")
		}
		b, err := tx.CreateBucketIfNotExists(bRecipients)
		if err != nil {
			return err
		}
		v, _ := json.Marshal(o.Recipient)
		return b.Put([]byte(o.Recipient.Alias), v)
	case opMailbox:
		if o.Recipient == nil {
			return fmt.Errorf("mailbox op without recipient")
		}
		return applyMailbox2(tx, o.Recipient)
	case opDeliver:
		if o.Message == nil {
			return fmt.Errorf("deliver op without message")
		}
		return applyDeliver1(tx, lsn, o.Message)
	case opMailDeliver, opMailAppend, opMailFlags, opMailExpunge, opMailCopy,
		opFolderCreate, opFolderRename, opFolderDelete, opRevalidate:
		return o.applyMail(tx)
	case opPassword, opDomains:
		return o.applyDir(tx)
	case opItemsImport:
		return o.applyImport(tx)
	case opPostImport:
		return o.applyPostImport(tx, lsn)
	case opPost:
		p := o.Post
		if p == nil {
			return fmt.Errorf("post op without post")
		}
		fs, err := tx.CreateBucketIfNotExists(bFolders)
		if err != nil {
			return err
		}
		f, err := fs.CreateBucketIfNotExists([]byte(p.Folder))
		if err != nil {
			return err
		}
		v, _ := json.Marshal(p)
		return f.Put(u64(lsn), v)
	}
	return fmt.Errorf("unknown log record kind %q", o.Kind)
}

// normalizeMessage fills defaults and checks the fields a request must have, so
// that an op never fails to apply.
func normalizeMessage(m *exchange.Message) error {
	if m.Mailbox == "" {
		return exchange.Errorf(exchange.CodeBadRequest, "message has no mailbox")
	}
	if m.Folder == "" {
		m.Folder = "Inbox"
	}
	if m.Date.IsZero() {
		m.Date = time.Now().UTC()
	}
	return nil
}

func normalizePost(p *exchange.Post) error {
	if p.Folder == "" {
		return exchange.Errorf(exchange.CodeBadRequest, "post has no public folder")
	}
	if p.Date.IsZero() {
		p.Date = time.Now().UTC()
	}
	return nil
}
