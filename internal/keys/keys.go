// Package keys is the console's key store: the age identity that reads its
// encrypted tapes, kept under a pass phrase, and the recipients its backups
// are encrypted for.
//
// The store is the folder keys/ of the console's home:
//
//	keys/identity.age    the X25519 identity (AGE-SECRET-KEY-1…), itself an
//	                     armored age file encrypted with the pass phrase
//	                     (scrypt); absent on a write-only console
//	keys/recipients.txt  the age1… public keys backups are encrypted for,
//	                     one a line: the console's own first, then the
//	                     recovery recipients
//
// Both are written atomically with mode 0600. A write-only console (a
// machine that makes backups but cannot read them) is set up with
// ImportPublic: it holds the recipients only. Unlock turns the pass phrase
// into the identity; UnlockFile does the same for an exported identity or
// a bare AGE-SECRET-KEY-1… recovery key. Provider hands identities to the
// tape reader, unlocking at most once.
package keys

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"filippo.io/age"
	"filippo.io/age/armor"

	"exbackup/internal/durable"
)

// File names inside the store.
const (
	Dir            = "keys"
	identityFile   = "identity.age"
	recipientsFile = "recipients.txt"
)

// DefaultWorkFactor is the scrypt work factor (2^18) protecting the
// identity: age's own default, about a second and 256 MiB of memory per
// guess, paid once per unlock (see BenchmarkUnlock).
const DefaultWorkFactor = 18

// MinPassphrase is the shortest pass phrase Init accepts.
const MinPassphrase = 8

// Errors, in an administrator's words; the tape reader shows the first two
// after "set N on tape T is encrypted: ".
var (
	ErrPublicOnly      = errors.New("this console holds only the public key")
	ErrLocked          = errors.New("needs the pass phrase")
	ErrWrongPassphrase = errors.New("wrong pass phrase for the console's key")
	ErrNoStore         = errors.New("this console has no key: run exbackup keys init")
	ErrExists          = errors.New("this console already has a key")
)

// Store is a console's key store.
type Store struct {
	dir string
}

// Open returns the store under home; it need not exist yet (see Exists).
func Open(home string) *Store { return &Store{dir: filepath.Join(home, Dir)} }

// Exists reports whether the console has a key, full or public only.
func (s *Store) Exists() bool {
	_, err := os.Stat(filepath.Join(s.dir, recipientsFile))
	return err == nil
}

// WriteOnly reports whether the console holds only public keys: it makes
// encrypted backups but cannot read them.
func (s *Store) WriteOnly() bool {
	_, err := os.Stat(filepath.Join(s.dir, identityFile))
	return s.Exists() && errors.Is(err, os.ErrNotExist)
}

// Init creates the console's key under home, protected by the pass phrase
// with DefaultWorkFactor.
func Init(home, passphrase string) (*Store, error) {
	return InitWorkFactor(home, passphrase, DefaultWorkFactor)
}

// InitWorkFactor is Init with another scrypt work factor (2^logN), for
// tests and slow machines.
func InitWorkFactor(home, passphrase string, logN int) (*Store, error) {
	s := Open(home)
	if s.Exists() {
		return nil, ErrExists
	}
	if len(passphrase) < MinPassphrase {
		return nil, fmt.Errorf("the pass phrase is too short: at least %d characters", MinPassphrase)
	}
	if logN < 10 || logN > 22 {
		return nil, fmt.Errorf("scrypt work factor %d, want 10 to 22", logN)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("creating the console's key: %w", err)
	}
	sealed, err := protect(id, passphrase, logN)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the key store: %w", err)
	}
	if err := writeSecret(filepath.Join(s.dir, identityFile), sealed); err != nil {
		return nil, fmt.Errorf("writing the console's key: %w", err)
	}
	if err := s.writeRecipients([]string{id.Recipient().String()}); err != nil {
		return nil, err
	}
	return s, nil
}

// protect encrypts the identity's text with the pass phrase, armored.
func protect(id *age.X25519Identity, passphrase string, logN int) ([]byte, error) {
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, fmt.Errorf("protecting the console's key: %w", err)
	}
	r.SetWorkFactor(logN)
	var buf bytes.Buffer
	a := armor.NewWriter(&buf)
	w, err := age.Encrypt(a, r)
	if err == nil {
		_, err = io.WriteString(w, "# exbackup console key\n"+id.String()+"\n")
	}
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = a.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("protecting the console's key: %w", err)
	}
	return buf.Bytes(), nil
}

// writeSecret replaces path atomically with mode 0600. A temporary file
// left by a crash would keep its mode through durable.WriteFile's
// truncation: it goes first.
func writeSecret(path string, data []byte) error {
	if err := os.Remove(path + ".tmp"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return durable.WriteFile(path, data, 0o600)
}

// ImportPublic sets up a write-only console under home: backups are
// encrypted for recipient (the age1… key shown by a reading console's
// Show), and this console can never read them.
func ImportPublic(home, recipient string) (*Store, error) {
	s := Open(home)
	if s.Exists() {
		return nil, ErrExists
	}
	r, err := parseRecipient(recipient)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the key store: %w", err)
	}
	return s, s.writeRecipients([]string{r})
}

func parseRecipient(s string) (string, error) {
	s = strings.TrimSpace(s)
	r, err := age.ParseX25519Recipient(s)
	if err != nil {
		return "", fmt.Errorf("%q is not an age public key (age1…)", s)
	}
	return r.String(), nil
}

// AddRecipient adds a recovery recipient: later backups are encrypted for
// it too. Adding one already there does nothing.
func (s *Store) AddRecipient(recipient string) error {
	r, err := parseRecipient(recipient)
	if err != nil {
		return err
	}
	have, err := s.RecipientKeys()
	if err != nil {
		return err
	}
	for _, h := range have {
		if h == r {
			return nil
		}
	}
	return s.writeRecipients(append(have, r))
}

