package tape

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"filippo.io/age"

	"exbackup/tape/mtf"
)

//	go test -fuzz=FuzzKeyHeader ./tape

func keyStream(t testing.TB, rs ...age.Recipient) []byte {
	t.Helper()
	_, st, err := newSetKey(rs)
	if err != nil {
		t.Fatal(err)
	}
	return st.Data
}

// An EXBK stream read from a tape is decoded, then its age header parsed
// and unwrapped: nothing may panic, and what decodes re-encodes the same.
func FuzzKeyHeader(f *testing.F) {
	id, other := newIdentity(f), newIdentity(f)
	one := keyStream(f, id.Recipient())
	f.Add(one)
	f.Add(keyStream(f, other.Recipient(), id.Recipient(), newIdentity(f).Recipient()))
	f.Add(one[:len(one)-10])
	f.Add(append(bytes.Clone(one), '\n'))
	f.Fuzz(func(t *testing.T, b []byte) {
		kh, err := mtf.DecodeKeyHeader(b)
		if err != nil {
			return
		}
		if !bytes.Equal(kh.Encode(), b) {
			t.Fatal("a decoded key header re-encodes otherwise")
		}
		key, err := unwrapKey("fuzz", 1, &kh, Identities{id})
		if err == nil && len(key) != mtf.DataKeySize {
			t.Fatalf("unwrapped a key of %d bytes", len(key))
		}
	})
}

func TestKeyHeaderBounds(t *testing.T) {
	id := newIdentity(t)
	good := keyStream(t, id.Recipient())
	if _, err := mtf.DecodeKeyHeader(good); err != nil {
		t.Fatal(err)
	}
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, b := range map[string][]byte{
		"empty":          nil,
		"short":          good[:6],
		"version 2":      mut(func(b []byte) []byte { b[0] = 2; return b }),
		"cipher 9":       mut(func(b []byte) []byte { b[2] = 9; return b }),
		"length too big": mut(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 1<<31); return b }),
		"trailing bytes": append(bytes.Clone(good), 0),
		"not age":        mut(func(b []byte) []byte { b[8] = 'X'; return b }),
		"no MAC line":    mut(func(b []byte) []byte { return bytes.Replace(b, []byte("\n--- "), []byte("\n-x- "), 1) }),
		"no recipient": mut(func(b []byte) []byte {
			return bytes.Replace(b, []byte("\n-> "), []byte("\n-x "), 1)
		}),
		"too large": make([]byte, 17<<10),
	} {
		if _, err := mtf.DecodeKeyHeader(b); !errors.Is(err, mtf.ErrBounds) && !errors.Is(err, mtf.ErrUnsupported) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A header whose MAC fails is refused on unwrapping, not taken.
	bad := mut(func(b []byte) []byte { b[len(b)-5] ^= 1; return b })
	if kh, err := mtf.DecodeKeyHeader(bad); err == nil {
		if _, err := unwrapKey("t", 1, &kh, Identities{id}); err == nil {
			t.Error("a header with a changed MAC unwrapped")
		}
	}
}
