package xlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func payload(lsn uint64) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("rec%d;", lsn)), int(lsn%7)+1)
}

func openT(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// appendN appends n records one per Append, each with payload(lsn).
func appendN(t testing.TB, l *Log, n int) {
	t.Helper()
	for range n {
		lsn := l.LastLSN() + 1
		first, last, err := l.Append(payload(lsn))
		if err != nil || first != lsn || last != lsn {
			t.Fatalf("Append: %d..%d, %v; want %d", first, last, err, lsn)
		}
	}
}

// replayCheck replays dir after `after` and checks it gets payload(lsn)
// for every LSN through want.
func replayCheck(t *testing.T, dir string, after, want uint64) {
	t.Helper()
	next := after + 1
	last, err := Replay(dir, "", after, func(r Record) error {
		if r.LSN != next || !bytes.Equal(r.Data, payload(r.LSN)) {
			return fmt.Errorf("got LSN %d %q, want LSN %d", r.LSN, r.Data, next)
		}
		next++
		return nil
	})
	if err != nil || last != want || next != want+1 {
		t.Fatalf("Replay after %d: last %d, next %d, %v; want last %d", after, last, next, err, want)
	}
}

func TestAppendReopen(t *testing.T) {
	dir := t.TempDir()
	sig := [16]byte{1, 2, 3}
	l := openT(t, dir, Options{Signature: sig})
	if l.LastLSN() != 0 || l.CurrentGen() != 1 || l.Signature() != sig {
		t.Fatalf("new log: last %d gen %d sig %x", l.LastLSN(), l.CurrentGen(), l.Signature())
	}
	appendN(t, l, 10)
	first, last, err := l.Append(payload(11), payload(12), payload(13))
	if err != nil || first != 11 || last != 13 {
		t.Fatalf("group Append: %d..%d, %v", first, last, err)
	}
	if f, la, err := l.Append(); f != 0 || la != 0 || err != nil {
		t.Fatalf("empty Append: %d %d %v", f, la, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Append(payload(14)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}

	l = openT(t, dir, Options{Signature: [16]byte{9}})
	if l.LastLSN() != 13 || l.Signature() != sig {
		t.Fatalf("reopened: last %d sig %x", l.LastLSN(), l.Signature())
	}
	appendN(t, l, 1)
	replayCheck(t, dir, 0, 14)
	replayCheck(t, dir, 7, 14)
	replayCheck(t, dir, 14, 14)
	if n, err := LastLSN(filepath.Join(dir, "edb.log")); n != 14 || err != nil {
		t.Fatalf("LastLSN: %d, %v", n, err)
	}
}

func TestAppendTooLarge(t *testing.T) {
	l := openT(t, t.TempDir(), Options{NoSync: true})
	if _, _, err := l.Append(make([]byte, MaxPayload+1)); err == nil {
		t.Fatal("oversized record accepted")
	}
	appendN(t, l, 1) // still usable
}

func TestRollBySize(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, Options{MaxFileSize: 300, NoSync: true})
	appendN(t, l, 40)
	gens := l.Generations()
	if len(gens) < 4 {
		t.Fatalf("only %d generations", len(gens))
	}
	listed, err := Generations(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(listed) != fmt.Sprint(gens) {
		t.Fatalf("Generations(dir) = %v\nLog.Generations() = %v", listed, gens)
	}
	for i, g := range gens {
		cur := i == len(gens)-1
		name := GenName("", g.Gen)
		if cur {
			name = "edb.log"
		}
		if g.Gen != uint32(i+1) || g.Current != cur || filepath.Base(g.Path) != name {
			t.Fatalf("generation %d: %+v", i, g)
		}
		if !cur {
			st, _ := os.Stat(g.Path)
			end, err := LastLSN(g.Path)
			if st.Size() < 300 || err != nil || end+1 != gens[i+1].FirstLSN {
				t.Fatalf("%s: size %d, ends at %d (%v), next starts at %d", name, st.Size(), end, err, gens[i+1].FirstLSN)
			}
		}
	}
	l.Close()
	l = openT(t, dir, Options{MaxFileSize: 300, NoSync: true})
	appendN(t, l, 5)
	replayCheck(t, dir, 0, 45)
	replayCheck(t, dir, 30, 45)
}

func TestRoll(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, Options{NoSync: true})
	appendN(t, l, 3)
	for want := uint32(1); want <= 3; want++ { // the 2nd and 3rd are empty
		if g, err := l.Roll(); g != want || err != nil {
			t.Fatalf("Roll: %d, %v; want %d", g, err, want)
		}
	}
	appendN(t, l, 2)
	if l.CurrentGen() != 4 {
		t.Fatalf("current generation %d", l.CurrentGen())
	}
	for i, g := range l.Generations() {
		if want := []uint64{1, 4, 4, 4}[i]; g.FirstLSN != want {
			t.Fatalf("generation %d starts at %d, want %d", g.Gen, g.FirstLSN, want)
		}
	}
	replayCheck(t, dir, 0, 5)
	replayCheck(t, dir, 3, 5)
	l.Close()
	l = openT(t, dir, Options{NoSync: true})
	if l.LastLSN() != 5 || l.CurrentGen() != 4 {
		t.Fatalf("reopened: last %d gen %d", l.LastLSN(), l.CurrentGen())
	}
}

// RemoveInto moves the generations aside instead of deleting them: they
// leave the log at once, whole, for the caller to delete.
func TestRemoveInto(t *testing.T) {
	dir, trash := t.TempDir(), t.TempDir()
	l := openT(t, dir, Options{NoSync: true})
	for range 3 {
		appendN(t, l, 3)
		l.Roll()
	}
	if err := l.RemoveInto(trash, 2); err == nil || !strings.Contains(err.Error(), "gap") {
		t.Fatalf("moving a middle generation aside: %v", err)
	}
	before, _ := os.ReadFile(genPath(dir, "edb", 1))
	if err := l.RemoveInto(trash, 1, 2); err != nil {
		t.Fatal(err)
	}
	for _, g := range []uint32{1, 2} {
		if _, err := os.Stat(genPath(dir, "edb", g)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("generation %d still in the log folder: %v", g, err)
		}
	}
	if moved, err := os.ReadFile(genPath(trash, "edb", 1)); err != nil || !bytes.Equal(moved, before) {
		t.Fatalf("generation 1 was not moved whole: %v", err)
	}
	if g := l.Generations(); len(g) != 2 || g[0].Gen != 3 {
		t.Fatalf("generations after RemoveInto: %v", g)
	}
	l.Close()
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, Options{NoSync: true})
	var ends []uint64
	for range 4 {
		appendN(t, l, 3)
		ends = append(ends, l.LastLSN())
		l.Roll()
	}
	if err := l.Remove(5); err == nil {
		t.Fatal("removed the current generation")
	}
	if err := l.Remove(9); err == nil {
		t.Fatal("removed a generation that does not exist")
	}
	if err := l.Remove(2); err == nil || !strings.Contains(err.Error(), "gap") {
		t.Fatalf("removing a middle generation: %v", err)
	}
	if err := l.Remove(2, 1); err != nil {
		t.Fatal(err)
	}
	for _, g := range []uint32{1, 2} {
		if _, err := os.Stat(genPath(dir, "edb", g)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("generation %d still there: %v", g, err)
		}
	}
	if g := l.Generations(); len(g) != 3 || g[0].Gen != 3 {
		t.Fatalf("generations after Remove: %v", g)
	}
	_, err := Replay(dir, "", 0, func(Record) error { return nil })
	if !errors.Is(err, ErrMissingGeneration) || !strings.Contains(err.Error(), "edb00002.log is missing") {
		t.Fatalf("Replay of removed records: %v", err)
	}
	replayCheck(t, dir, ends[1], ends[3])
	l.Close()
	l = openT(t, dir, Options{NoSync: true})
	if l.LastLSN() != ends[3] || len(l.Generations()) != 3 {
		t.Fatalf("reopened: last %d, %v", l.LastLSN(), l.Generations())
	}
}

// recordOffsets returns where each record of a log written by appendN
// starts, and the end.
func recordOffsets(n int) []int64 {
	offs := []int64{HeaderSize}
	for lsn := uint64(1); lsn <= uint64(n); lsn++ {
		offs = append(offs, offs[len(offs)-1]+frameOverhead+int64(len(payload(lsn))))
	}
	return offs
}

func writeLog(t *testing.T, n int) []byte {
	t.Helper()
	dir := t.TempDir()
	l := openT(t, dir, Options{NoSync: true, Signature: [16]byte{7}})
	appendN(t, l, n)
	l.Close()
	b, err := os.ReadFile(filepath.Join(dir, "edb.log"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dirWith(t *testing.T, edb []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "edb.log"), edb, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// recovers checks that Open of a log of n-1 whole records plus some torn
// tail truncates the tail and goes on appending at LSN n.
func recovers(t *testing.T, edb []byte, n int, what string) {
	t.Helper()
	dir := dirWith(t, edb)
	if last, err := Replay(dir, "", 0, func(Record) error { return nil }); err != nil || last != uint64(n-1) {
		t.Fatalf("%s: Replay: last %d, %v", what, last, err)
	}
	l, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatalf("%s: Open: %v", what, err)
	}
	defer l.Close()
	if l.LastLSN() != uint64(n-1) {
		t.Fatalf("%s: recovered to LSN %d, want %d", what, l.LastLSN(), n-1)
	}
	if st, _ := os.Stat(filepath.Join(dir, "edb.log")); st.Size() != recordOffsets(n - 1)[n-1] {
		t.Fatalf("%s: not truncated: %d bytes", what, st.Size())
	}
	appendN(t, l, 1)
	replayCheck(t, dir, 0, uint64(n))
}

func TestTornTail(t *testing.T) {
	const n = 5
	whole := writeLog(t, n)
	offs := recordOffsets(n)
	for cut := offs[n-1]; cut < offs[n]; cut++ {
		recovers(t, whole[:cut], n, fmt.Sprintf("cut at %d", cut))
	}
	// A crash may leave the size grown but the data unwritten: zeros.
	zeroed := append(bytes.Clone(whole[:offs[n-1]]), make([]byte, 4096)...)
	recovers(t, zeroed, n, "zero-filled tail")
	// Or stale blocks: anything but a record.
	garbage := append(bytes.Clone(whole[:offs[n-1]]), bytes.Repeat([]byte("stale block "), 500)...)
	recovers(t, garbage, n, "garbage tail")
	// The last record whole but its checksum wrong.
	flipped := bytes.Clone(whole)
	flipped[len(flipped)-1] ^= 1
	recovers(t, flipped, n, "bad checksum in the last record")
}

func TestCorruptMiddle(t *testing.T) {
	whole := writeLog(t, 10)
	offs := recordOffsets(10)
	check := func(what string, b []byte, off int64, reason string) {
		t.Helper()
		dir := dirWith(t, b)
		want := fmt.Sprintf("edb.log: offset %d: %s", off, reason)
		_, err := Open(dir, Options{NoSync: true})
		if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTorn) || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: Open: %v; want an error with %q", what, err, want)
		}
		_, err = Replay(dir, "", 0, func(Record) error { return nil })
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: Replay: %v", what, err)
		}
		if _, err := LastLSN(filepath.Join(dir, "edb.log")); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: LastLSN: %v", what, err)
		}
	}
	b := bytes.Clone(whole)
	b[offs[2]+frameHeaderSize+1] ^= 0x40
	check("payload bit flip", b, offs[2], "record checksum mismatch")

	b = bytes.Clone(whole)
	le.PutUint32(b[offs[3]:], 1<<20)
	check("length field", b, offs[3], "record of 1048576 bytes runs past the end of the file; a valid record (LSN 5) follows")

	// Records 1, 2, 4, 5, ... with valid checksums: LSN 3 lost.
	b = append(bytes.Clone(whole[:offs[2]]), whole[offs[3]:]...)
	check("LSN gap", b, offs[2], "record has LSN 4 where LSN 3 was expected")
}

