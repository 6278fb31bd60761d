package catalog

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SetState tells whether a set can be restored.
type SetState string

const (
	// StateComplete: the set's end is on tape; it may be restored.
	StateComplete SetState = "complete"
	// StateAborted: the set never got its end on tape (crash, full disk,
	// cancel). It is never restored.
	StateAborted SetState = "aborted"
	// StateDamaged: the set was finished but part of it fails its checks.
	StateDamaged SetState = "damaged"
)

// StateText is the set's state as the console shows it: "complete",
// "aborted (never finished)", "damaged (ends at byte 123456)",
// `damaged: file "priv.edb": …`; a verified complete set adds when.
func (s Set) StateText() string {
	switch s.State {
	case StateAborted:
		if strings.Contains(s.Damage, "needs member") {
			// Finished on a member of its family the catalog lacks.
			return "incomplete: " + s.Damage
		}
		return "aborted (never finished)"
	case StateDamaged:
		switch {
		case s.Damage == "":
			return "damaged"
		case strings.HasPrefix(s.Damage, "ends at byte"):
			return "damaged (" + s.Damage + ")"
		}
		return "damaged: " + s.Damage
	}
	if !s.Verified.IsZero() {
		return "complete, verified " + s.Verified.Local().Format("1/2/2006 3:04 PM")
	}
	return string(s.State)
}

// Backup types, as NT Backup named them.
const (
	TypeNormal       = "normal"
	TypeCopy         = "copy"
	TypeIncremental  = "incremental"
	TypeDifferential = "differential"
)

// Set is one backup set on a tape. exbackup writes one set per store.
type Set struct {
	ID          uint64 `json:",omitzero"` // catalog key
	TapeID      uint64 `json:",omitzero"`
	Number      int    `json:",omitzero"` // data set number on the tape, from 1
	Type        string `json:",omitzero"` // Type*; "" for a foreign set of unknown type
	Name        string `json:",omitzero"`
	Description string `json:",omitzero"`
	Created     time.Time
	Owner       string `json:",omitzero"`
	Restricted  bool   `json:",omitzero"`

	Organization string   `json:",omitzero"`
	Site         string   `json:",omitzero"`
	Server       string   `json:",omitzero"`
	Stores       []string `json:",omitzero"` // "IS", "DS"; for a foreign file set, its volume names

	BaseLSN uint64 `json:",omitzero"`
	LowGen  uint32 `json:",omitzero"` // transaction log generations in the set
	HighGen uint32 `json:",omitzero"`
	HighLSN uint64 `json:",omitzero"`

	Bytes int64    `json:",omitzero"`
	Files int      `json:",omitzero"`
	State SetState `json:",omitzero"`
	// Damage says, for a damaged set, what is wrong, in words for an
	// administrator: `file "priv.edb": checksum mismatch …` when a verify
	// failed, "ends at byte 123456" for a tape file cut inside the set.
	Damage string `json:",omitzero"`
	// Verified is when a verify last passed; zero until one has.
	Verified time.Time `json:",omitzero"`
	// Foreign sets were not written by exbackup: they carry no restore
	// environment, so exbackup lists them but never restores them.
	Foreign bool `json:",omitzero"`
	// Encrypted sets keep their files' data sealed for the console's
	// recipients: reading it needs the console's key or a recovery key.
	Encrypted bool `json:",omitzero"`

	// Member is the member of the tape's media family the set starts on
	// (its sequence, 1 for the first; schema 3): the tape's own sequence,
	// unless Continued. LastMember is the member it ends on when it goes
	// on past the end of its tape (0 when it does not).
	Member     uint16 `json:",omitzero"`
	LastMember uint16 `json:",omitzero"`
	// Continued is set on the part of a set that began on an earlier
	// member of the family: this tape holds its rest.
	Continued bool `json:",omitzero"`
}

// Spans reports whether the set lies on more than one member of its media
// family.
func (s Set) Spans() bool { return s.Continued || s.LastMember > s.Member }

