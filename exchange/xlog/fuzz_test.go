package xlog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// seedLog builds a log file of n records in memory.
func seedLog(n int) []byte {
	b := FileHeader{Gen: 1, FirstLSN: 1, Signature: [16]byte{1}}.marshal()
	for lsn := uint64(1); lsn <= uint64(n); lsn++ {
		b = appendFrame(b, lsn, payload(lsn))
	}
	return b
}

// FuzzReader feeds arbitrary bytes as edb.log to the Reader, Replay and
// Open: none may panic, none may allocate much more than the input, and a
// log that Open accepts must take an append and replay cleanly.
func FuzzReader(f *testing.F) {
	whole := seedLog(4)
	f.Add(whole)
	f.Add(whole[:len(whole)-5])
	f.Add(whole[:HeaderSize])
	f.Add(whole[:HeaderSize-1])
	f.Add([]byte{})
	huge := le.AppendUint32(bytes.Clone(whole[:HeaderSize]), 0xFFFFFFF0) // a 4 GiB claim
	f.Add(append(huge, make([]byte, 40)...))
	big := le.AppendUint32(bytes.Clone(whole[:HeaderSize]), MaxPayload) // within the limit, past the end
	f.Add(append(big, make([]byte, 40)...))
	f.Add(append(bytes.Clone(whole), make([]byte, 100)...))
	mid := bytes.Clone(whole)
	mid[HeaderSize+20] ^= 1
	f.Add(mid)

	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "edb.log")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if r, err := OpenReader(path); err == nil {
			for {
				rec, err := r.Next()
				if err != nil {
					if err != io.EOF && !errors.Is(err, ErrCorrupt) {
						t.Fatalf("Next: %v", err)
					}
					break
				}
				if len(rec.Data) > len(data) {
					t.Fatalf("record of %d bytes from a %d-byte file", len(rec.Data), len(data))
				}
			}
			r.Close()
		}
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*uint64(len(data))+1<<20 {
			t.Fatalf("reading a %d-byte file allocated %d bytes", len(data), alloc)
		}

		Replay(dir, "", 0, func(Record) error { return nil })
		l, err := Open(dir, Options{NoSync: true})
		if err != nil {
			return
		}
		defer l.Close()
		_, last, err := l.Append([]byte("after recovery"))
		if err != nil {
			t.Fatalf("Append after Open: %v", err)
		}
		gens := l.Generations()
		got, err := Replay(dir, "", gens[0].FirstLSN-1, func(Record) error { return nil })
		if err != nil || got != last {
			t.Fatalf("Replay after recovery: last %d, %v; want %d", got, err, last)
		}
	})
}
