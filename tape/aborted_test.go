package tape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"exbackup/tape/mtf"
)

func TestAbortedSetIsOverwritten(t *testing.T) {
	l := newLibrary(t)
	tp, _ := l.Create("t", CreateOptions{Created: when})
	first := writeSet(t, tp, SetOptions{Created: when}, "Microsoft Directory", []file{{"dir.edb", randomBytes(5, 10_000)}})
	w, err := tp.AppendSet(SetOptions{Created: when, Description: "cancelled"})
	if err != nil {
		t.Fatal(err)
	}
	w.BeginVolume(`\\SERVER\Microsoft Information Store`, "SERVER")
	if _, err := w.AddFile("priv.edb", 100_000, when, bytes.NewReader(randomBytes(6, 100_000))); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if _, err := w.AddFile("pub.edb", 1, when, strings.NewReader("x")); !errors.Is(err, ErrSetClosed) {
		t.Fatalf("AddFile after Abort: %v", err)
	}
	sets, err := tp.Sets()
	if err != nil || len(sets) != 2 {
		t.Fatalf("%v %d", err, len(sets))
	}
	if s := sets[1]; s.State != SetAborted || s.Restorable() || s.Err == nil || s.Description != "cancelled" || s.Files != 1 {
		t.Fatalf("aborted set listed as %+v", s)
	}
	if _, err := tp.Verify(context.Background(), 2, VerifyOptions{}); err == nil {
		t.Fatal("verify of an aborted set passed")
	}
	// The next set takes number 2 and the place of the aborted one.
	second := writeSet(t, tp, SetOptions{Created: when}, "Microsoft Information Store", storeFiles())
	if second.Number != 2 {
		t.Fatalf("set number %d", second.Number)
	}
	sets, _ = tp.Sets()
	if len(sets) != 2 || sets[0].State != SetComplete || sets[1].State != SetComplete || sets[1].Files != len(storeFiles()) {
		t.Fatalf("%+v", sets)
	}
	if sets[0].Entries[0] != first.Entries[0] {
		t.Fatal("set 1 moved")
	}
}