// MemberText says where a set that spans members lies: "on members 1–2",
// "continued from member 1"; "" for a set on one tape.
func (s Set) MemberText() string {
	switch {
	case s.Continued:
		return fmt.Sprintf("continued from member %d", s.Member)
	case s.LastMember > s.Member:
		return fmt.Sprintf("on members %d\u2013%d", s.Member, s.LastMember)
	}
	return ""
}

// Entry is one file of a set.
type Entry struct {
	Volume string `json:",omitzero"` // `\\EXCH01\Microsoft Information Store`
	Path   string `json:",omitzero"` // relative to the volume
	Size   int64  `json:",omitzero"`
	FLA    uint64 `json:",omitzero"` // format logical address of the file's block
	Hash   string `json:",omitzero"` // as recorded on tape, e.g. "sha256:…"
	// Member is the member of the media family the file's block starts
	// on, when that is not the one the set starts on (Set.Member); 0
	// otherwise.
	Member uint16 `json:",omitzero"`
}

// SetWithEntries is a set with its files, as read from a tape.
type SetWithEntries struct {
	Set     Set
	Entries []Entry
}

// normalize gives s the form it is stored in, so that what AddSet returns
// equals what a read returns.
func (s Set) normalize() Set {
	s.Created = s.Created.UTC()
	s.Verified = s.Verified.UTC()
	return s
}

// label names a set in errors.
func (s Set) label() string {
	return fmt.Sprintf("set #%d on tape #%d", s.Number, s.TapeID)
}

func (s Set) validate() error {
	if s.Number < 1 {
		return fmt.Errorf("%s: set numbers start at 1", s.label())
	}
	if s.LastMember != 0 && s.LastMember < s.Member {
		return fmt.Errorf("%s: ends on member %d of its family, before member %d it starts on", s.label(), s.LastMember, s.Member)
	}
	switch s.State {
	case StateComplete, StateAborted, StateDamaged:
	default:
		return fmt.Errorf("%s: unknown state %q", s.label(), s.State)
	}
	if s.Foreign {
		// Whatever another program wrote is listed as it is.
		return nil
	}
	switch s.Type {
	case TypeNormal, TypeCopy, TypeIncremental, TypeDifferential:
	default:
		return fmt.Errorf("%s: unknown backup type %q", s.label(), s.Type)
	}
	if s.Server == "" || strings.ContainsRune(s.Server, 0) {
		return fmt.Errorf("%s: bad server name %q", s.label(), s.Server)
	}
	if len(s.Stores) == 0 {
		return fmt.Errorf("%s: no store", s.label())
	}
	for _, st := range s.Stores {
		if st == "" || strings.ContainsRune(st, 0) {
			return fmt.Errorf("%s: bad store name %q", s.label(), st)
		}
	}
	return nil
}

// AddSet records a set of tape s.TapeID with its entries, in one
// transaction, and returns it with its ID. s.ID must be 0.
//
// A tape is written front to back: writing set N overwrote whatever the tape
// held from set N on (an aborted set is overwritten by the next append), so
// AddSet drops the tape's sets numbered N or more.
func (c *Catalog) AddSet(s Set, entries []Entry) (Set, error) {
	if s.ID != 0 {
		return Set{}, fmt.Errorf("%s: already cataloged as set id %d", s.label(), s.ID)
	}
	s = s.normalize()
	if err := s.validate(); err != nil {
		return Set{}, err
	}
	err := c.db.Update(func(tx *bolt.Tx) error {
		if _, err := getTape(tx, s.TapeID); err != nil {
			return fmt.Errorf("%s: %w", s.label(), err)
		}
		if err := deleteSetsTx(tx, s.TapeID, s.Number); err != nil {
			return err
		}
		return addSetTx(tx, &s, entries)
	})
	if err != nil {
		return Set{}, err
	}
	return s, nil
}

