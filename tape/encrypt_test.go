package tape

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"filippo.io/age"

	"exbackup/tape/mtf"
)

func newIdentity(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// publicOnly stands for a write-only console's key store.
type publicOnly struct{}

var errPublicOnly = errors.New("this console holds only the public key")

func (publicOnly) Identities() ([]age.Identity, error) { return nil, errPublicOnly }

// secretFiles are a store's files whose contents an encrypted tape must
// not show: a text that reads like a message, and sizes around the 64 KiB
// chunks of the payload.
func secretFiles() []file {
	msg := []byte(strings.Repeat("Subject: Quarterly results (confidential)\r\nThe merger with Contoso closes on Friday.\r\n", 2000))
	return []file{
		{"priv.edb", msg},
		{"pub.edb", randomBytes(2, 64<<10)},
		{"edb00003.log", randomBytes(3, 3*(64<<10)+1)},
		{"restore.env", []byte("store=IS\ntype=normal\nsecret-marker=7f3a9c\n")},
		{"empty.log", nil},
	}
}

func writeEncrypted(t *testing.T, ids ...*age.X25519Identity) (*Tape, Set, []file) {
	t.Helper()
	l := newLibrary(t)
	tp, err := l.Create("Weekly", CreateOptions{Created: when})
	if err != nil {
		t.Fatal(err)
	}
	writeSet(t, tp, SetOptions{Created: when}, "Microsoft Directory", []file{{"dir.edb", []byte("plain directory")}})
	var rs []age.Recipient
	for _, id := range ids {
		rs = append(rs, id.Recipient())
	}
	files := secretFiles()
	s := writeSet(t, tp, SetOptions{Created: when, Owner: "admin@console", Restricted: true, Encrypt: rs}, "Microsoft Information Store", files)
	if !s.Encrypted || s.Recipients != len(ids) {
		t.Fatalf("written set: encrypted %v, %d recipients", s.Encrypted, s.Recipients)
	}
	return tp, s, files
}

func TestEncryptedSetReadsBack(t *testing.T) {
	console, recovery := newIdentity(t), newIdentity(t)
	tp, written, files := writeEncrypted(t, console, recovery)
	sets, err := tp.Sets()
	if err != nil || len(sets) != 2 {
		t.Fatalf("Sets: %d, %v", len(sets), err)
	}
	if sets[0].Encrypted {
		t.Error("the plain set lists as encrypted")
	}
	s := sets[1]
	if s.State != SetComplete || !s.Encrypted || s.Recipients != 2 || s.Files != len(files) || !s.Restricted {
		t.Fatalf("encrypted set lists as %+v", s)
	}
	for _, id := range []*age.X25519Identity{console, recovery} {
		for i, e := range s.Entries {
			if e != written.Entries[i] || e.Size != int64(len(files[i].data)) {
				t.Errorf("entry %d: listed %+v, written %+v", i, e, written.Entries[i])
			}
			got, err := readEntry(t, tp, e, ReadOptions{Keys: Identities{id}})
			if err != nil || !bytes.Equal(got, files[i].data) {
				t.Errorf("%s: %d bytes, %v", e.Path, len(got), err)
			}
		}
	}
	rep, err := tp.Verify(context.Background(), 2, VerifyOptions{Keys: Identities{console}})
	if err != nil || rep.Files != len(files) || rep.Sealed {
		t.Fatalf("verify with the key: %+v %v", rep, err)
	}
	if err := tp.SetKey(2, Identities{recovery}); err != nil {
		t.Errorf("SetKey with the recovery key: %v", err)
	}
	// The plain set beside it reads as ever, keys or not.
	if got, err := readEntry(t, tp, sets[0].Entries[0], ReadOptions{}); err != nil || string(got) != "plain directory" {
		t.Errorf("plain set: %q %v", got, err)
	}
}

func TestEncryptedTapeHoldsNoPlaintext(t *testing.T) {
	tp, _, files := writeEncrypted(t, newIdentity(t))
	b := mustRead(t, tp.Path())
	for _, f := range files {
		for off := 0; off+32 <= len(f.data); off += max(32, len(f.data)/7) {
			if bytes.Contains(b, f.data[off:off+32]) {
				t.Errorf("%s: plaintext at offset %d found on tape", f.name, off)
			}
		}
	}
	for _, s := range []string{"Quarterly", "Contoso", "secret-marker"} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%q found on tape", s)
		}
	}
	// The plain set's data is there, as a check of the check.
	if !bytes.Contains(b, []byte("plain directory")) {
		t.Error("the plain set's data is not on tape")
	}
}