func TestBadHeader(t *testing.T) {
	whole := writeLog(t, 3)
	garbage := bytes.Clone(whole)
	copy(garbage[8:], "garbage!")
	for what, b := range map[string][]byte{
		"garbage": garbage,
		"short":   whole[:20],
		"empty":   nil,
		"text":    []byte(strings.Repeat("not a log at all\n", 10)),
	} {
		dir := dirWith(t, b)
		if _, err := Open(dir, Options{NoSync: true}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "edb.log: offset 0:") {
			t.Errorf("%s: Open: %v", what, err)
		}
		if _, err := Replay(dir, "", 0, func(Record) error { return nil }); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Replay: %v", what, err)
		}
	}
}

// rolledSet makes a set of `gens` generations with 3 records each
// (edb.log being the last) and returns its directory.
func rolledSet(t *testing.T, gens int, sig [16]byte) string {
	t.Helper()
	dir := t.TempDir()
	l := openT(t, dir, Options{NoSync: true, Signature: sig})
	for i := 1; i <= gens; i++ {
		appendN(t, l, 3)
		if i < gens {
			l.Roll()
		}
	}
	l.Close()
	return dir
}

func TestMissingGeneration(t *testing.T) {
	dir := rolledSet(t, 5, [16]byte{1})
	os.Remove(genPath(dir, "", 2))
	_, err := Replay(dir, "", 0, func(Record) error { return nil })
	if !errors.Is(err, ErrMissingGeneration) || !strings.Contains(err.Error(), "log generation "+genPath(dir, "", 2)+" is missing") {
		t.Fatalf("Replay: %v", err)
	}
	// Not needed when replaying after it.
	replayCheck(t, dir, 6, 15)
	if _, err := Open(dir, Options{NoSync: true}); !errors.Is(err, ErrMissingGeneration) {
		t.Fatalf("Open: %v", err)
	}

	os.Remove(genPath(dir, "", 1))
	_, err = Replay(dir, "", 3, func(Record) error { return nil })
	if !errors.Is(err, ErrMissingGeneration) || !strings.Contains(err.Error(), "edb00002.log is missing") {
		t.Fatalf("Replay before the oldest log: %v", err)
	}
	// Past the end: the newer logs are what is missing.
	if _, err := Replay(dir, "", 40, func(Record) error { return nil }); !errors.Is(err, ErrMissingGeneration) {
		t.Fatalf("Replay after the end: %v", err)
	}
	if _, err := Replay(t.TempDir(), "", 0, func(Record) error { return nil }); !errors.Is(err, ErrMissingGeneration) {
		t.Fatalf("Replay of an empty directory: %v", err)
	}
}