// addSetTx writes a new set, its index rows and its entries, and sets s.ID.
func addSetTx(tx *bolt.Tx, s *Set, entries []Entry) error {
	if s.Member == 0 {
		t, err := getTape(tx, s.TapeID)
		if err != nil {
			return fmt.Errorf("%s: %w", s.label(), err)
		}
		s.Member = memberOf(t)
	}
	sets := tx.Bucket(bucketSets)
	id, err := sets.NextSequence()
	if err != nil {
		return err
	}
	s.ID = id
	if err := putJSON(sets, idKey(id), s); err != nil {
		return fmt.Errorf("%s: %w", s.label(), err)
	}
	if err := tx.Bucket(bucketSetsByTape).Put(tapeSetKey(s.TapeID, s.Number, id), nil); err != nil {
		return err
	}
	if err := putStoreRows(tx.Bucket(bucketSetsByStore), *s); err != nil {
		return err
	}
	eb, err := tx.Bucket(bucketEntries).CreateBucket(idKey(id))
	if err != nil {
		return fmt.Errorf("%s: entries: %w", s.label(), err)
	}
	// The entries go in once, in key order, and are never added to: full
	// pages, not bbolt's half-full ones made for keys inserted anywhere,
	// halve what a large set writes.
	eb.FillPercent = 1
	var slab entrySlab
	var scratch []byte
	for i, e := range entries {
		if e.Path == "" {
			return fmt.Errorf("%s: entry %d has no path", s.label(), i+1)
		}
		n, err := eb.NextSequence()
		if err != nil {
			return err
		}
		scratch = binary.BigEndian.AppendUint64(scratch[:0], n)
		key := slab.take(scratch)
		scratch = appendEntryJSON(scratch[:0], e)
		if err := eb.Put(key, slab.take(scratch)); err != nil {
			return fmt.Errorf("%s: %s: %w", s.label(), e.Path, err)
		}
	}
	return nil
}

// UpdateSet rewrites a set's record (after a verify, say). A set never moves
// to another tape or number; its entries stay as they are.
func (c *Catalog) UpdateSet(s Set) error {
	s = s.normalize()
	if err := s.validate(); err != nil {
		return err
	}
	return c.db.Update(func(tx *bolt.Tx) error {
		old, err := getSet(tx, s.ID)
		if err != nil {
			return err
		}
		if old.TapeID != s.TapeID || old.Number != s.Number {
			return fmt.Errorf("set id %d is %s: it cannot become %s", s.ID, old.label(), s.label())
		}
		idx := tx.Bucket(bucketSetsByStore)
		if err := deleteStoreRows(idx, old); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bucketSets), idKey(s.ID), s); err != nil {
			return fmt.Errorf("%s: %w", s.label(), err)
		}
		return putStoreRows(idx, s)
	})
}

// Sets lists the sets of a tape by set number.
func (c *Catalog) Sets(tapeID uint64) ([]Set, error) {
	var sets []Set
	err := c.db.View(func(tx *bolt.Tx) error {
		if _, err := getTape(tx, tapeID); err != nil {
			return err
		}
		var err error
		sets, err = tapeSets(tx, tapeID, 0)
		return err
	})
	return sets, err
}

// AllSets lists every set, by tape ID and set number.
func (c *Catalog) AllSets() ([]Set, error) {
	var sets []Set
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSets).ForEach(func(k, v []byte) error {
			sets = append(sets, Set{})
			return decodeSet(k, v, &sets[len(sets)-1])
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(sets, compareSets)
	return sets, nil
}

// Set returns the set with this ID.
func (c *Catalog) Set(id uint64) (Set, error) {
	var s Set
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		s, err = getSet(tx, id)
		return err
	})
	return s, err
}

