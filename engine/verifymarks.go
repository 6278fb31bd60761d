package engine

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"exbackup/catalog"
	"exbackup/tape"
	"exbackup/tape/mtf"
)

// A verify's outcome is not on the tape, and the catalog is only a cache
// that may be rebuilt: each outcome is also appended to verify.jsonl in the
// home folder, one JSON line per set verified, and cataloging a tape
// applies the latest line for each of its sets. Writing it on the tape
// instead would rewrite a finished tape after the fact; verifying again at
// each rebuild would read every byte of every tape. A line names the set by
// its tape file, media family and sequence, set number and creation time,
// so that a copy of the tape, or a set written later over an aborted one
// with the same number, does not take its mark.
const verifyMarksFile = "verify.jsonl"

type verifyMark struct {
	Location string
	FamilyID uint32
	Sequence uint16
	Set      int
	Created  time.Time
	When     time.Time
	Damage   string `json:",omitzero"` // empty when the verify passed
}

func (m verifyMark) key() string {
	return fmt.Sprintf("%s\x00%d\x00%d\x00%d\x00%d", m.Location, m.FamilyID, m.Sequence, m.Set, m.Created.Unix())
}

// recordVerify records a verify's outcome in the catalog and in the
// journal. ct is the catalog's tape; when the caller found none (the tape
// was opened through the library), it is looked up by its file. A verify
// that failed marks the set damaged with what failed.
func (e *Engine) recordVerify(t Tape, ct catalog.Tape, number int, rep tape.VerifyReport, verr error) error {
	if ct.ID == 0 {
		var err error
		if ct, err = e.cat.TapeByLocation(t.Path()); err != nil {
			return fmt.Errorf("tape %q is not in the catalog: catalog it to keep the verify's result", t.Info().Name)
		}
	}
	sets, err := e.cat.Sets(ct.ID)
	if err != nil {
		return err
	}
	for _, s := range sets {
		if s.Number != number {
			continue
		}
		m := verifyMark{Location: ct.Location, FamilyID: ct.FamilyID, Sequence: ct.Sequence, Set: number,
			Created: s.Created, When: time.Now().UTC()}
		if verr != nil {
			m.Damage = verifyDamage(rep, verr)
			if ts, err := t.Set(number); err == nil && setDamage(ts) != "" {
				m.Damage = setDamage(ts) // the tape itself lists it damaged: its words
			}
			s.State, s.Damage, s.Verified = catalog.StateDamaged, m.Damage, time.Time{}
		} else {
			// The tape lists the set sound and every byte read back: a
			// damage an earlier verify found is gone (the file was put
			// back from a good copy, say).
			s.State, s.Damage, s.Verified = catalog.StateComplete, "", m.When
		}
		if err := e.appendVerifyMark(m); err != nil {
			return err
		}
		return e.cat.UpdateSet(s)
	}
	return fmt.Errorf("tape %q has no set %d in the catalog", ct.Name, number)
}

// markSet applies a recorded verify outcome to a set as the tape now lists
// it. A set the tape itself lists as damaged or aborted stays as the tape
// says: the tape's word is the newer.
func markSet(s catalog.Set, m verifyMark) catalog.Set {
	switch {
	case s.State != catalog.StateComplete:
	case m.Damage != "":
		s.State, s.Damage, s.Verified = catalog.StateDamaged, m.Damage, time.Time{}
	default:
		s.Verified = m.When
	}
	return s
}

// verifyDamage says in a few words what failed: the first file, and why.
func verifyDamage(rep tape.VerifyReport, err error) string {
	if len(rep.Failed) > 0 && rep.Failed[0] != nil {
		err = rep.Failed[0]
	}
	var fe *mtf.FormatError
	if errors.As(err, &fe) && fe.File != "" {
		return fmt.Sprintf("file %q: %v", fe.File, fe.Err)
	}
	return err.Error()
}

func (e *Engine) appendVerifyMark(m verifyMark) error {
	line, err := json.Marshal(m)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(e.home, verifyMarksFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("recording the verify: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("recording the verify: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("recording the verify: %w", err)
	}
	return f.Close()
}

// verifyMarks reads the journal, the latest line of each set winning. A
// line a crash cut short is skipped.
func (e *Engine) verifyMarks() (map[string]verifyMark, error) {
	f, err := os.Open(filepath.Join(e.home, verifyMarksFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	marks := map[string]verifyMark{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m verifyMark
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			marks[m.key()] = m
		}
	}
	return marks, sc.Err()
}

// applyVerifyMarks gives a freshly cataloged tape's sets their recorded
// verify outcomes.
func (e *Engine) applyVerifyMarks(ct catalog.Tape) error {
	marks, err := e.verifyMarks()
	if err != nil || len(marks) == 0 {
		return err
	}
	sets, err := e.cat.Sets(ct.ID)
	if err != nil {
		return err
	}
	for _, s := range sets {
		probe := verifyMark{Location: ct.Location, FamilyID: ct.FamilyID, Sequence: ct.Sequence, Set: s.Number, Created: s.Created}
		if m, ok := marks[probe.key()]; ok {
			if err := e.cat.UpdateSet(markSet(s, m)); err != nil {
				return err
			}
		}
	}
	return nil
}

// setDamage is the catalog's words for what the tape found wrong with a set.
func setDamage(s tape.Set) string {
	switch {
	case s.State != tape.SetDamaged:
		return ""
	case s.EndsAt > 0:
		return fmt.Sprintf("ends at byte %d", s.EndsAt)
	case s.Err != nil:
		return s.Err.Error()
	}
	return ""
}

// recordAborted brings the catalog in line with a tape that lists a set as
// aborted where the catalog had it otherwise (a tape cut after a whole
// block): a set is never left "complete" when its tape says it is not.
func (e *Engine) recordAborted(t Tape, ct catalog.Tape, ts tape.Set) {
	if ct.ID == 0 {
		var err error
		if ct, err = e.cat.TapeByLocation(t.Path()); err != nil {
			return
		}
	}
	sets, err := e.cat.Sets(ct.ID)
	if err != nil {
		return
	}
	for _, s := range sets {
		if s.Number == ts.Number && s.State != catalog.StateAborted {
			s.State, s.Damage, s.Verified = catalog.StateAborted, "", time.Time{}
			e.cat.UpdateSet(s)
		}
	}
}