func TestSignatureMismatch(t *testing.T) {
	a := rolledSet(t, 3, [16]byte{0xa})
	b := rolledSet(t, 3, [16]byte{0xb})
	other, _ := os.ReadFile(genPath(b, "", 2))
	os.WriteFile(genPath(a, "", 2), other, 0o600)
	if _, err := Open(a, Options{NoSync: true}); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "edb00002.log") {
		t.Fatalf("Open: %v", err)
	}
	if _, err := Replay(a, "", 0, func(Record) error { return nil }); !errors.Is(err, ErrSignature) {
		t.Fatalf("Replay: %v", err)
	}
}

func TestCorruptRolledGeneration(t *testing.T) {
	dir := rolledSet(t, 3, [16]byte{1})
	path := genPath(dir, "", 2)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, b[:len(b)-3], 0o600) // torn, but not the last file
	_, err := Replay(dir, "", 0, func(Record) error { return nil })
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "edb00002.log: offset") {
		t.Fatalf("Replay: %v", err)
	}
	if _, err := Open(dir, Options{NoSync: true}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open: %v", err)
	}
}

func TestCrashBetweenRollSteps(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, Options{NoSync: true})
	appendN(t, l, 4)
	l.Roll()
	l.Close()
	// edb.log renamed away, its successor not yet in place.
	os.Remove(filepath.Join(dir, "edb.log"))
	os.WriteFile(filepath.Join(dir, "edb.log.tmp"), []byte("half"), 0o600)
	os.WriteFile(filepath.Join(dir, "edb.chk.tmp"), []byte("half"), 0o600)

	l = openT(t, dir, Options{NoSync: true})
	if l.CurrentGen() != 2 || l.LastLSN() != 4 {
		t.Fatalf("recovered: gen %d last %d", l.CurrentGen(), l.LastLSN())
	}
	for _, tmp := range []string{"edb.log.tmp", "edb.chk.tmp"} {
		if _, err := os.Stat(filepath.Join(dir, tmp)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s left over: %v", tmp, err)
		}
	}
	appendN(t, l, 2)
	replayCheck(t, dir, 0, 6)
}

