package catalog

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The entries' encoding is json.Marshal's, byte for byte, for names that
// need no escaping and for those that do.
func TestEntryJSONIsMarshal(t *testing.T) {
	for _, e := range []Entry{
		{},
		{Path: "priv.edb"},
		{Volume: `\\EXCH01\Microsoft Information Store`, Path: "data/dir00001/file000001.txt", Size: 128, FLA: 4, Hash: "blake3:00ff", Member: 2},
		{Path: `a "quoted" <name> & \back`, Size: -1, FLA: 1 << 63},
		{Path: "caf\u00e9/\u2028\x01\x7f", Hash: "sha256:ab"},
		{Path: "bad \xff utf-8"},
	} {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendEntryJSON(nil, e); !bytes.Equal(got, want) {
			t.Errorf("%+v:\n got %s\nwant %s", e, got, want)
		}
	}
}

// FuzzEntryJSON checks the encoding against json.Marshal on any strings.
func FuzzEntryJSON(f *testing.F) {
	f.Add("C:", "a/b.txt", int64(3), uint64(9), "blake3:00", uint16(1))
	f.Fuzz(func(t *testing.T, vol, path string, size int64, fla uint64, hash string, member uint16) {
		e := Entry{Volume: vol, Path: path, Size: size, FLA: fla, Hash: hash, Member: member}
		want, _ := json.Marshal(e)
		if got := appendEntryJSON(nil, e); !bytes.Equal(got, want) {
			t.Fatalf("%+v:\n got %s\nwant %s", e, got, want)
		}
	})
}
