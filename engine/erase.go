package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Erase erases a tape: its file and its catalog records.
func (e *Engine) Erase(ctx context.Context, name string) error {
	ct, cerr := e.cat.TapeByName(name)
	if cerr == nil && ct.Restricted && ct.Owner != e.owner && !e.isAdmin() {
		return fmt.Errorf("tape %q is restricted to its owner %s or an administrator", name, ct.Owner)
	}
	if err := e.claim(name); err != nil {
		return err
	}
	defer e.release(name)
	unlock, err := e.lib.Lock(name, "erase")
	if err != nil {
		return err
	}
	defer unlock()
	err = e.lib.Erase(name)
	if err != nil && cerr == nil {
		// The library may not hold it under that name: the catalog knows
		// its file.
		if rerr := os.Remove(ct.Location); rerr == nil || errors.Is(rerr, os.ErrNotExist) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("erasing tape %q: %w", name, err)
	}
	if cerr == nil {
		if err := e.cat.DeleteTape(ct.ID); err != nil {
			return fmt.Errorf("catalog: %w", err)
		}
	}
	// Staged copies of its store sets are stale now.
	e.itemsMu.Lock()
	e.pruneItems("", keepStaged)
	e.itemsMu.Unlock()
	if st := e.Settings(); st.LastTape == name {
		st.LastTape = ""
		if err := e.SaveSettings(st); err != nil {
			return fmt.Errorf("tape %q was erased, but the settings still name it as the last tape: %w", name, err)
		}
	}
	return nil
}
