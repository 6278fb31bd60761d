package tape

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileName(t *testing.T) {
	cases := map[string]string{
		"Tape created on 11/25/2026": "Tape created on 11%2F25%2F2026.bkf",
		"weekly":                     "weekly.bkf",
		"a:b*c?":                     "a%3Ab%2Ac%3F.bkf",
		"100%":                       "100%25.bkf",
		" lead.":                     "%20lead%2E.bkf",
		"CON":                        "%43ON.bkf",
		"nul.txt":                    "%6Eul.txt.bkf",
		"Bänder":                     "Bänder.bkf",
		"":                           "%00.bkf",
	}
	for name, want := range cases {
		got := FileName(name)
		if got != want {
			t.Errorf("FileName(%q) = %q, want %q", name, got, want)
		}
		if name != "" && NameFromFile(got) != name {
			t.Errorf("NameFromFile(%q) = %q, want %q", got, NameFromFile(got), name)
		}
	}
	long := strings.Repeat("é/", 300)
	if f := FileName(long); len(f) > 255 || !strings.HasSuffix(f, Ext) || f == FileName(long+"x") {
		t.Errorf("long name → %q", f)
	}
	// Distinct names never share a file.
	if FileName("a/b") == FileName("a_b") || FileName("a%2Fb") == FileName("a/b") {
		t.Error("collision")
	}
}

func TestLibrary(t *testing.T) {
	l := newLibrary(t)
	names := []string{"Tape created on 11/25/2026", "weekly: disk?", "CON"}
	for _, n := range names {
		if _, err := l.Create(n, CreateOptions{Created: when}); err != nil {
			t.Fatal(err)
		}
	}
	// Junk that is not a tape is listed with its error; temp files are not.
	os.WriteFile(filepath.Join(l.Dir(), "junk.bkf"), []byte("not a tape"), 0o644)
	os.WriteFile(filepath.Join(l.Dir(), ".new-123.bkf"), nil, 0o644)
	list, err := l.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 {
		t.Fatalf("%d tapes: %+v", len(list), list)
	}
	for _, i := range list {
		if i.Name == "junk" {
			if i.Err == nil {
				t.Error("junk listed as a tape")
			}
			continue
		}
		if i.Err != nil || i.FLBSize != 1024 || i.Sequence != 1 {
			t.Errorf("%+v", i)
		}
	}
	tp, err := l.Open("weekly: disk?")
	if err != nil || tp.Info().Name != "weekly: disk?" {
		t.Fatalf("%v %+v", err, tp)
	}
	// Replace keeps the name, draws a new family, drops the sets.
	writeSet(t, tp, SetOptions{Created: when}, "Microsoft Directory", []file{{"dir.edb", []byte("x")}})
	fam := tp.Info().FamilyID
	tp2, err := l.Create("weekly: disk?", CreateOptions{Created: when})
	if err != nil {
		t.Fatal(err)
	}
	if sets, _ := tp2.Sets(); len(sets) != 0 || tp2.Info().FamilyID == fam {
		t.Fatalf("replace kept %d sets, family %x", len(sets), tp2.Info().FamilyID)
	}
	if err := l.Erase("weekly: disk?"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Open("weekly: disk?"); !errors.Is(err, ErrNoTape) {
		t.Fatalf("open after erase: %v", err)
	}
	if err := l.Erase("nothing"); !errors.Is(err, ErrNoTape) {
		t.Fatalf("erase of nothing: %v", err)
	}
	// A .bkf copied in under another file name opens by its tape name.
	data, _ := os.ReadFile("mtf/testdata/foreign-2001.bkf")
	os.WriteFile(filepath.Join(l.Dir(), "copied.bkf"), data, 0o644)
	ft, err := l.Open("Tape created 7/14/2001")
	if err != nil {
		t.Fatal(err)
	}
	if ft.Info().FamilyID != 0x1234ABCD {
		t.Fatalf("%+v", ft.Info())
	}
}

func TestBusy(t *testing.T) {
	l := newLibrary(t)
	tp, _ := l.Create("busy", CreateOptions{})
	w, err := tp.AppendSet(SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.AppendSet(SetOptions{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second writer: %v", err)
	}
	if _, err := l.Create("busy", CreateOptions{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("replace while writing: %v", err)
	}
	if err := l.Erase("busy"); !errors.Is(err, ErrBusy) {
		t.Fatalf("erase while writing: %v", err)
	}
	w.Abort()
	w2, err := tp.AppendSet(SetOptions{})
	if err != nil {
		t.Fatalf("after abort: %v", err)
	}
	w2.Abort()
}