// TestCrashTails cuts a tape at many points inside a second set, as a crash
// or a full disk would, and checks set 1 stays complete, set 2 is damaged
// (ends at the cut) or, cut after a whole block, aborted, and appending
// writes a sound set over the tail.
func TestCrashTails(t *testing.T) {
	l := newLibrary(t)
	tp, _ := l.Create("crash", CreateOptions{Created: when})
	writeSet(t, tp, SetOptions{Created: when}, "Microsoft Directory", []file{{"dir.edb", randomBytes(7, 5000)}})
	st, _ := os.Stat(tp.Path())
	end1 := st.Size()
	writeSet(t, tp, SetOptions{Created: when}, "Microsoft Information Store", storeFiles())
	full, _ := os.ReadFile(tp.Path())
	esetEnd := int64(len(full)) - 1024 // the last filemark follows the ESET
	for _, cut := range []int64{end1, end1 + 1, end1 + 1024, end1 + 3000, end1 + 50_000, esetEnd - 1, esetEnd} {
		if err := os.WriteFile(tp.Path(), full[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := tp.Sets()
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if got[0].State != SetComplete {
			t.Fatalf("cut %d: set 1 %s", cut, got[0].State)
		}
		wantSets := 2
		if cut < end1+mtf.HeaderSize {
			// Not even the SSET's header is whole: no set to list, but a
			// problem after set 1 when some of it is there.
			wantSets = 1
			l, _ := tp.Scan()
			if (cut > end1) != (len(l.Problems) == 1) {
				t.Fatalf("cut %d: problems %v", cut, l.Problems)
			}
		}
		if len(got) != wantSets {
			t.Fatalf("cut %d: %d sets", cut, len(got))
		}
		if cut == esetEnd {
			// Only the filemark after the ESET is missing: the set is whole.
			if got[1].State != SetComplete {
				t.Fatalf("cut %d: set 2 %s: %v", cut, got[1].State, got[1].Err)
			}
		} else if wantSets == 2 {
			// Cut inside a block: damaged, and where it ends is told.
			// Cut after a whole block: what Abort leaves, aborted.
			s2 := got[1]
			switch {
			case s2.State == SetDamaged && s2.EndsAt == cut && strings.Contains(s2.Err.Error(), fmt.Sprintf("ends at byte %d", cut)):
			case s2.State == SetAborted && cut%1024 == 0 && cut != end1+50_000:
			default:
				t.Fatalf("cut %d: set 2 %s (ends at %d): %v", cut, s2.State, s2.EndsAt, s2.Err)
			}
		}
		s := writeSet(t, tp, SetOptions{Created: when}, "Microsoft Information Store", []file{{"x.log", []byte("x")}})
		after, _ := tp.Sets()
		last := after[len(after)-1]
		if last.Number != s.Number || last.State != SetComplete || after[0].State != SetComplete {
			t.Fatalf("cut %d: after append %+v", cut, after)
		}
		if cut == esetEnd && s.Number != 3 || cut != esetEnd && s.Number != 2 {
			t.Fatalf("cut %d: appended set %d", cut, s.Number)
		}
		if _, err := tp.Verify(context.Background(), s.Number, VerifyOptions{}); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
	}
}

func TestShortReaderAbortsSet(t *testing.T) {
	l := newLibrary(t)
	tp, _ := l.Create("short", CreateOptions{})
	w, _ := tp.AppendSet(SetOptions{})
	w.BeginVolume(`\\S\Microsoft Information Store`, "S")
	if _, err := w.AddFile("priv.edb", 1000, when, strings.NewReader("only this")); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("AddFile: %v", err)
	}
	if _, err := w.End(); err == nil {
		t.Fatal("End after a failed file succeeded")
	}
	sets, _ := tp.Sets()
	if len(sets) != 1 || sets[0].State != SetAborted {
		t.Fatalf("%+v", sets)
	}
}

func TestDirectoriesAndLongNames(t *testing.T) {
	l := newLibrary(t)
	tp, _ := l.Create("dirs", CreateOptions{})
	long := strings.Repeat("x", 700) + ".log"
	files := []file{{"mdbdata/priv.edb", []byte("p")}, {`mdbdata\logs\edb00001.log`, []byte("l")}, {"restore.env", []byte("e")}, {"mdbdata/" + long, []byte("long")}}
	writeSet(t, tp, SetOptions{}, "Microsoft Information Store", files)
	s, err := tp.Set(1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"mdbdata/priv.edb", "mdbdata/logs/edb00001.log", "restore.env", "mdbdata/" + long}
	for i, e := range s.Entries {
		if e.Path != want[i] {
			t.Errorf("entry %d: %q", i, e.Path)
		}
		got, err := readEntry(t, tp, e, ReadOptions{})
		if err != nil || !bytes.Equal(got, files[i].data) {
			t.Errorf("%s: %v", e.Path, err)
		}
	}
	if _, err := tp.Set(5); !errors.Is(err, ErrNoSet) {
		t.Fatalf("set 5: %v", err)
	}
}

func TestForeignTapeThroughTape(t *testing.T) {
	tp, err := Open("mtf/testdata/foreign-2001.bkf")
	if err != nil {
		t.Fatal(err)
	}
	sets, err := tp.Sets()
	if err != nil || len(sets) != 2 {
		t.Fatalf("%v %d", err, len(sets))
	}
	for _, s := range sets {
		if s.State != SetComplete || s.Exbackup || s.Type != Normal || s.Owner != `HOST\Administrator` ||
			s.Files != 2 || s.Bytes != 17+3001 || s.Volumes[0].Device != "C:" || s.Volumes[0].Machine != "HOST" {
			t.Fatalf("%+v", s)
		}
		got, err := readEntry(t, tp, s.Entries[0], ReadOptions{})
		if err != nil || string(got) != "Hello from set "+string(rune('0'+s.Number))+"\n" {
			t.Fatalf("%q %v", got, err)
		}
		if _, err := tp.Verify(context.Background(), s.Number, VerifyOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMetadataFlipDetected flips a byte of a file name: the MTF checksums do
// not cover it, the set's EXBM digest does.
func TestMetadataFlipDetected(t *testing.T) {
	l := newLibrary(t)
	tp, _ := l.Create("meta", CreateOptions{})
	writeSet(t, tp, SetOptions{}, "Microsoft Information Store", []file{{"priv.edb", []byte("data")}})
	b, _ := os.ReadFile(tp.Path())
	name := mtf.EncodeString("priv.edb", mtf.StringUTF16)
	at := bytes.Index(b, name)
	b[at] = 'q'
	os.WriteFile(tp.Path(), b, 0o644)
	sets, _ := tp.Sets()
	var fe *mtf.FormatError
	if sets[0].State != SetDamaged || !errors.Is(sets[0].Err, mtf.ErrDigest) || !errors.As(sets[0].Err, &fe) || fe.Set != 1 || fe.Block != "ESET" {
		t.Fatalf("%s: %v", sets[0].State, sets[0].Err)
	}
	if _, err := tp.Verify(context.Background(), 1, VerifyOptions{}); err == nil {
		t.Fatal("verify passed")
	}
}

func TestAppendToForeignTape(t *testing.T) {
	data, err := os.ReadFile("mtf/testdata/foreign-2001.bkf")
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/foreign.bkf"
	os.WriteFile(path, data, 0o644)
	tp, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s := writeSet(t, tp, SetOptions{Created: when}, "Microsoft Directory", []file{{"dir.edb", []byte("ds")}})
	sets, err := tp.Sets()
	if err != nil || s.Number != 3 || len(sets) != 3 {
		t.Fatalf("%v: set %d, %d sets", err, s.Number, len(sets))
	}
	for _, s := range sets {
		if s.State != SetComplete {
			t.Fatalf("set %d %s: %v", s.Number, s.State, s.Err)
		}
	}
	if !bytes.Equal(mustRead(t, path)[:len(data)], data) {
		t.Fatal("the foreign sets were touched")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