func TestEncryptedSetWithoutKey(t *testing.T) {
	tp, s, _ := writeEncrypted(t, newIdentity(t))
	for _, kp := range []KeyProvider{nil, publicOnly{}, Identities{newIdentity(t)}} {
		_, err := readEntry(t, tp, s.Entries[0], ReadOptions{Keys: kp})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Set != 2 || ke.Tape != "Weekly" {
			t.Fatalf("read with %T: %v", kp, err)
		}
		t.Log(err)
		rep, err := tp.Verify(context.Background(), 2, VerifyOptions{Keys: kp})
		if !errors.As(err, &ke) || !rep.Sealed || rep.Files != len(s.Entries) || len(rep.Failed) != 0 {
			t.Fatalf("verify with %T: %+v %v", kp, rep, err)
		}
		t.Log(err)
	}
	_, err := readEntry(t, tp, s.Entries[0], ReadOptions{Keys: publicOnly{}})
	if want := `set 2 on tape "Weekly" is encrypted: this console holds only the public key`; err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	_, err = readEntry(t, tp, s.Entries[0], ReadOptions{Keys: Identities{newIdentity(t)}})
	if !errors.Is(err, ErrWrongKey) {
		t.Errorf("another key: %v", err)
	}
}

// flip changes one byte of the tape file at off.
func flip(t *testing.T, tp *Tape, off int64) {
	t.Helper()
	b := mustRead(t, tp.Path())
	b[off] ^= 0x20
	if err := os.WriteFile(tp.Path(), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// stanOffset returns where an entry's STAN data starts on tape.
func stanOffset(t *testing.T, tp *Tape, e Entry) int64 {
	t.Helper()
	f, r, err := tp.open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := r.ReadBlockAt(e.Offset)
	if err != nil || b.Data == nil {
		t.Fatalf("FILE block of %s: %v", e.Path, err)
	}
	return b.Data.Offset
}

func TestFlippedEncryptedByteNamesTheFile(t *testing.T) {
	id := newIdentity(t)
	tp, s, _ := writeEncrypted(t, id)
	e := s.Entries[2] // edb00003.log, four chunks
	flip(t, tp, stanOffset(t, tp, e)+mtf.PayloadNonce+2*(64<<10)+100)
	_, err := readEntry(t, tp, e, ReadOptions{Keys: Identities{id}})
	var fe *mtf.FormatError
	if !errors.Is(err, mtf.ErrAuth) || !errors.As(err, &fe) || fe.File != "edb00003.log" || fe.Set != 2 || fe.Tape != "Weekly" {
		t.Fatalf("read: %v", err)
	}
	t.Log(err)
	rep, err := tp.Verify(context.Background(), 2, VerifyOptions{Keys: Identities{id}})
	if err == nil || len(rep.Failed) != 1 || !strings.Contains(rep.Failed[0].Error(), "edb00003.log") {
		t.Fatalf("verify with the key: %+v %v", rep, err)
	}
	// Without the key the CSUM over the encrypted data finds it too.
	rep, err = tp.Verify(context.Background(), 2, VerifyOptions{})
	if len(rep.Failed) != 1 || !errors.Is(rep.Failed[0], mtf.ErrChecksum) || !strings.Contains(err.Error(), "edb00003.log") {
		t.Fatalf("verify without the key: %+v %v", rep, err)
	}
	// Other files still read.
	if _, err := readEntry(t, tp, s.Entries[0], ReadOptions{Keys: Identities{id}}); err != nil {
		t.Errorf("priv.edb: %v", err)
	}
}

// Every chunk is authenticated: the nonce, the first and the last chunk,
// and the single empty chunk of an empty file.
func TestFlippedNonceAndEndsDetected(t *testing.T) {
	id := newIdentity(t)
	for _, c := range []struct {
		entry int
		at    func(size int64) int64
	}{
		{0, func(int64) int64 { return 3 }},                            // the nonce
		{0, func(int64) int64 { return mtf.PayloadNonce }},             // first chunk
		{1, func(n int64) int64 { return mtf.SealedSize(n) - 1 }},      // last tag
		{4, func(n int64) int64 { return mtf.PayloadNonce + 5 }},       // the empty file's tag
		{2, func(n int64) int64 { return mtf.SealedSize(n) - 16 - 1 }}, // the last byte
	} {
		tp, s, _ := writeEncrypted(t, id)
		e := s.Entries[c.entry]
		flip(t, tp, stanOffset(t, tp, e)+c.at(e.Size))
		if _, err := readEntry(t, tp, e, ReadOptions{Keys: Identities{id}}); !errors.Is(err, mtf.ErrAuth) {
			t.Errorf("%s, byte %d: %v", e.Path, c.at(e.Size), err)
		}
	}
}

// Data moved from one file to another (with its EXBH) is refused: the
// payload's nonce is bound to the file.
func TestSwappedFileDataRefused(t *testing.T) {
	id := newIdentity(t)
	l := newLibrary(t)
	tp, _ := l.Create("swap", CreateOptions{Created: when})
	a, b := randomBytes(5, 1000), randomBytes(6, 1000)
	s := writeSet(t, tp, SetOptions{Created: when, Encrypt: []age.Recipient{id.Recipient()}}, "Microsoft Information Store",
		[]file{{"a.edb", a}, {"b.edb", b}})
	raw := mustRead(t, tp.Path())
	oa, ob := stanOffset(t, tp, s.Entries[0]), stanOffset(t, tp, s.Entries[1])
	n := int(mtf.SealedSize(1000))
	da, db := bytes.Clone(raw[oa:oa+int64(n)]), bytes.Clone(raw[ob:ob+int64(n)])
	copy(raw[oa:], db)
	copy(raw[ob:], da)
	os.WriteFile(tp.Path(), raw, 0o644)
	if _, err := readEntry(t, tp, s.Entries[0], ReadOptions{Keys: Identities{id}}); !errors.Is(err, mtf.ErrAuth) {
		t.Fatalf("swapped data: %v", err)
	}
}

// The set's age header followed by a file's STAN data is an age file.
func TestEncryptedFileIsAnAgeFile(t *testing.T) {
	id := newIdentity(t)
	tp, s, files := writeEncrypted(t, id)
	f, r, err := tp.open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sset, err := r.ReadBlockAt(s.Offset)
	if err != nil || sset.Keys == nil {
		t.Fatalf("SSET: %v", err)
	}
	raw := mustRead(t, tp.Path())
	for i, e := range s.Entries {
		b, err := r.ReadBlockAt(e.Offset)
		if err != nil {
			t.Fatal(err)
		}
		stan := raw[b.Data.Offset : b.Data.Offset+int64(b.Data.Header.Length)]
		pr, err := age.Decrypt(io.MultiReader(bytes.NewReader(sset.Keys.Age), bytes.NewReader(stan)), id)
		if err != nil {
			t.Fatalf("%s: %v", e.Path, err)
		}
		got, err := io.ReadAll(pr)
		if err != nil || !bytes.Equal(got, files[i].data) {
			t.Errorf("%s through age: %d bytes, %v", e.Path, len(got), err)
		}
	}
}

// An independent reader sees the MTF encryption bits on the set and on
// each STAN stream.
func TestEncryptedSetCarriesMTFBits(t *testing.T) {
	tp, s, _ := writeEncrypted(t, newIdentity(t))
	f, r, err := tp.open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sset, err := r.ReadBlockAt(s.Offset)
	if err != nil {
		t.Fatal(err)
	}
	if sset.Desc.(*mtf.StartSet).Attributes&mtf.SetEncryption == 0 {
		t.Error("SSET lacks the encryption attribute")
	}
	for _, e := range s.Entries {
		b, _ := r.ReadBlockAt(e.Offset)
		h := b.Data.Header
		if h.MediaAttributes&mtf.StreamEncrypted == 0 || h.EncryptionAlgorithm != mtf.EncryptionAge ||
			int64(h.Length) != mtf.SealedSize(e.Size) || b.Header.DisplayableSize != uint64(e.Size) {
			t.Errorf("%s: STAN %+v", e.Path, h)
		}
	}
	// A reader that knows nothing of encryption refuses the data rather
	// than returning ciphertext as the file.
	b, _ := r.ReadBlockAt(s.Entries[0].Offset)
	if _, err := r.OpenData(b, s.Entries[0].Path, mtf.DataOptions{}); !errors.Is(err, mtf.ErrEncrypted) {
		t.Errorf("OpenData without a key: %v", err)
	}
}
