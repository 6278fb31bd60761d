package keys

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// testWork keeps scrypt cheap in tests; BenchmarkUnlock measures the
// default.
const testWork = 10

const pass = "correct horse battery staple"

func initStore(t *testing.T) (string, *Store) {
	t.Helper()
	home := t.TempDir()
	s, err := InitWorkFactor(home, pass, testWork)
	if err != nil {
		t.Fatal(err)
	}
	return home, s
}

func TestInitShowUnlock(t *testing.T) {
	home, s := initStore(t)
	pub, err := s.Show()
	if err != nil || !strings.HasPrefix(pub, "age1") {
		t.Fatalf("Show = %q, %v", pub, err)
	}
	if s.WriteOnly() || !s.Exists() {
		t.Error("a full console reads as write-only")
	}
	for _, f := range []string{identityFile, recipientsFile} {
		st, err := os.Stat(filepath.Join(home, Dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, st.Mode(), err)
		}
	}
	// The identity is not on disk in the clear.
	raw, _ := os.ReadFile(filepath.Join(home, Dir, identityFile))
	if bytes.Contains(raw, []byte("AGE-SECRET-KEY")) || !bytes.Contains(raw, []byte("BEGIN AGE ENCRYPTED FILE")) {
		t.Errorf("identity file:\n%s", raw)
	}
	id, err := Open(home).Unlock(pass)
	if err != nil {
		t.Fatal(err)
	}
	if x, ok := id.(*age.X25519Identity); !ok || x.Recipient().String() != pub {
		t.Errorf("unlocked %T, not the key Show gives", id)
	}
	if _, err := s.Unlock("not the pass phrase"); !errors.Is(err, ErrWrongPassphrase) || err.Error() != "wrong pass phrase for the console's key" {
		t.Errorf("wrong pass phrase: %v", err)
	}
	if _, err := s.Unlock(""); !errors.Is(err, ErrLocked) {
		t.Errorf("no pass phrase: %v", err)
	}
	if _, err := InitWorkFactor(home, pass, testWork); !errors.Is(err, ErrExists) {
		t.Errorf("second Init: %v", err)
	}
	if _, err := InitWorkFactor(t.TempDir(), "short", testWork); err == nil {
		t.Error("a short pass phrase was accepted")
	}
}

// A temporary file left with a wider mode does not widen the key's.
func TestStaleTemporaryFile(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, Dir), 0o700)
	tmp := filepath.Join(home, Dir, identityFile+".tmp")
	os.WriteFile(tmp, []byte("stale"), 0o644)
	os.Chmod(tmp, 0o644)
	if _, err := InitWorkFactor(home, pass, testWork); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(home, Dir, identityFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("identity mode %v, %v", st.Mode(), err)
	}
}

func TestWriteOnlyConsole(t *testing.T) {
	_, full := initStore(t)
	pub, _ := full.Show()
	home := t.TempDir()
	s, err := ImportPublic(home, "  "+pub+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if !s.WriteOnly() {
		t.Fatal("an imported public key is not write-only")
	}
	if got, _ := s.Show(); got != pub {
		t.Errorf("Show = %q", got)
	}
	if rs, err := s.Recipients(); err != nil || len(rs) != 1 {
		t.Errorf("Recipients: %d, %v", len(rs), err)
	}
	if _, err := s.Unlock(pass); !errors.Is(err, ErrPublicOnly) {
		t.Errorf("Unlock: %v", err)
	}
	if err := s.Export(&bytes.Buffer{}); !errors.Is(err, ErrPublicOnly) {
		t.Errorf("Export: %v", err)
	}
	if _, err := ImportPublic(t.TempDir(), "AGE-SECRET-KEY-1QQQ"); err == nil {
		t.Error("a secret key was imported as a public one")
	}
	if _, err := (&Provider{Store: s, Passphrase: func() (string, error) { return pass, nil }}).Identities(); !errors.Is(err, ErrPublicOnly) {
		t.Errorf("Provider on a write-only console: %v", err)
	}
}

func TestRecoveryRecipient(t *testing.T) {
	_, s := initStore(t)
	rec, _ := age.GenerateX25519Identity()
	if err := s.AddRecipient(rec.Recipient().String()); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRecipient(rec.Recipient().String()); err != nil {
		t.Fatal(err)
	}
	keys, err := s.RecipientKeys()
	own, _ := s.Show()
	if err != nil || len(keys) != 2 || keys[0] != own || keys[1] != rec.Recipient().String() {
		t.Fatalf("recipients %v, %v", keys, err)
	}
	if err := s.AddRecipient("age1notakey"); err == nil {
		t.Error("a bad recipient was added")
	}
	// The recovery key, kept as a bare AGE-SECRET-KEY line, unlocks
	// without a pass phrase.
	id, err := UnlockFile(strings.NewReader("# recovery\n"+rec.String()+"\n"), "")
	if err != nil || id.(*age.X25519Identity).String() != rec.String() {
		t.Fatalf("UnlockFile of a recovery key: %v", err)
	}
}

func TestExportUnlockFile(t *testing.T) {
	_, s := initStore(t)
	var buf bytes.Buffer
	if err := s.Export(&buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("AGE-SECRET-KEY")) {
		t.Fatal("the export holds the key in the clear")
	}
	id, err := UnlockFile(bytes.NewReader(buf.Bytes()), pass)
	pub, _ := s.Show()
	if err != nil || id.(*age.X25519Identity).Recipient().String() != pub {
		t.Fatalf("UnlockFile: %v", err)
	}
	if _, err := UnlockFile(bytes.NewReader(buf.Bytes()), "wrong pass phrase"); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong pass phrase: %v", err)
	}
	if _, err := UnlockFile(strings.NewReader("garbage"), pass); err == nil || errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("garbage: %v", err)
	}
}

func TestProviderUnlocksOnce(t *testing.T) {
	home, _ := initStore(t)
	asked := 0
	p := &Provider{Store: Open(home), Passphrase: func() (string, error) { asked++; return pass, nil }}
	for range 3 {
		if ids, err := p.Identities(); err != nil || len(ids) != 1 {
			t.Fatalf("Identities: %v", err)
		}
	}
	if asked != 1 {
		t.Errorf("asked for the pass phrase %d times", asked)
	}
	if _, err := (&Provider{Store: Open(home)}).Identities(); !errors.Is(err, ErrLocked) {
		t.Errorf("no pass phrase: %v", err)
	}
	if _, err := (&Provider{Store: Open(t.TempDir())}).Identities(); !errors.Is(err, ErrNoStore) {
		t.Errorf("no store: %v", err)
	}
	wrong := &Provider{Store: Open(home), Passphrase: func() (string, error) { return "wrong pass phrase", nil }}
	if _, err := wrong.Identities(); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong pass phrase: %v", err)
	}
}

// BenchmarkUnlock is what opening the console's key costs with the default
// scrypt work factor: once per restore or verify.
func BenchmarkUnlock(b *testing.B) {
	home := b.TempDir()
	s, err := Init(home, pass)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Unlock(pass); err != nil {
			b.Fatal(err)
		}
	}
}
