package exchange

import "strings"

import "time"

// StoreID names one of a server's two backup units.
type StoreID string

const (
	// StoreDS is the Directory: dsadata/dir.edb and its logs.
	StoreDS StoreID = "DS"
	// StoreIS is the Information Store: mdbdata/priv.edb, mdbdata/pub.edb
	// and their shared logs.
	StoreIS StoreID = "IS"
)

// ServiceName is the name NT Backup showed for a store's service.
func (s StoreID) ServiceName() string {
	switch s {
	case StoreDS:
		return "Microsoft Directory"
	case StoreIS:
		return "Microsoft Information Store"
	}
	return string(s)
}

// Title is the store's short name, as the console's tree and messages say
// it: "Directory", "Information Store".
func (s StoreID) Title() string {
	return strings.TrimPrefix(s.ServiceName(), "Microsoft ")
}

// Valid reports whether s is one of the two stores.
func (s StoreID) Valid() bool { return s == StoreDS || s == StoreIS }

// BackupType is one of Exchange's four online backup types.
type BackupType string

const (
	Normal       BackupType = "normal"
	Copy         BackupType = "copy"
	Incremental  BackupType = "incremental"
	Differential BackupType = "differential"
)

// Valid reports whether t is one of the four types.
func (t BackupType) Valid() bool {
	switch t {
	case Normal, Copy, Incremental, Differential:
		return true
	}
	return false
}

// Full reports whether a set of this type carries the databases.
func (t BackupType) Full() bool { return t == Normal || t == Copy }

// ServiceState is the state of one service of a server.
type ServiceState string

const (
	Running ServiceState = "running"
	Stopped ServiceState = "stopped"
	// RestorePending: a restore-in-progress marker is present; the service
	// refuses to start until the restore completes.
	RestorePending ServiceState = "restore-pending"
)

// ServerInfo is one server object of the directory.
type ServerInfo struct {
	Name        string `json:"name"`
	Site        string `json:"site"`
	Address     string `json:"address,omitempty"`     // host:port of its API
	Fingerprint string `json:"fingerprint,omitempty"` // "sha256:HEX" of its certificate
}

// Site is one site of the organization.
type Site struct {
	Name    string       `json:"name"`
	Servers []ServerInfo `json:"servers"`
}

// Topology is the organization as every server answers it: sites and their
// servers, sorted by name.
type Topology struct {
	Organization string `json:"organization"`
	Sites        []Site `json:"sites"`
}

// Recipient is a mailbox in the directory.
type Recipient struct {
	Alias       string `json:"alias"`
	DisplayName string `json:"displayName"`
	HomeServer  string `json:"homeServer"`
}

// Status is a server's own view of itself.
type Status struct {
	Organization    string       `json:"organization"`
	Site            string       `json:"site"`
	Name            string       `json:"name"`
	DS              ServiceState `json:"ds"`
	IS              ServiceState `json:"is"`
	CircularLogging bool         `json:"circularLogging"`
	// Restores are the stores whose restore is staged (restore-pending):
	// what has arrived so far, waiting for the service to start.
	Restores []StagedRestore `json:"restores,omitempty"`
	// Backups are the online backups streaming now; a service under one
	// refuses to stop.
	Backups []BackupInProgress `json:"backups,omitempty"`
}

// StagedRestore is a restore chain staged on a store: its recovery runs
// when the service starts.
type StagedRestore struct {
	Store     StoreID     `json:"store"`
	Sets      []StagedSet `json:"sets"` // in the order they were restored, the full set first
	Erase     bool        `json:"erase,omitempty"`
	Private   bool        `json:"private,omitempty"`
	Public    bool        `json:"public,omitempty"`
	Began     time.Time   `json:"began"`
	Receiving bool        `json:"receiving,omitempty"` // a console is sending a further set now
	Error     string      `json:"error,omitempty"`     // why the last start could not recover it
}

// StagedSet is one set of a staged restore.
type StagedSet struct {
	Type    BackupType `json:"type"`
	Server  string     `json:"server"` // the server it was backed up from
	Created time.Time  `json:"created"`
	LowGen  uint32     `json:"lowGen"`
	HighGen uint32     `json:"highGen"`
}

// BackupInProgress is an online backup session of a store.
type BackupInProgress struct {
	Store   StoreID    `json:"store"`
	Type    BackupType `json:"type"`
	Started time.Time  `json:"started"`
}

// Restore returns the staged restore of a store, if there is one.
func (s Status) Restore(id StoreID) (StagedRestore, bool) {
	for _, r := range s.Restores {
		if r.Store == id {
			return r, true
		}
	}
	return StagedRestore{}, false
}

