package tape

import (
	"bytes"
	"errors"
	"fmt"

	"filippo.io/age"

	"exbackup/tape/mtf"
)

// Encrypted sets: SetOptions.Encrypt names the age recipients (the
// console's public key and any recovery keys). The set gets a random data
// key, wrapped for each recipient in an age header that the SSET carries
// (see tape/mtf); every file's data is sealed under it. Listing such a set
// needs no key; reading its data (OpenEntry, Verify) takes a KeyProvider.

// KeyProvider gives the identities that may unwrap an encrypted set's
// data key. Its error says why the console has none, in an administrator's
// words ("this console holds only the public key", "needs the pass
// phrase"): it is shown after "set N on tape T is encrypted: ".
type KeyProvider interface {
	Identities() ([]age.Identity, error)
}

// Identities is a KeyProvider holding identities already unlocked.
type Identities []age.Identity

// Identities returns the identities.
func (ids Identities) Identities() ([]age.Identity, error) {
	if len(ids) == 0 {
		return nil, ErrNoKey
	}
	return ids, nil
}

// Errors of KeyError.
var (
	// ErrNoKey: no key was given to read an encrypted set.
	ErrNoKey = errors.New("no key was given to read it")
	// ErrWrongKey: the identities given are not among the set's recipients.
	ErrWrongKey = errors.New("the console's key is not among its recipients")
)

// KeyError says why an encrypted set's data could not be read: no key, a
// console that holds only the public key, a locked key, another key. It
// unwraps to the KeyProvider's error, ErrNoKey or ErrWrongKey.
type KeyError struct {
	Tape string
	Set  int
	Err  error
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("set %d on tape %q is encrypted: %v", e.Set, e.Tape, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

// capture is an age recipient that keeps the file key it is handed (the
// set's data key) and wraps it with the recipient it stands for.
type capture struct {
	age.Recipient
	key *[]byte
}

func (c capture) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	*c.key = bytes.Clone(fileKey)
	return c.Recipient.Wrap(fileKey)
}

// newSetKey draws a set's data key and wraps it for the recipients: it
// returns the key and the EXBK stream holding the wrapped key.
func newSetKey(recipients []age.Recipient) ([]byte, mtf.Stream, error) {
	var key []byte
	rs := append([]age.Recipient{capture{recipients[0], &key}}, recipients[1:]...)
	var buf bytes.Buffer
	// age draws the file key; the empty payload that follows the header
	// is dropped.
	w, err := age.Encrypt(&buf, rs...)
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return nil, mtf.Stream{}, fmt.Errorf("wrapping the set's key: %w", err)
	}
	hdr, err := age.ExtractHeader(&buf)
	if err != nil || len(key) != mtf.DataKeySize {
		return nil, mtf.Stream{}, fmt.Errorf("wrapping the set's key: %v", err)
	}
	kh := mtf.KeyHeader{Age: hdr}
	return key, mtf.Stream{ID: mtf.StreamKeys, Data: kh.Encode()}, nil
}

// setKey unwraps the data key of the set holding entry e, whose SSET is
// found from the FILE block's address (its FLA counts FLBs from the SSET).
func (t *Tape) setKey(r *mtf.Reader, e Entry, kp KeyProvider) ([]byte, error) {
	name := t.displayName()
	b, err := r.ReadBlockAt(e.Offset - int64(e.FLA)*r.FLBSize())
	if err != nil {
		return nil, err
	}
	ss, ok := b.Desc.(*mtf.StartSet)
	if !ok || int(ss.Number) != e.Set {
		return nil, fmt.Errorf("tape %q, set %d, file %q: %w: the set's key is not where its file says", name, e.Set, e.Path, mtf.ErrBounds)
	}
	if b.Keys == nil {
		return nil, fmt.Errorf("tape %q, set %d, file %q: %w: encrypted by other software, whose keys exbackup cannot use", name, e.Set, e.Path, mtf.ErrUnsupported)
	}
	return unwrapKey(name, e.Set, b.Keys, kp)
}

func unwrapKey(tapeName string, set int, kh *mtf.KeyHeader, kp KeyProvider) ([]byte, error) {
	if kp == nil {
		return nil, &KeyError{Tape: tapeName, Set: set, Err: ErrNoKey}
	}
	ids, err := kp.Identities()
	if err != nil {
		return nil, &KeyError{Tape: tapeName, Set: set, Err: err}
	}
	key, err := age.DecryptHeader(kh.Age, ids...)
	var nomatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &nomatch):
		return nil, &KeyError{Tape: tapeName, Set: set, Err: ErrWrongKey}
	case err != nil:
		return nil, fmt.Errorf("tape %q, set %d: the set's key header is damaged: %v", tapeName, set, err)
	case len(key) != mtf.DataKeySize:
		return nil, fmt.Errorf("tape %q, set %d: the set's key header holds a key of %d bytes", tapeName, set, len(key))
	}
	return key, nil
}

// SetKey tells whether the provider's identities unwrap the data key of
// set number: a way to learn, before a restore, that the key is there. It
// returns nil for a set that is not encrypted.
func (t *Tape) SetKey(number int, kp KeyProvider) error {
	s, err := t.Set(number)
	if err != nil {
		return err
	}
	return t.checkKey(s, kp)
}

func (t *Tape) checkKey(s Set, kp KeyProvider) error {
	if !s.Encrypted {
		return nil
	}
	f, r, err := t.open()
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := r.ReadBlockAt(s.Offset)
	if err != nil {
		return err
	}
	if b.Keys == nil {
		return fmt.Errorf("tape %q, set %d: %w: the encrypted set has no key header", s.Tape, s.Number, mtf.ErrBounds)
	}
	key, err := unwrapKey(s.Tape, s.Number, b.Keys, kp)
	clear(key)
	return err
}
