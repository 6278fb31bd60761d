package catalog

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Tape is one tape: one .bkf file, as its media header describes it.
type Tape struct {
	ID          uint64 `json:",omitzero"` // catalog key
	FamilyID    uint32 `json:",omitzero"` // media family id
	Sequence    uint16 `json:",omitzero"` // tape number within the family
	Name        string `json:",omitzero"`
	Description string `json:",omitzero"`
	Created     time.Time
	Owner       string `json:",omitzero"`
	Restricted  bool   `json:",omitzero"`
	Location    string `json:",omitzero"` // absolute path of the .bkf file
	Software    string `json:",omitzero"`
	// File is the .bkf file as it was when the catalog last matched it:
	// when the file no longer is so, the tape is cataloged again.
	File FileStamp `json:",omitzero"`
}

// FileStamp tells a tape file's version without reading it.
type FileStamp struct {
	Size     int64     `json:",omitzero"`
	Modified time.Time `json:",omitzero"`
}

// Same reports whether two stamps are of the same version of a file.
func (a FileStamp) Same(b FileStamp) bool { return a.Size == b.Size && a.Modified.Equal(b.Modified) }

// IsZero reports whether nothing is known of the file.
func (a FileStamp) IsZero() bool { return a.Size == 0 && a.Modified.IsZero() }

// normalize gives t the form it is stored in, so that what PutTape returns
// equals what a read returns: times in UTC without a monotonic reading, a
// clean path.
func (t Tape) normalize() (Tape, error) {
	t.Created = t.Created.UTC()
	t.File.Modified = t.File.Modified.UTC()
	if t.Location != "" {
		if !filepath.IsAbs(t.Location) {
			return Tape{}, fmt.Errorf("tape %q: location %q is not an absolute path", t.Name, t.Location)
		}
		t.Location = filepath.Clean(t.Location)
	}
	return t, nil
}

// PutTape adds t to the catalog when t.ID is 0, and replaces the tape with
// ID t.ID otherwise. It returns the tape as stored, with its ID. Two tapes
// cannot share a location.
func (c *Catalog) PutTape(t Tape) (Tape, error) {
	t, err := t.normalize()
	if err != nil {
		return Tape{}, err
	}
	err = c.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTapes)
		if t.ID == 0 {
			if t.ID, err = b.NextSequence(); err != nil {
				return err
			}
		} else if b.Get(idKey(t.ID)) == nil {
			return fmt.Errorf("tape #%d: %w", t.ID, ErrNotFound)
		}
		return putTapeTx(tx, t)
	})
	if err != nil {
		return Tape{}, err
	}
	return t, nil
}

func putTapeTx(tx *bolt.Tx, t Tape) error {
	if t.Location != "" {
		other, err := findTape(tx, func(o Tape) bool { return o.ID != t.ID && o.Location == t.Location })
		if err != nil {
			return err
		}
		if len(other) > 0 {
			return fmt.Errorf("tape %q: %s is already cataloged as tape #%d (%q)", t.Name, t.Location, other[0].ID, other[0].Name)
		}
	}
	if err := putJSON(tx.Bucket(bucketTapes), idKey(t.ID), t); err != nil {
		return fmt.Errorf("tape #%d: %w", t.ID, err)
	}
	return nil
}

// Tapes lists every tape, oldest first.
func (c *Catalog) Tapes() ([]Tape, error) {
	var tapes []Tape
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		tapes, err = findTape(tx, func(Tape) bool { return true })
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(tapes, func(a, b Tape) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return tapes, nil
}

// Tape returns the tape with this ID.
func (c *Catalog) Tape(id uint64) (Tape, error) {
	var t Tape
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		t, err = getTape(tx, id)
		return err
	})
	return t, err
}

// TapeByName returns the tape with this name, or failing that the tape whose
// name differs only in case. Names need not be unique (NT Backup names new
// tapes after their date), so more than one match is an error that says so.
func (c *Catalog) TapeByName(name string) (Tape, error) {
	var exact, folded []Tape
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		folded, err = findTape(tx, func(t Tape) bool { return strings.EqualFold(t.Name, name) })
		return err
	})
	if err != nil {
		return Tape{}, err
	}
	for _, t := range folded {
		if t.Name == name {
			exact = append(exact, t)
		}
	}
	matches := exact
	if len(matches) == 0 {
		matches = folded
	}
	switch len(matches) {
	case 0:
		return Tape{}, fmt.Errorf("tape %q: %w", name, ErrNotFound)
	case 1:
		return matches[0], nil
	}
	files := make([]string, len(matches))
	for i, t := range matches {
		files[i] = t.Location
	}
	return Tape{}, fmt.Errorf("%d tapes are named %q (%s): name the .bkf file instead", len(matches), name, strings.Join(files, ", "))
}

// TapeByLocation returns the tape cataloged from the .bkf file at path.
func (c *Catalog) TapeByLocation(path string) (Tape, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Tape{}, fmt.Errorf("tape file %s: %w", path, err)
	}
	var found []Tape
	err = c.db.View(func(tx *bolt.Tx) error {
		found, err = findTape(tx, func(t Tape) bool { return t.Location == abs })
		return err
	})
	if err != nil {
		return Tape{}, err
	}
	if len(found) == 0 {
		return Tape{}, fmt.Errorf("tape file %s: %w", abs, ErrNotFound)
	}
	return found[0], nil
}

// DeleteTape removes a tape with its sets, their entries and index rows.
func (c *Catalog) DeleteTape(id uint64) error {
	return c.db.Update(func(tx *bolt.Tx) error {
		if _, err := getTape(tx, id); err != nil {
			return err
		}
		if err := deleteSetsTx(tx, id, 0); err != nil {
			return err
		}
		return tx.Bucket(bucketTapes).Delete(idKey(id))
	})
}

func getTape(tx *bolt.Tx, id uint64) (Tape, error) {
	k := idKey(id)
	v := tx.Bucket(bucketTapes).Get(k)
	if v == nil {
		return Tape{}, fmt.Errorf("tape #%d: %w", id, ErrNotFound)
	}
	var t Tape
	err := decodeTape(k, v, &t)
	return t, err
}

// decodeTape copies a tapes value out of bolt's memory.
func decodeTape(k, v []byte, t *Tape) error {
	id := binary.BigEndian.Uint64(k)
	if err := json.Unmarshal(v, t); err != nil {
		return fmt.Errorf("tape #%d: %w", id, err)
	}
	t.ID = id
	return nil
}

// findTape returns the tapes that match, in ID order. A catalog holds
// hundreds of tapes, not millions: a scan is cheaper than an index to keep.
func findTape(tx *bolt.Tx, match func(Tape) bool) ([]Tape, error) {
	var found []Tape
	err := tx.Bucket(bucketTapes).ForEach(func(k, v []byte) error {
		var t Tape
		if err := decodeTape(k, v, &t); err != nil {
			return err
		}
		if match(t) {
			found = append(found, t)
		}
		return nil
	})
	return found, err
}