// Service returns the state of the given store's service.
func (s Status) Service(id StoreID) ServiceState {
	if id == StoreDS {
		return s.DS
	}
	return s.IS
}

// File kinds in a backup or restore.
const (
	KindDatabase = "database" // a consistent snapshot of an .edb
	KindLog      = "log"      // a transaction log generation
	KindEnv      = "env"      // the restore environment (RestoreEnv as JSON)
)

// BackupFile is one file of an online backup session, in the order it is to
// be read and written to tape.
type BackupFile struct {
	Name string `json:"name"` // relative, e.g. "priv.edb", "edb0000A.log", "restore.env"
	Kind string `json:"kind"`
	Size int64  `json:"size"`
}

// RestoreEnv is the restore environment: what a set holds, written to tape
// as the file "restore.env" and given back at restore.
type RestoreEnv struct {
	Organization string     `json:"organization"`
	Site         string     `json:"site"`
	Server       string     `json:"server"`
	Store        StoreID    `json:"store"`
	Type         BackupType `json:"type"`
	BaseLSN      uint64     `json:"baseLSN"` // databases are consistent up to here (full types)
	LowGen       uint32     `json:"lowGen"`  // first log generation in the set
	HighGen      uint32     `json:"highGen"` // last log generation in the set
	HighLSN      uint64     `json:"highLSN"` // last LSN held by the set's logs
	Signature    string     `json:"signature"`
	Created      time.Time  `json:"created"`
}

// BackupInfo answers a backup prepare: the session and its files.
type BackupInfo struct {
	Session string       `json:"session"`
	Env     RestoreEnv   `json:"env"`
	Files   []BackupFile `json:"files"`
}

// RestoreRequest prepares a restore of one set onto a server.
type RestoreRequest struct {
	Env     RestoreEnv `json:"env"`     // from the set's restore.env
	Erase   bool       `json:"erase"`   // Erase all existing data (applies when a chain begins)
	Private bool       `json:"private"` // IS only
	Public  bool       `json:"public"`  // IS only
	// Last marks the last set of its chain in the console's operation. The
	// server stages every set alike; a chain recovers when its service
	// starts, so Last only names the set Start belongs to.
	Last  bool `json:"last"`
	Start bool `json:"start"` // Start Service After Restore: recover the chain staged so far and start
	// Skip names log generations of a full set that the console leaves
	// out because recovery never replays them: a later generation of the
	// set starts at or before the LSN after the base. The server checks
	// that claim against the generations it receives.
	Skip []string `json:"skip,omitempty"`
}

// RestoreInfo answers a restore prepare.
type RestoreInfo struct {
	Session  string   `json:"session"`
	Warnings []string `json:"warnings,omitempty"`
}

// RestoreResult answers a restore completion, a service start (which
// recovers a staged restore) and a cancelled restore.
type RestoreResult struct {
	Recovered     bool     `json:"recovered"`               // hard recovery ran and live files were swapped
	LastLSN       uint64   `json:"lastLSN"`                 // the store's LSN after recovery
	RolledForward bool     `json:"rolledForward,omitempty"` // recovery went on through the logs on the server
	Started       bool     `json:"started"`
	Staged        int      `json:"staged,omitempty"`   // sets of the chain staged, when it was not recovered
	Messages      []string `json:"messages,omitempty"` // what an administrator should read
	// Warnings say what an administrator must act on: a roll-forward
	// that could not happen, so changes made after the backup are not in
	// the store.
	Warnings []string `json:"warnings,omitempty"`
}

// Attachment of a message.
type Attachment struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// Message is a mail message delivered to a mailbox folder.
type Message struct {
	Mailbox     string       `json:"mailbox"` // alias
	Folder      string       `json:"folder"`  // "Inbox" when empty
	From        string       `json:"from"`
	To          []string     `json:"to"`
	Subject     string       `json:"subject"`
	Date        time.Time    `json:"date"`
	Body        string       `json:"body"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Post is a post in a public folder.
type Post struct {
	Folder  string    `json:"folder"`
	From    string    `json:"from"`
	Subject string    `json:"subject"`
	Date    time.Time `json:"date"`
	Body    string    `json:"body"`
}

// Digest holds content hashes of a server's stores: equal contents give
// equal hashes on any server.
type Digest struct {
	DS   string `json:"ds"`
	Priv string `json:"priv"`
	Pub  string `json:"pub"`
}

// Find returns the server of the organization named name.
func (t Topology) Find(name string) (ServerInfo, bool) {
	for _, site := range t.Sites {
		for _, srv := range site.Servers {
			if srv.Name == name {
				return srv, true
			}
		}
	}
	return ServerInfo{}, false
}
