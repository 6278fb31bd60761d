package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"exbackup/catalog"
	"exbackup/tape"
	"exbackup/tape/mtf"
	"exbackup/tape/mtf/mtftest"
)

// writeForeignMBC writes another program's tape that ends each set with a
// media based catalog.
func writeForeignMBC(t *testing.T) (string, []byte) {
	t.Helper()
	when := time.Date(2004, 2, 3, 4, 5, 6, 0, time.UTC)
	b := mtftest.New().WithCatalog()
	b.Tape(mtf.TapeHeader{MediaFamilyID: 77, MediaName: "MBC", SoftwareName: "Backup Exec", CatalogType: mtf.CatalogType1})
	var sm []mtf.SetMapEntry
	for n := uint16(1); n <= 2; n++ {
		b.Block(&mtf.StartSet{Attributes: mtf.SetNormal, Number: n, Name: "Set", WriteDate: when})
		b.Block(&mtf.Volume{Attributes: mtf.VolumeDriveLetter, Device: "D:", Machine: "HOST", WriteDate: when})
		b.Block(&mtf.Directory{ID: 1, Name: mtf.DirName(nil), Modified: when})
		b.Block(&mtf.Directory{ID: 2, Name: mtf.DirName([]string{"Data"}), Modified: when})
		for i, body := range []string{"alpha", "bravo charlie"} {
			b.BlockHeader(mtf.Header{DisplayableSize: uint64(len(body))}, &mtf.File{DirectoryID: 2, ID: uint32(i + 1), Name: body[:5] + ".txt", Modified: when}, mtftest.Data([]byte(body)))
		}
		b.Filemark()
		sm = b.EndSetCatalog(mtf.EndSet{Attributes: mtf.SetNormal, Number: n, WriteDate: when}, 77, sm)
		b.Filemark()
	}
	p := filepath.Join(t.TempDir(), "mbc.bkf")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b.Bytes()
}

// Cataloging a tape with a media based catalog reads the catalog, and
// records what reading every block would have recorded.
func TestCatalogFromMediaBasedCatalog(t *testing.T) {
	p, _ := writeForeignMBC(t)
	tp, err := tape.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	sets, fromCatalog, _, err := listForCatalog(fileTape{tp})
	if err != nil || !fromCatalog {
		t.Fatalf("listForCatalog: from catalog %v, %v", fromCatalog, err)
	}
	full, err := tp.Sets()
	if err != nil || len(full) != len(sets) {
		t.Fatalf("%d sets from blocks, %d from the catalog: %v", len(full), len(sets), err)
	}
	for i := range full {
		q, f := setRecord(sets[i]), setRecord(full[i])
		if !reflect.DeepEqual(q, f) {
			t.Errorf("set %d: from the catalog\n%+v\nfrom the blocks\n%+v", i+1, q, f)
		}
	}

	e, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	pr := NewProgress("Catalog")
	if err := e.CatalogTape(context.Background(), p, pr); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Join(pr.Lines(), "\n"); !strings.Contains(lines, "media based catalog") || !strings.Contains(lines, "Cataloged 2 sets.") {
		t.Errorf("catalog log:\n%s", lines)
	}
	if _, err := e.Verify(context.Background(), VerifyRequest{Tape: "MBC"}, NewProgress("Verify")); err != nil {
		t.Errorf("verify of a sound tape: %v", err)
	}
}

// Verify reports where the media based catalog differs from the data.
func TestVerifyReportsCatalogDifference(t *testing.T) {
	p, raw := writeForeignMBC(t)
	name := mtftest.UTF16("alpha.txt")
	first := bytes.Index(raw, name)
	second := first + 1 + bytes.Index(raw[first+1:], name) // in set 1's catalog
	copy(raw[second:], mtftest.UTF16("ALPHA.txt"))
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.CatalogTape(context.Background(), p, NewProgress("Catalog")); err != nil {
		t.Fatal(err)
	}
	_, err = e.Verify(context.Background(), VerifyRequest{Tape: "MBC"}, NewProgress("Verify"))
	if err == nil || !strings.Contains(err.Error(), "media based catalog") || !strings.Contains(err.Error(), "ALPHA.txt") || !strings.Contains(err.Error(), "set 1") {
		t.Fatalf("verify: %v", err)
	}
}

