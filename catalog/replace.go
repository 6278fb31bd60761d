package catalog

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ReplaceTape rebuilds a tape's records from what the tape holds, in one
// transaction: the tape's old sets, entries and index rows go, t and sets are
// written, and the tape is returned with its ID. The tape is t.ID when set;
// otherwise the tape cataloged from t.Location, or failing that the one with
// t's media family and sequence whose file is gone from its location (a .bkf
// file that was moved); otherwise a new tape. Set IDs are new; the sets' TapeID is the tape's.
func (c *Catalog) ReplaceTape(t Tape, sets []SetWithEntries) (Tape, error) {
	t, err := t.normalize()
	if err != nil {
		return Tape{}, err
	}
	seen := make(map[int]bool, len(sets))
	for i := range sets {
		s := &sets[i].Set
		if seen[s.Number] {
			return Tape{}, fmt.Errorf("tape %q: set #%d is there twice", t.Name, s.Number)
		}
		seen[s.Number] = true
		if err := s.normalize().validate(); err != nil {
			return Tape{}, fmt.Errorf("tape %q: %w", t.Name, err)
		}
	}
	err = c.db.Update(func(tx *bolt.Tx) error {
		if err := matchTape(tx, &t); err != nil {
			return err
		}
		if err := deleteSetsTx(tx, t.ID, 0); err != nil {
			return err
		}
		if err := putTapeTx(tx, t); err != nil {
			return err
		}
		for _, sw := range sets {
			s := sw.Set.normalize()
			s.ID, s.TapeID = 0, t.ID
			if err := addSetTx(tx, &s, sw.Entries); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Tape{}, err
	}
	return t, nil
}

// matchTape gives t the ID of the tape it replaces, or a new one.
func matchTape(tx *bolt.Tx, t *Tape) error {
	if t.ID != 0 {
		_, err := getTape(tx, t.ID)
		return err
	}
	var found []Tape
	var err error
	if t.Location != "" {
		found, err = findTape(tx, func(o Tape) bool { return o.Location == t.Location })
	}
	if err == nil && len(found) == 0 && t.FamilyID != 0 {
		// A family spans several tapes: the sequence tells them apart. A
		// tape whose file is still where it was is not the one that moved:
		// two files of one family (a copy, good or damaged) are two tapes.
		found, err = findTape(tx, func(o Tape) bool {
			return o.FamilyID == t.FamilyID && o.Sequence == t.Sequence && !fileThere(o.Location)
		})
	}
	if err != nil {
		return err
	}
	if len(found) > 0 {
		t.ID = found[0].ID
		return nil
	}
	t.ID, err = tx.Bucket(bucketTapes).NextSequence()
	return err
}

// EqualRecords reports whether two lists of sets hold the same records, as
// cataloging a tape must give what its backup wrote. It ignores what only
// the catalog knows: set IDs, tape IDs, and Verified (a verify run is not on
// tape). Times are compared as instants, and a nil list equals an empty one.
func EqualRecords(a, b []SetWithEntries) bool {
	return slices.EqualFunc(a, b, func(x, y SetWithEntries) bool {
		return equalSets(x.Set, y.Set) && slices.Equal(x.Entries, y.Entries)
	})
}

func equalSets(x, y Set) bool {
	if !x.Created.Equal(y.Created) || !slices.Equal(x.Stores, y.Stores) {
		return false
	}
	for _, s := range []*Set{&x, &y} {
		s.ID, s.TapeID, s.Verified = 0, 0, time.Time{}
		s.Created, s.Stores = time.Time{}, nil
	}
	return reflect.DeepEqual(x, y)
}

// fileThere reports whether a tape's recorded file is still at its place.
// Only a file known to be gone frees its record for a moved tape: an error
// other than "not there" (a folder without access) keeps it.
func fileThere(location string) bool {
	if location == "" {
		return false
	}
	_, err := os.Stat(location)
	return !errors.Is(err, os.ErrNotExist)
}