func (s *Store) writeRecipients(rs []string) error {
	var b strings.Builder
	b.WriteString("# exbackup: backups are encrypted for these keys; the first is this console's\n")
	for _, r := range rs {
		b.WriteString(r + "\n")
	}
	if err := writeSecret(filepath.Join(s.dir, recipientsFile), []byte(b.String())); err != nil {
		return fmt.Errorf("writing the console's recipients: %w", err)
	}
	return nil
}

// RecipientKeys returns the age1… keys backups are encrypted for, the
// console's own first.
func (s *Store) RecipientKeys() ([]string, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, recipientsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoStore
	}
	if err != nil {
		return nil, fmt.Errorf("reading the console's recipients: %w", err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseRecipient(line)
		if err != nil {
			return nil, fmt.Errorf("%s, line %d: %w", filepath.Join(s.dir, recipientsFile), n, err)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s lists no key", filepath.Join(s.dir, recipientsFile))
	}
	return out, nil
}

// Recipients returns the recipients backups are encrypted for, for
// tape.SetOptions.Encrypt.
func (s *Store) Recipients() ([]age.Recipient, error) {
	keys, err := s.RecipientKeys()
	if err != nil {
		return nil, err
	}
	out := make([]age.Recipient, len(keys))
	for i, k := range keys {
		r, err := age.ParseX25519Recipient(k)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// Show returns the console's public key (age1…), to give to write-only
// consoles or to note down.
func (s *Store) Show() (string, error) {
	keys, err := s.RecipientKeys()
	if err != nil {
		return "", err
	}
	return keys[0], nil
}

// Export writes the protected identity (an armored age file, still under
// the pass phrase) for safekeeping; UnlockFile reads it back.
func (s *Store) Export(w io.Writer) error {
	data, err := s.sealed()
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

func (s *Store) sealed() ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, identityFile))
	if errors.Is(err, os.ErrNotExist) {
		if s.Exists() {
			return nil, ErrPublicOnly
		}
		return nil, ErrNoStore
	}
	if err != nil {
		return nil, fmt.Errorf("reading the console's key: %w", err)
	}
	return data, nil
}

// Unlock returns the console's identity, decrypted with the pass phrase.
func (s *Store) Unlock(passphrase string) (age.Identity, error) {
	data, err := s.sealed()
	if err != nil {
		return nil, err
	}
	return unlockSealed(data, passphrase)
}

// maxKeyFile bounds what UnlockFile reads.
const maxKeyFile = 64 << 10

// UnlockFile reads an identity kept apart from the store: an exported
// identity (decrypted with the pass phrase), or a file of bare
// AGE-SECRET-KEY-1… lines, a recovery key, for which the pass phrase is
// not used.
func UnlockFile(r io.Reader, passphrase string) (age.Identity, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading the key file: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, errors.New("the key file is too large to be a key")
	}
	if bytes.Contains(data, []byte("AGE-SECRET-KEY-1")) {
		ids, err := age.ParseIdentities(bytes.NewReader(data))
		if err != nil || len(ids) != 1 {
			return nil, errors.New("the key file holds no single AGE-SECRET-KEY-1… identity")
		}
		return ids[0], nil
	}
	return unlockSealed(data, passphrase)
}

func unlockSealed(data []byte, passphrase string) (age.Identity, error) {
	if passphrase == "" {
		return nil, ErrLocked
	}
	sid, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, err
	}
	var src io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte(armor.Header)) {
		src = armor.NewReader(bytes.NewReader(data))
	}
	pr, err := age.Decrypt(src, sid)
	var nomatch *age.NoIdentityMatchError
	if errors.As(err, &nomatch) {
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("the console's key file is damaged: %v", err)
	}
	text, err := io.ReadAll(io.LimitReader(pr, maxKeyFile))
	if err != nil {
		return nil, fmt.Errorf("the console's key file is damaged: %v", err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(text))
	if err != nil || len(ids) != 1 {
		return nil, errors.New("the console's key file holds no single identity")
	}
	return ids[0], nil
}

// Provider hands the console's identity to the tape reader
// (tape.KeyProvider), unlocking the store the first time it is asked with
// the pass phrase that passphrase returns (a prompt, a --passphrase-file).
// A write-only console answers ErrPublicOnly, a console with no key
// ErrNoStore; passphrase may be nil, and then a locked key answers
// ErrLocked. Extra identities (recovery keys from UnlockFile) are offered
// too, and are enough without the store.
type Provider struct {
	Store      *Store
	Passphrase func() (string, error)
	Extra      []age.Identity

	mu  sync.Mutex
	ids []age.Identity
}

// Identities returns the identities, unlocking once.
func (p *Provider) Identities() ([]age.Identity, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids != nil {
		return p.ids, nil
	}
	id, err := p.unlock()
	if err != nil {
		if len(p.Extra) > 0 {
			p.ids = p.Extra
			return p.ids, nil
		}
		return nil, err
	}
	p.ids = append([]age.Identity{id}, p.Extra...)
	return p.ids, nil
}

func (p *Provider) unlock() (age.Identity, error) {
	if p.Store == nil || !p.Store.Exists() {
		return nil, ErrNoStore
	}
	if p.Store.WriteOnly() {
		return nil, ErrPublicOnly
	}
	if p.Passphrase == nil {
		return nil, ErrLocked
	}
	pass, err := p.Passphrase()
	if err != nil {
		return nil, err
	}
	return p.Store.Unlock(pass)
}