// writeOwnMBC writes a tape of two sets as exbackup's backups do, each
// ending with its media based catalog and digest table.
func writeOwnMBC(t *testing.T) string {
	t.Helper()
	lib, err := tape.OpenLibrary(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	tp, err := lib.Create("Own", tape.CreateOptions{Created: when})
	if err != nil {
		t.Fatal(err)
	}
	env := `{"organization":"First Organization","site":"Redmond","server":"EXCH01","store":"IS","type":"normal","lowGen":1,"highGen":2}`
	for n, store := range []string{"Microsoft Information Store", "Microsoft Directory"} {
		w, err := tp.AppendSet(tape.SetOptions{Created: when, Owner: "admin@console", Properties: map[string]string{envProperty: env}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.BeginVolume(`\\EXCH01\`+store, "EXCH01"); err != nil {
			t.Fatal(err)
		}
		for i, name := range []string{"priv.edb", "edb00001.log", "edb00002.log"} {
			body := bytes.Repeat([]byte{byte(n*3 + i)}, 1000*(i+1))
			if _, err := w.AddFile(name, int64(len(body)), when, bytes.NewReader(body)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.End(); err != nil {
			t.Fatal(err)
		}
	}
	return tp.Path()
}

// Cataloging one of exbackup's own tapes reads its media based catalog
// and digest tables, and records what reading every block would have
// recorded, the files' digests included.
func TestCatalogOwnTapeFromItsCatalog(t *testing.T) {
	p := writeOwnMBC(t)
	tp, err := tape.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	sets, fromCatalog, fallback, err := listForCatalog(fileTape{tp})
	if err != nil || !fromCatalog || fallback != nil {
		t.Fatalf("listForCatalog: from catalog %v, fallback %v, %v", fromCatalog, fallback, err)
	}
	full, err := tp.Sets()
	if err != nil || len(full) != 2 || len(sets) != 2 {
		t.Fatalf("%d sets from blocks, %d from the catalog: %v", len(full), len(sets), err)
	}
	for i := range full {
		q, f := setRecord(sets[i]), setRecord(full[i])
		if !reflect.DeepEqual(q, f) || f.Entries[0].Hash == "" || f.Set.Server != "EXCH01" {
			t.Errorf("set %d: from the catalog\n%+v\nfrom the blocks\n%+v", i+1, q, f)
		}
	}
	e, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	pr := NewProgress("Catalog")
	if err := e.CatalogTape(context.Background(), p, pr); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Join(pr.Lines(), "\n"); !strings.Contains(lines, "Read from the tape's media based catalog") || strings.Contains(lines, "Read from the tape's blocks") {
		t.Errorf("catalog log:\n%s", lines)
	}
	if _, err := e.Verify(context.Background(), VerifyRequest{Tape: "Own"}, NewProgress("Verify")); err != nil {
		t.Errorf("verify of a sound tape: %v", err)
	}
}

// A tape of exbackup's without digest tables (written before they came),
// or with one damaged, is cataloged from its blocks, and the log says why
// in one line.
func TestCatalogOwnTapeFallsBackToBlocks(t *testing.T) {
	raw, err := os.ReadFile("../tape/mtf/testdata/own-2026-nodigests.bkf")
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(t.TempDir(), "old.bkf")
	os.WriteFile(old, raw, 0o644)
	damaged := writeOwnMBC(t)
	raw, _ = os.ReadFile(damaged)
	raw[bytes.Index(raw, []byte(mtf.StreamCatalogDigests))+mtf.StreamHeaderSize+90] ^= 4
	os.WriteFile(damaged, raw, 0o644)
	for _, c := range []struct {
		path, why string
		complete  int
	}{
		{old, "no digest table", 2},
		{damaged, "EXBC stream digest", 1},
	} {
		e, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		pr := NewProgress("Catalog")
		if err := e.CatalogTape(context.Background(), c.path, pr); err != nil {
			t.Fatal(err)
		}
		var why []string
		for _, l := range pr.Lines() {
			if strings.Contains(l, "Read from the tape's") {
				why = append(why, l)
			}
		}
		if len(why) != 1 || !strings.Contains(why[0], "Read from the tape's blocks, not its media based catalog: ") || !strings.Contains(why[0], c.why) || !strings.Contains(why[0], "set 1") {
			t.Errorf("%s: catalog log:\n%s", filepath.Base(c.path), strings.Join(pr.Lines(), "\n"))
		}
		tapes, _ := e.cat.Tapes()
		sets, _ := e.cat.Sets(tapes[0].ID)
		complete := 0
		for _, s := range sets {
			if s.State == catalog.StateComplete {
				complete++
			}
			ents, _ := e.cat.(*catalog.Catalog).Entries(s.ID)
			if len(ents) != 3 || ents[0].Hash == "" {
				t.Errorf("%s: set %d recorded with %+v", filepath.Base(c.path), s.Number, ents)
			}
		}
		if len(sets) != 2 || complete != c.complete {
			t.Errorf("%s: %d sets, %d complete", filepath.Base(c.path), len(sets), complete)
		}
		e.Close()
	}
}
