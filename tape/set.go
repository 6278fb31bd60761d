package tape

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"exbackup/tape/mtf"
)

// BackupType is a set's backup type, as NT Backup named them.
type BackupType int

const (
	Normal BackupType = iota + 1
	Copy
	Incremental
	Differential
	Daily
	Transfer
)

var backupTypeNames = map[BackupType]string{
	Normal: "Normal", Copy: "Copy", Incremental: "Incremental",
	Differential: "Differential", Daily: "Daily", Transfer: "Transfer",
}

func (b BackupType) String() string {
	if s, ok := backupTypeNames[b]; ok {
		return s
	}
	return fmt.Sprintf("BackupType(%d)", int(b))
}

// ParseBackupType reads a backup type name, in any case ("normal", "Copy").
func ParseBackupType(s string) (BackupType, error) {
	for t, n := range backupTypeNames {
		if strings.EqualFold(s, n) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown backup type %q", s)
}

func (b BackupType) attributes() uint32 {
	switch b {
	case Copy:
		return mtf.SetCopy
	case Incremental:
		return mtf.SetIncremental
	case Differential:
		return mtf.SetDifferential
	case Daily:
		return mtf.SetDaily
	case Transfer:
		return mtf.SetTransfer
	}
	return mtf.SetNormal
}

func backupTypeOf(attr uint32) BackupType {
	switch {
	case attr&mtf.SetNormal != 0:
		return Normal
	case attr&mtf.SetCopy != 0:
		return Copy
	case attr&mtf.SetIncremental != 0:
		return Incremental
	case attr&mtf.SetDifferential != 0:
		return Differential
	case attr&mtf.SetDaily != 0:
		return Daily
	case attr&mtf.SetTransfer != 0:
		return Transfer
	}
	return 0
}

// SetState tells whether a set can be restored.
type SetState int

const (
	// SetComplete: the set's ESET is on tape and every check passed.
	SetComplete SetState = iota + 1
	// SetAborted: the set was never finished (crash, full disk, cancel):
	// it ends after a whole block without its ESET, as SetWriter.Abort
	// leaves it, or has an ESET marked aborted. Never restorable.
	SetAborted
	// SetDamaged: part of the set fails its checks (Set.Err tells where),
	// or the tape file ends inside one of its blocks: it was cut short
	// (Set.EndsAt). Never restorable.
	SetDamaged
)

func (s SetState) String() string {
	switch s {
	case SetComplete:
		return "complete"
	case SetAborted:
		return "aborted"
	case SetDamaged:
		return "damaged"
	}
	return fmt.Sprintf("SetState(%d)", int(s))
}

// Hash is a file's digest as recorded on tape.
type Hash struct {
	Algo mtf.HashAlgo
	Sum  [32]byte
}

// String returns the digest as the catalog records it: "blake3:HEX" (or
// "sha256:HEX" for the first tapes).
func (h Hash) String() string { return h.Algo.String() + ":" + hex.EncodeToString(h.Sum[:]) }

// hashOf returns the digest an EXBH stream records.
func hashOf(h *mtf.FileHash) Hash { return Hash{Algo: h.Algo, Sum: h.Sum} }

// IsZero reports whether no hash is recorded (a foreign tape).
func (h Hash) IsZero() bool { return h == Hash{} }

// Set describes one backup set on a tape: everything the catalog records
// about it can be rebuilt from here.
type Set struct {
	Tape        string // the tape's name
	Number      int    // data set number, from 1
	Type        BackupType
	Name        string // "Set created 11/25/2026 at 2:59 PM"
	Description string
	Owner       string // the SSET user name, "user@host"
	Restricted  bool   // restricted to the owner or an administrator
	Properties  map[string]string
	Created     time.Time
	Volumes     []Volume
	Files       int
	Bytes       int64
	State       SetState
	Err         error // why the set is aborted or damaged, when known
	Entries     []Entry
	Offset      int64 // byte offset of the SSET in the tape file
	// EndsAt is, for a set the tape file ends inside of (in the middle of
	// a block, without its ESET), the file's size: the tape was cut short
	// there. 0 otherwise.
	EndsAt int64
	// Exbackup is true for sets written by exbackup (they carry per-file
	// hashes and a metadata digest).
	Exbackup bool
	// Encrypted sets list without a key; their data needs one (see
	// KeyProvider). Recipients is how many keys can read it.
	Encrypted  bool
	Recipients int
	// Continues is set when the medium ends inside the set: it goes on on
	// the next member of the media family. Continued is set on the part
	// of a set that began on an earlier member.
	Continues, Continued bool
}

// Restorable reports whether the set may be offered for restore.
func (s *Set) Restorable() bool { return s.State == SetComplete }

// Volume is one VOLB of a set: a store of a server.
type Volume struct {
	Device  string // `\\SERVER\Microsoft Information Store`
	Name    string // "Microsoft Information Store"
	Machine string // "SERVER"
}

// Entry is one file of a set.
type Entry struct {
	Set      int
	Volume   int    // index into Set.Volumes, -1 before any volume
	Path     string // relative to the volume, '/' separated: "priv.edb"
	Size     int64
	Modified time.Time
	FLA      uint64 // format logical address of the FILE block
	Hash     Hash   // digest of the data; zero when the tape records none
	CRC32C   uint32
	Corrupt  bool
	Offset   int64 // byte offset of the FILE block in the tape file
	// Member is, for a set read across its media family, the sequence of
	// the member the FILE block starts on when that is not the tape's
	// own; 0 on the tape itself.
	Member int
}

// fromContents lists one set; last tells that nothing follows it on a tape
// of size bytes.
func fromContents(tapeName string, s *mtf.Set, last bool, size int64) Set {
	out := Set{
		Tape:        tapeName,
		Number:      int(s.Start.Number),
		Type:        backupTypeOf(s.Start.Attributes),
		Name:        s.Start.Name,
		Description: s.Start.Description,
		Owner:       s.Start.UserName,
		Created:     s.Start.WriteDate,
		Offset:      s.Offset,
		Err:         s.Err,
		Exbackup:    s.Info != nil,
		Encrypted:   s.Start.Attributes&mtf.SetEncryption != 0 || s.Keys != nil,
		Continues:   s.Continues,
		Continued:   s.Continuation,
	}
	if s.Keys != nil {
		out.Recipients = s.Keys.Recipients()
	}
	if s.Info != nil {
		out.Restricted = s.Info.Restricted
		out.Properties = s.Info.Properties
	}
	for _, v := range s.Volumes {
		out.Volumes = append(out.Volumes, Volume{Device: v.Device, Name: v.Name, Machine: v.Machine})
	}
	out.Entries = make([]Entry, 0, len(s.Files))
	for _, e := range s.Files {
		en := Entry{
			Set: out.Number, Volume: e.Volume, Path: e.Path(), Size: e.Size,
			Modified: e.File.Modified, FLA: e.FLA, Corrupt: e.Corrupt, Offset: e.Block.Offset,
		}
		if h := e.Block.Hash; h != nil {
			en.Hash, en.CRC32C = hashOf(h), h.CRC32C
		}
		out.Entries = append(out.Entries, en)
		out.Bytes += e.Size
	}
	out.Files = len(out.Entries)
	switch {
	case s.End == nil && s.Continues:
		// Not aborted, but not restorable from this medium alone.
		out.State = SetAborted
		if out.Err == nil {
			out.Err = fmt.Errorf("tape %q, set %d goes on on the next member of its media family", tapeName, out.Number)
		}
	case s.End == nil && s.Err != nil:
		// Abort leaves whole blocks; a block cut off is a file cut short
		// (or a writer killed in the middle of a block).
		out.State = SetDamaged
		if last {
			out.EndsAt = size
			out.Err = fmt.Errorf("tape %q, set %d: the tape file ends at byte %d, inside the set: it was cut short (%w)", tapeName, out.Number, size, s.Err)
		}
	case s.End == nil:
		out.State = SetAborted
		out.Err = fmt.Errorf("tape %q, set %d: no end of set on tape: the backup did not finish", tapeName, out.Number)
	case s.End.Attributes&mtf.EndSetAborted != 0:
		out.State = SetAborted
		if out.Err == nil {
			out.Err = fmt.Errorf("tape %q, set %d: the end of set marks it aborted", tapeName, out.Number)
		}
	case s.Err != nil:
		out.State = SetDamaged
	default:
		out.State = SetComplete
	}
	return out
}