// Entries lists a set's files in the order of the tape.
func (c *Catalog) Entries(setID uint64) ([]Entry, error) {
	var entries []Entry
	err := c.db.View(func(tx *bolt.Tx) error {
		s, err := getSet(tx, setID)
		if err != nil {
			return err
		}
		eb := tx.Bucket(bucketEntries).Bucket(idKey(setID))
		if eb == nil {
			return fmt.Errorf("%s: entries: %w", s.label(), ErrNotFound)
		}
		return eb.ForEach(func(k, v []byte) error {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("%s: entry %d: %w", s.label(), binary.BigEndian.Uint64(k), err)
			}
			entries = append(entries, e)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

func compareSets(a, b Set) int {
	return cmp.Or(cmp.Compare(a.TapeID, b.TapeID), cmp.Compare(a.Number, b.Number), cmp.Compare(a.ID, b.ID))
}

func getSet(tx *bolt.Tx, id uint64) (Set, error) {
	k := idKey(id)
	v := tx.Bucket(bucketSets).Get(k)
	if v == nil {
		return Set{}, fmt.Errorf("set id %d: %w", id, ErrNotFound)
	}
	var s Set
	err := decodeSet(k, v, &s)
	return s, err
}

// decodeSet copies a sets value out of bolt's memory.
func decodeSet(k, v []byte, s *Set) error {
	id := binary.BigEndian.Uint64(k)
	if err := json.Unmarshal(v, s); err != nil {
		return fmt.Errorf("set id %d: %w", id, err)
	}
	s.ID = id
	return nil
}

// tapeSets returns a tape's sets numbered from on, by number.
func tapeSets(tx *bolt.Tx, tapeID uint64, from int) ([]Set, error) {
	var sets []Set
	prefix := idKey(tapeID)
	cur := tx.Bucket(bucketSetsByTape).Cursor()
	for k, _ := cur.Seek(tapeSetKey(tapeID, max(from, 0), 0)); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		s, err := getSet(tx, binary.BigEndian.Uint64(k[16:]))
		if err != nil {
			return nil, fmt.Errorf("tape #%d: %w", tapeID, err)
		}
		sets = append(sets, s)
	}
	return sets, nil
}

// deleteSetsTx removes the sets of a tape numbered from on, with their
// entries and index rows.
func deleteSetsTx(tx *bolt.Tx, tapeID uint64, from int) error {
	// Collect first: deleting under a bolt cursor skips keys.
	sets, err := tapeSets(tx, tapeID, from)
	if err != nil {
		return err
	}
	for _, s := range sets {
		if err := tx.Bucket(bucketSets).Delete(idKey(s.ID)); err != nil {
			return err
		}
		err := tx.Bucket(bucketEntries).DeleteBucket(idKey(s.ID))
		if err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return fmt.Errorf("%s: entries: %w", s.label(), err)
		}
		if err := tx.Bucket(bucketSetsByTape).Delete(tapeSetKey(tapeID, s.Number, s.ID)); err != nil {
			return err
		}
		if err := deleteStoreRows(tx.Bucket(bucketSetsByStore), s); err != nil {
			return err
		}
	}
	return nil
}

// putStoreRows indexes a set in sets-by-store. Foreign sets are not: exbackup
// cannot restore them, and their volume names may hold any byte.
func putStoreRows(idx *bolt.Bucket, s Set) error {
	if s.Foreign {
		return nil
	}
	for _, store := range s.Stores {
		if err := idx.Put(storeKey(s.Server, store, s.Created, s.ID), nil); err != nil {
			return fmt.Errorf("%s: index %s %s: %w", s.label(), s.Server, store, err)
		}
	}
	return nil
}

func deleteStoreRows(idx *bolt.Bucket, s Set) error {
	if s.Foreign {
		return nil
	}
	for _, store := range s.Stores {
		if err := idx.Delete(storeKey(s.Server, store, s.Created, s.ID)); err != nil {
			return err
		}
	}
	return nil
}

// memberOf is the member of its family a tape is: its sequence, 1 for a
// tape whose header says 0.
func memberOf(t Tape) uint16 { return max(t.Sequence, 1) }