func TestUnusableAfterWriteFailure(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, Options{NoSync: true})
	appendN(t, l, 2)
	l.f.Close() // the next write fails as a dying disk would
	if _, _, err := l.Append(payload(3)); err == nil {
		t.Fatal("Append on a failed file succeeded")
	}
	for _, err := range []error{
		func() error { _, _, err := l.Append(payload(3)); return err }(),
		func() error { _, err := l.Roll(); return err }(),
		l.Remove(1),
	} {
		if err == nil || !strings.Contains(err.Error(), "unusable") {
			t.Fatalf("after a failure: %v", err)
		}
	}
	l.Close()
	l = openT(t, dir, Options{NoSync: true})
	appendN(t, l, 1)
	replayCheck(t, dir, 0, 3)
}

func TestReaderRecords(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, Options{NoSync: true, Signature: [16]byte{5}})
	appendN(t, l, 3)
	r, err := OpenReader(filepath.Join(dir, "edb.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if h := r.Header(); h.Gen != 1 || h.FirstLSN != 1 || h.Signature != [16]byte{5} || h.Version != formatVersion {
		t.Fatalf("header %+v", h)
	}
	var kept [][]byte
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, rec.Data)
	}
	for i, d := range kept { // each Data is its own
		if !bytes.Equal(d, payload(uint64(i+1))) {
			t.Fatalf("record %d: %q", i+1, d)
		}
	}
}

func TestNewSetStartsAbove(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, Options{NoSync: true, FirstGen: 0x20, FirstLSN: 500})
	if l.CurrentGen() != 0x20 || l.LastLSN() != 499 {
		t.Fatalf("new set: gen %d last %d", l.CurrentGen(), l.LastLSN())
	}
	first, _, err := l.Append(payload(500))
	if err != nil || first != 500 {
		t.Fatalf("Append: %d, %v", first, err)
	}
	l.Roll()
	l.Close()
	if _, err := os.Stat(filepath.Join(dir, "edb00020.log")); err != nil {
		t.Fatal(err)
	}
	// Only a new set takes them.
	l = openT(t, dir, Options{NoSync: true, FirstGen: 1, FirstLSN: 1})
	if l.CurrentGen() != 0x21 || l.LastLSN() != 500 {
		t.Fatalf("reopened: gen %d last %d", l.CurrentGen(), l.LastLSN())
	}
	replayCheck(t, dir, 499, 500)
	if _, err := Open(t.TempDir(), Options{FirstLSN: 1 << 63}); err == nil {
		t.Fatal("first LSN 1<<63 accepted")
	}
}
