package engine

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"exbackup/exchange"
	"exbackup/tape"
)

// Item-level recovery: a set of an Information Store (with, for an
// incremental or differential, the rest of its chain) is read from tape
// into a folder under the console's home, recovered there and opened
// read-only, without touching any live server. Its mailboxes, folders,
// messages and public folders are then browsed, exported as .eml or mbox,
// or put back into a live store online (Server.ImportItems).

// ItemStore is a recovered store opened read-only. Package
// exchange/server's OfflineStore is the production one; app passes it in
// through Engine.SetRecoverer so that the engine (and ui) stay free of
// the server package.
type ItemStore interface {
	Mailboxes() ([]exchange.MailboxSummary, error)
	Folders(alias string) ([]exchange.FolderSummary, error)
	Messages(alias, folder string) ([]exchange.ItemSummary, error)
	// Message answers a message's exact stored bytes.
	Message(alias, folder string, uid uint64) ([]byte, exchange.ItemSummary, error)
	PublicFolders() ([]exchange.FolderSummary, error)
	Posts(folder string) ([]exchange.ItemSummary, error)
	// Post answers a post as the server holds it, and rendered as an
	// RFC 5322 message for export and viewing.
	Post(folder string, id uint64) (exchange.Post, []byte, exchange.ItemSummary, error)
	Close() error
}

// Recoverer makes ItemStores.
type Recoverer interface {
	// Recover runs hard recovery in dir, which holds the files of a
	// chain's sets as read from tape (the full set's databases, every
	// set's log generations, under their names on tape), replaying from
	// the first set's base through the last log; then it opens the
	// result read-only. sets are the chain's restore environments, full
	// set first.
	Recover(dir string, sets []exchange.RestoreEnv) (ItemStore, error)
	// Reopen opens a folder Recover finished before (read-only), or fails
	// when it did not finish.
	Reopen(dir string) (ItemStore, error)
}

// SetRecoverer sets what recovers and opens staged sets. Without one,
// OpenItems and the jobs built on it refuse with a message saying so.
func (e *Engine) SetRecoverer(r Recoverer) {
	e.mu.Lock()
	e.recoverer = r
	e.mu.Unlock()
}

func (e *Engine) itemRecoverer() (Recoverer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.recoverer == nil {
		return nil, errors.New("this console cannot open the mailboxes of a store set: it has no recovery engine")
	}
	return e.recoverer, nil
}

// SetRef is one set of a chain as OpenItems read it.
type SetRef struct {
	Tape string              `json:"tape"`
	Set  int                 `json:"set"`
	Type exchange.BackupType `json:"type"`
}

func (r SetRef) String() string {
	return fmt.Sprintf("set %d of tape %q (%s)", r.Set, r.Tape, TypeTitle(r.Type))
}

// Items is a set of an Information Store opened read-only: its chain read
// from tape, recovered in a folder of the console's home.
type Items struct {
	Tape  string
	Set   int
	Chain []SetRef // the sets read, full set first
	// Server is the set's own server, where its mailboxes lived.
	Server string
	Dir    string // where the chain was staged and recovered
	Bytes  int64  // temporary space it takes
	Cached bool   // a copy staged before was reused
	// Elapsed is how long opening took: reading the chain and recovering
	// it (ReadTime, RecoverTime), or reopening the cached copy.
	Elapsed               time.Duration
	ReadTime, RecoverTime time.Duration

	e     *Engine
	rec   Recoverer
	store ItemStore
	once  sync.Once
	read  int64 // message bytes read since the store was opened
}

// remapAfter is how many message bytes a long restore or export reads
// before it opens the store again: the recovered databases are read
// through a mapping whose pages count in the console's resident memory
// until it is unmapped.
var remapAfter int64 = 16 << 20

// readBytes counts message bytes read and, past remapAfter, opens the
// store again.
func (it *Items) readBytes(n int) error {
	it.read += int64(n)
	if it.read < remapAfter {
		return nil
	}
	return it.remap()
}

// remap opens the store again, which drops the pages read so far from
// the console's memory.
func (it *Items) remap() error {
	if it.rec == nil {
		return nil
	}
	it.read = 0
	if err := it.store.Close(); err != nil {
		return fmt.Errorf("the copy staged at %s: %w", it.Dir, err)
	}
	s, err := it.rec.Reopen(it.Dir)
	if err != nil {
		it.store = closedStore{}
		return fmt.Errorf("the copy staged at %s: %w", it.Dir, err)
	}
	it.store = s
	return nil
}

// ItemOpenRequest opens a set for browsing: Keys open an encrypted set.
type ItemOpenRequest struct {
	Tape string
	Set  int
	Keys tape.KeyProvider
}

// closedStore stands for a store that could not be opened again.
type closedStore struct{}

var errStoreClosed = errors.New("the staged copy is closed")

func (closedStore) Mailboxes() ([]exchange.MailboxSummary, error)    { return nil, errStoreClosed }
func (closedStore) Folders(string) ([]exchange.FolderSummary, error) { return nil, errStoreClosed }
func (closedStore) Messages(string, string) ([]exchange.ItemSummary, error) {
	return nil, errStoreClosed
}
func (closedStore) Message(string, string, uint64) ([]byte, exchange.ItemSummary, error) {
	return nil, exchange.ItemSummary{}, errStoreClosed
}
func (closedStore) PublicFolders() ([]exchange.FolderSummary, error) { return nil, errStoreClosed }
func (closedStore) Posts(string) ([]exchange.ItemSummary, error)     { return nil, errStoreClosed }
func (closedStore) Post(string, uint64) (exchange.Post, []byte, exchange.ItemSummary, error) {
	return exchange.Post{}, nil, exchange.ItemSummary{}, errStoreClosed
}
func (closedStore) Close() error { return nil }
