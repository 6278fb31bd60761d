package tape

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"exbackup/tape/mtf"
	"exbackup/tape/mtf/mtftest"
)

func writeCatalogTape(t *testing.T) (string, []byte) {
	t.Helper()
	when := time.Date(2004, 2, 3, 4, 5, 6, 0, time.UTC)
	b := mtftest.New().WithCatalog()
	b.Tape(mtf.TapeHeader{MediaFamilyID: 77, MediaName: "MBC", CatalogType: mtf.CatalogType1})
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

func TestQuickScanUsesCatalog(t *testing.T) {
	p, _ := writeCatalogTape(t)
	tp, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	quick, err := tp.QuickScan()
	if err != nil || !quick.FromCatalog {
		t.Fatalf("quick scan: %v, from catalog %v", err, quick.FromCatalog)
	}
	full, err := tp.Scan()
	if err != nil || full.FromCatalog {
		t.Fatal(err)
	}
	if len(quick.Sets) != 2 || len(full.Sets) != 2 {
		t.Fatalf("%d and %d sets", len(quick.Sets), len(full.Sets))
	}
	for i := range quick.Sets {
		q, f := quick.Sets[i], full.Sets[i]
		if q.Number != f.Number || q.State != SetComplete || q.Files != f.Files || q.Bytes != f.Bytes || q.Offset != f.Offset {
			t.Errorf("set %d: catalog %+v, blocks %+v", i+1, q, f)
		}
		for j := range q.Entries {
			if q.Entries[j].Path != f.Entries[j].Path || q.Entries[j].Offset != f.Entries[j].Offset || q.Entries[j].Size != f.Entries[j].Size {
				t.Errorf("entry %+v vs %+v", q.Entries[j], f.Entries[j])
			}
		}
	}
	// What the catalog lists opens and extracts.
	r, err := tp.OpenEntry(quick.Sets[1].Entries[1], ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil || buf.String() != "bravo charlie" {
		t.Errorf("entry from the catalog reads %q, %v", buf.String(), err)
	}
	r.Close()
	tr, err := tp.QuickTree(2)
	if err != nil {
		t.Fatal(err)
	}
	kids, err := tr.Browse("D:/Data")
	if err != nil || len(kids) != 2 || kids[1].Name != "bravo.txt" || kids[1].Size != 13 {
		t.Fatalf("browse from the catalog: %+v %v", kids, err)
	}
	dest := t.TempDir()
	if _, err := tp.ExtractTree(context.Background(), tr, dest, nil, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "D", "Data", "bravo.txt")); string(got) != "bravo charlie" {
		t.Errorf("extracted %q", got)
	}
	if errs, err := tp.VerifyCatalog(); err != nil || len(errs) != 0 {
		t.Errorf("verify catalog: %v %v", errs, err)
	}
	if _, err := tp.Verify(context.Background(), 1, VerifyOptions{}); err != nil {
		t.Errorf("verify: %v", err)
	}
}

func TestVerifyFindsCatalogMismatch(t *testing.T) {
	p, raw := writeCatalogTape(t)
	name := mtftest.UTF16("alpha.txt")
	first := bytes.Index(raw, name)
	second := first + 1 + bytes.Index(raw[first+1:], name) // set 1's detail
	copy(raw[second:], mtftest.UTF16("ALPHA.txt"))
	os.WriteFile(p, raw, 0o644)
	tp, _ := Open(p)
	errs, err := tp.VerifyCatalog()
	if err != nil || len(errs) != 1 || !strings.Contains(errs[0].Error(), "ALPHA.txt") || !strings.Contains(errs[0].Error(), "set 1") {
		t.Fatalf("verify catalog: %v %v", errs, err)
	}
	rep, err := tp.Verify(context.Background(), 1, VerifyOptions{})
	if err == nil || len(rep.Failed) != 1 {
		t.Errorf("verify of a set whose catalog lies: %v %+v", err, rep)
	}
	if _, err := tp.Verify(context.Background(), 2, VerifyOptions{}); err != nil {
		t.Errorf("set 2 is sound: %v", err)
	}
}

// Each set exbackup writes ends with a media based catalog covering the
// family so far: listing it from the catalog gives what the blocks give,
// and appending keeps the earlier sets in the set map.
func TestOwnSetsCarryCatalog(t *testing.T) {
	l := newLibrary(t)
	tp, err := l.Create("own", CreateOptions{Created: when})
	if err != nil {
		t.Fatal(err)
	}
	writeSet(t, tp, SetOptions{Created: when, Description: "first"}, "Microsoft Directory", []file{{"dir.edb", randomBytes(1, 3000)}})
	writeSet(t, tp, SetOptions{Created: when, Description: "second"}, "Microsoft Information Store", storeFiles())
	quick, err := tp.QuickScan()
	if err != nil || !quick.FromCatalog {
		t.Fatalf("quick scan: %v %v", err, quick.FromCatalog)
	}
	full, _ := tp.Scan()
	if len(quick.Sets) != 2 || len(full.Sets) != 2 || len(full.Problems) != 0 {
		t.Fatalf("%d and %d sets, problems %v", len(quick.Sets), len(full.Sets), full.Problems)
	}
	for i := range full.Sets {
		q, f := quick.Sets[i], full.Sets[i]
		if f.State != SetComplete || q.Description != f.Description || q.Files != f.Files || q.Bytes != f.Bytes || q.Volumes[0] != f.Volumes[0] {
			t.Errorf("set %d: catalog %+v, blocks %+v", i+1, q, f)
		}
		for j := range f.Entries {
			if q.Entries[j].Path != f.Entries[j].Path || q.Entries[j].Offset != f.Entries[j].Offset {
				t.Errorf("set %d: %+v vs %+v", i+1, q.Entries[j], f.Entries[j])
			}
		}
	}
	if errs, err := tp.VerifyCatalog(); err != nil || len(errs) != 0 {
		t.Errorf("verify catalog: %v %v", errs, err)
	}
	for n := 1; n <= 2; n++ {
		if _, err := tp.Verify(context.Background(), n, VerifyOptions{}); err != nil {
			t.Errorf("verify set %d: %v", n, err)
		}
	}
}
