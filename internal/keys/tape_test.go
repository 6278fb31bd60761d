package keys_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"exbackup/internal/keys"
	"exbackup/tape"
)

const pass = "correct horse battery staple"

// A write-only console writes a set it cannot read; the console whose key
// it was given reads it once unlocked.
func TestWriteOnlyConsoleWritesWhatItCannotRead(t *testing.T) {
	reader, err := keys.InitWorkFactor(t.TempDir(), pass, 10)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := reader.Show()
	writer, err := keys.ImportPublic(t.TempDir(), pub)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := writer.Recipients()
	if err != nil {
		t.Fatal(err)
	}
	l, err := tape.OpenLibrary(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tp, err := l.Create("Weekly", tape.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("a message body "), 10_000)
	for _, encrypt := range []bool{false, true} {
		o := tape.SetOptions{}
		if encrypt {
			o.Encrypt = rs
		}
		w, err := tp.AppendSet(o)
		if err != nil {
			t.Fatal(err)
		}
		w.BeginVolume(`\\EXCH01\Microsoft Information Store`, "EXCH01")
		if _, err := w.AddFile("priv.edb", int64(len(data)), time.Now(), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.End(); err != nil {
			t.Fatal(err)
		}
	}
	s, err := tp.Set(2)
	if err != nil || !s.Encrypted {
		t.Fatalf("set 2: %+v %v", s, err)
	}
	read := func(kp tape.KeyProvider) ([]byte, error) {
		r, err := tp.OpenEntry(s.Entries[0], tape.ReadOptions{Keys: kp})
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return io.ReadAll(r)
	}
	_, err = read(&keys.Provider{Store: writer, Passphrase: func() (string, error) { return pass, nil }})
	if want := `set 2 on tape "Weekly" is encrypted: this console holds only the public key`; err == nil || err.Error() != want {
		t.Errorf("write-only console: %v", err)
	}
	_, err = read(&keys.Provider{Store: reader})
	if want := `set 2 on tape "Weekly" is encrypted: needs the pass phrase`; err == nil || err.Error() != want {
		t.Errorf("no pass phrase: %v", err)
	}
	_, err = read(&keys.Provider{Store: reader, Passphrase: func() (string, error) { return "wrong pass phrase", nil }})
	if !errors.Is(err, keys.ErrWrongPassphrase) || !strings.Contains(err.Error(), "set 2 on tape") {
		t.Errorf("wrong pass phrase: %v", err)
	}
	got, err := read(&keys.Provider{Store: reader, Passphrase: func() (string, error) { return pass, nil }})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("reading console: %d bytes, %v", len(got), err)
	}
	rep, err := tp.Verify(context.Background(), 2, tape.VerifyOptions{Keys: &keys.Provider{Store: writer}})
	if !rep.Sealed || !errors.Is(err, keys.ErrPublicOnly) {
		t.Errorf("verify on the write-only console: %+v %v", rep, err)
	}
	// The plain set needs no key.
	p, _ := tp.Set(1)
	if r, err := tp.OpenEntry(p.Entries[0], tape.ReadOptions{}); err != nil {
		t.Errorf("plain set: %v", err)
	} else {
		r.Close()
	}
}
