package engine

import (
	"errors"
	"fmt"

	"filippo.io/age"

	"exbackup/internal/keys"
	"exbackup/tape"
)

// Encryption: the console's key store lives in its home (internal/keys).
// A backup with Encrypt seals every set for the store's recipients; a
// restore or verify of an encrypted set takes a tape.KeyProvider (a
// keys.Provider asking for the pass phrase, or an exported identity or
// recovery key), checked before anything on a server is touched.

// Keys returns the console's key store.
func (e *Engine) Keys() *keys.Store { return keys.Open(e.home) }

// EncryptUnavailable says why a backup cannot be encrypted on this
// console, or "" when it can.
func (e *Engine) EncryptUnavailable() string {
	if !e.Keys().Exists() {
		return "this console has no key to encrypt for"
	}
	return ""
}

// recipients are what an encrypted backup seals its sets for.
func (e *Engine) recipients() ([]age.Recipient, error) {
	rs, err := e.Keys().Recipients()
	if errors.Is(err, keys.ErrNoStore) {
		return nil, errors.New("cannot encrypt the backup: this console has no key (run exbackup keys init, or exbackup keys import-public age1… on a write-only console)")
	}
	if err != nil {
		return nil, fmt.Errorf("cannot encrypt the backup: %w", err)
	}
	return rs, nil
}

// checkKeys refuses a restore whose encrypted sets the key cannot open,
// before any service is stopped, and hands the key to each set's reads.
func checkKeys(sets []*plannedSet, kp tape.KeyProvider) error {
	for _, ps := range sets {
		ps.keys = kp
		if !ps.set.Encrypted {
			continue
		}
		if err := ps.tape.SetKey(ps.Set, kp); err != nil {
			return fmt.Errorf("%w; nothing on %s was touched", err, ps.dest)
		}
	}
	return nil
}

// IsKeyError reports whether err is an encrypted set's key missing, locked
// or wrong: a pass phrase prompt may help.
func IsKeyError(err error) bool {
	var ke *tape.KeyError
	return errors.As(err, &ke)
}
