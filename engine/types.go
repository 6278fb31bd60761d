package engine

import (
	"context"
	"time"

	"exbackup/exchange"
	"exbackup/tape"
)

// StoreRef names one store of one server: what a tree tick or a command
// line's "IS \\EXCH01" selects. A backup writes one set per StoreRef.
type StoreRef struct {
	Server string           `json:"server"`
	Store  exchange.StoreID `json:"store"`
}

func (r StoreRef) String() string { return string(r.Store) + ` \\` + r.Server }

// LogLevel is the backup log's detail, as NT Backup offered it.
type LogLevel int

const (
	LogSummary LogLevel = iota // Summary Only (the default)
	LogFull                    // Full Detail: every file
	LogNone                    // Don't Log
)

// LogOptions say where the administrator's log goes and how much it holds.
type LogOptions struct {
	Path           string // "" = Backup.log in the home folder
	Level          LogLevel
	ExceptionsOnly bool // ntbackup /e: only what went wrong
}

// BackupRequest is everything the Backup Information dialog or the
// `backup` command asks for.
type BackupRequest struct {
	Stores              []StoreRef // in order: one set each
	Type                exchange.BackupType
	TapeName            string // "" = "Tape created on DATE" when replacing, the tape's own name when appending
	Append              bool   // false = Replace (start the tape anew)
	Verify              bool   // Verify After Backup
	Restrict            bool   // Restrict Access to Owner or Administrator
	HardwareCompression bool   // refused: file tapes have none
	Encrypt             bool   // seal the sets for the console's recipients (/encrypt)
	Description         string
	Log                 LogOptions
	// Keys open the new sets for Verify After Backup; without them an
	// encrypted backup's verify checks only the sealed data.
	Keys tape.KeyProvider
	// Sets, when given, has one entry per store of Stores: that set's own
	// type and description (NT Backup's one row per drive). An empty
	// field takes Type or Description.
	Sets []SetChoice
}

// SetChoice is one set's type and description in a BackupRequest.
type SetChoice struct {
	Type        exchange.BackupType
	Description string
}

// MaxDescription is the longest set description, in characters, the
// console writes: MTF keeps a set's strings in its SSET block, which a
// 16-bit offset bounds; NT Backup's field took far less.
const MaxDescription = 256

// Set is the type and description of the set of Stores[i].
func (r BackupRequest) Set(i int) SetChoice {
	c := SetChoice{Type: r.Type, Description: r.Description}
	if i < len(r.Sets) {
		if r.Sets[i].Type != "" {
			c.Type = r.Sets[i].Type
		}
		if r.Sets[i].Description != "" {
			c.Description = r.Sets[i].Description
		}
	}
	return c
}

// BackupResult reports a finished backup.
type BackupResult struct {
	Tape      string
	Sets      []int // data set numbers written, in order
	Files     int
	Bytes     int64
	Elapsed   time.Duration
	Verified  bool
	Encrypted bool // the sets are sealed for the console's recipients
}

// RestoreSet is one page of the Restore Information dialog: a set and its
// options.
type RestoreSet struct {
	Tape        string // tape name
	Set         int    // data set number on the tape
	Destination string // server; "" = the set's own server
	Erase       bool   // Erase all existing data
	Private     bool   // IS only
	Public      bool   // IS only
	Start       bool   // Start Service After Restore
	Verify      bool   // Verify After Restore: check every hash while reading
}

// RestoreRequest restores one or more sets; sets of one store form a chain
// restored in order, its service started only at its end.
type RestoreRequest struct {
	Sets []RestoreSet
	Log  LogOptions
	// Keys open encrypted sets; without them such a set is refused before
	// anything on a server is touched.
	Keys tape.KeyProvider
	// OnBackupStreaming is asked when a service the restore must stop is
	// refused because a backup of it streams: true waits for the backup
	// to end and then stops the service (the wait ends with ctx), false
	// fails the restore with the refusal, as a nil OnBackupStreaming does.
	OnBackupStreaming func(ctx context.Context, busy *BackupStreamingError) bool
}

// RestoreResult reports a finished restore, with what the servers said.
type RestoreResult struct {
	Sets     int
	Files    int
	Bytes    int64
	Elapsed  time.Duration
	Messages []string
	// Warnings are what the administrator must act on although the
	// restore finished: a roll-forward that could not happen, so changes
	// made after the backup are not in the store.
	Warnings []string
}

// VerifyRequest re-reads a set (Set > 0) or a whole tape and checks every hash.
type VerifyRequest struct {
	Tape string
	Set  int
	Log  LogOptions
	// Keys open encrypted sets; without them verify checks only the
	// sealed data, says so, and marks no such set verified.
	Keys tape.KeyProvider
}

// VerifyResult reports a verify.
type VerifyResult struct {
	Sets    int
	Files   int
	Bytes   int64
	Corrupt []string // "set 2, file priv.edb: …"
	// Sealed lists the encrypted sets whose contents could not be checked
	// for want of their key, and why.
	Sealed []string
}

// Snapshot is the state of a running job, read by status dialogs and the
// CLI's progress line a few times a second.
type Snapshot struct {
	Operation  string // "Backup", "Restore", "Verify", "Catalog"
	Tape       string
	Set        string // "Set 2 of 4: IS \\EXCH01"
	Current    string // file being processed
	Dirs       int
	Files      int
	Bytes      int64
	TotalBytes int64 // 0 when unknown
	Corrupt    int
	Skipped    int
	Elapsed    time.Duration
	Done       bool
	Err        error
}

// Rate is bytes per second over the elapsed time.
func (s Snapshot) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Bytes) / s.Elapsed.Seconds()
}

// Fraction is the share done, 0..1, or -1 when the total is unknown.
func (s Snapshot) Fraction() float64 {
	if s.TotalBytes <= 0 {
		return -1
	}
	return min(1, float64(s.Bytes)/float64(s.TotalBytes))
}

// Org is the organization as the console shows it: the topology answered by
// a server, and each server's own status (missing when it did not answer,
// with the reason in Unreachable).
type Org struct {
	Topology    exchange.Topology
	Status      map[string]exchange.Status // by server name
	Unreachable map[string]string          // server name → why
	Demo        bool                       // the built-in demo organization
}
