package engine

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"exbackup/exchange/wire"
)

func TestStreamEnd(t *testing.T) {
	// stream returns a reader of a framed stream of data that has read
	// the first 4 bytes, with the trailer's checksum damaged if asked.
	stream := func(data string, damaged bool) *wire.FrameReader {
		var b bytes.Buffer
		fw := wire.NewFrameWriter(&b)
		fw.Write([]byte(data))
		fw.Close()
		raw := b.Bytes()
		if damaged {
			raw[len(raw)-9] ^= 1 // trailer: 0 u32 | checksum u32 | length u64
		}
		r := wire.NewFrameReader(bytes.NewReader(raw))
		if _, err := io.ReadFull(r, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := streamEnd(stream("data", false)); err != nil {
		t.Errorf("a stream that ends at its size: %v", err)
	}
	if err := streamEnd(stream("data and more", false)); err == nil || !strings.Contains(err.Error(), "more than the size") {
		t.Errorf("a stream longer than its size: %v", err)
	}
	if err := streamEnd(stream("data", true)); !errors.Is(err, wire.ErrCorruptStream) {
		t.Errorf("a stream whose trailer is wrong: %v", err)
	}
}

// A server typed by its name alone is dialled, and remembered, at the
// default port; the organization's other servers are then found through it.
func TestConnectByNameAlone(t *testing.T) {
	f := newFakeEnv(t, "EX1", "EX2")
	if err := f.e.Connect(bg, "  EX1.example ", "key", "sha256:EX1"); err != nil {
		t.Fatal(err)
	}
	st := f.e.Settings()
	if st.Entry != addrOf("EX1") || st.Servers["EX2"].Address != addrOf("EX2") {
		t.Fatalf("settings after connecting to a name alone: %+v", st)
	}
	if _, err := f.e.Organization(bg); err != nil {
		t.Fatalf("organization through the entry given by name: %v", err)
	}
	if err := f.e.Connect(bg, "EX1.example:", "key", "sha256:EX1"); err == nil || !strings.Contains(err.Error(), "port") {
		t.Errorf("an address with an empty port: %v", err)
	}
}

// A server that does not answer is named once, by its name, in the reason
// the organization gives for it and in the error of a job that needs it.
func TestUnreachableServerNamedOnce(t *testing.T) {
	f := newFakeEnv(t, "EX1", "EX2")
	f.org.down[addrOf("EX2")] = true
	org, err := f.e.Organization(bg)
	if err != nil {
		t.Fatal(err)
	}
	if why := org.Unreachable["EX2"]; strings.Contains(why, "EX2:") || !strings.Contains(why, "connection refused") {
		t.Errorf("reason for EX2: %q", why)
	}
	_, err = f.e.client(bg, "EX2")
	if err == nil || strings.Count(err.Error(), "server ") != 1 || !strings.HasPrefix(err.Error(), "server EX2") {
		t.Errorf("dialling EX2: %v", err)
	}
}

// A tape the library does not hold is named once in the error of every job
// that asks for it.
func TestMissingTapeNamedOnce(t *testing.T) {
	f := newFakeEnv(t, "EX1")
	want := `tape "Nope": no such tape in the library`
	_, verr := f.e.Verify(bg, VerifyRequest{Tape: "Nope"}, nil)
	_, rerr := f.e.Restore(bg, RestoreRequest{Sets: []RestoreSet{{Tape: "Nope", Set: 1}}}, nil)
	cerr := f.e.CatalogTape(bg, "Nope", nil)
	for job, err := range map[string]error{"verify": verr, "restore": rerr, "catalog": cerr} {
		if err == nil || !strings.Contains(err.Error(), want) || strings.Count(err.Error(), `"Nope"`) != 1 {
			t.Errorf("%s of a missing tape: %v", job, err)
		}
	}
}
