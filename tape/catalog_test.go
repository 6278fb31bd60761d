package tape

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"exbackup/tape/mtf"
	"exbackup/tape/mtf/mtftest"

	"filippo.io/age"
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
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	writeSet(t, tp, SetOptions{Created: when, Owner: "admin@console", Restricted: true, Encrypt: []age.Recipient{id.Recipient()},
		Properties: map[string]string{"restore-env": `{"store":"IS"}`}}, "Microsoft Information Store", storeFiles()[1:3])
	quick, err := tp.QuickScan()
	if err != nil || !quick.FromCatalog || quick.Fallback != nil {
		t.Fatalf("quick scan: %v, from catalog %v, fallback %v", err, quick.FromCatalog, quick.Fallback)
	}
	full, _ := tp.Scan()
	if len(quick.Sets) != 3 || len(full.Sets) != 3 || len(full.Problems) != 0 {
		t.Fatalf("%d and %d sets, problems %v", len(quick.Sets), len(full.Sets), full.Problems)
	}
	// Everything the blocks tell, digests, owner, properties and
	// encryption included, the catalog and its digest table tell.
	for i := range full.Sets {
		q, f := quick.Sets[i], full.Sets[i]
		if f.State != SetComplete || f.Entries[0].Hash.IsZero() || !reflect.DeepEqual(q, f) {
			t.Errorf("set %d: catalog\n%+v\nblocks\n%+v", i+1, q, f)
		}
	}
	if !quick.Sets[2].Encrypted || !quick.Sets[2].Restricted || quick.Sets[2].Recipients != 1 {
		t.Errorf("encrypted set from the catalog: %+v", quick.Sets[2])
	}
	if errs, err := tp.VerifyCatalog(); err != nil || len(errs) != 0 {
		t.Errorf("verify catalog: %v %v", errs, err)
	}
	for n := 1; n <= 2; n++ { // set 3 needs its key
		if _, err := tp.Verify(context.Background(), n, VerifyOptions{}); err != nil {
			t.Errorf("verify set %d: %v", n, err)
		}
	}
}

// A tape of exbackup's whose digest table is missing (written before it
// came) or does not check out is read from its blocks, saying why; one
// whose table lies about a file's digests is caught by Verify.
func TestQuickScanFallsBackToBlocks(t *testing.T) {
	old := filepath.Join(t.TempDir(), "old.bkf")
	raw, err := os.ReadFile("mtf/testdata/own-2026-nodigests.bkf")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(old, raw, 0o644)
	tp, err := Open(old)
	if err != nil {
		t.Fatal(err)
	}
	quick, err := tp.QuickScan()
	if err != nil || quick.FromCatalog || !errors.Is(quick.Fallback, mtf.ErrNoDigestTable) || len(quick.Sets) != 2 || quick.Sets[1].Entries[0].Hash.IsZero() {
		t.Fatalf("tape without digest tables: %v, from catalog %v, fallback %v", err, quick.FromCatalog, quick.Fallback)
	}
	if errs, err := tp.VerifyCatalog(); err != nil || len(errs) != 0 {
		t.Errorf("verify catalog of a tape without digest tables: %v %v", errs, err)
	}

	l := newLibrary(t)
	tp, err = l.Create("own", CreateOptions{Created: when})
	if err != nil {
		t.Fatal(err)
	}
	writeSet(t, tp, SetOptions{Created: when}, "Microsoft Information Store", storeFiles())
	writeSet(t, tp, SetOptions{Created: when}, "Microsoft Directory", storeFiles()[:1])
	clean, _ := os.ReadFile(tp.Path())
	exbc := bytes.Index(clean, []byte(mtf.StreamCatalogDigests))
	damaged := bytes.Clone(clean)
	damaged[exbc+mtf.StreamHeaderSize+100] ^= 1
	os.WriteFile(tp.Path(), damaged, 0o644)
	quick, err = tp.QuickScan()
	if err != nil || quick.FromCatalog || quick.Fallback == nil || !strings.Contains(quick.Fallback.Error(), "set 1") || len(quick.Sets) != 2 {
		t.Fatalf("damaged digest table: %v, from catalog %v, fallback %v", err, quick.FromCatalog, quick.Fallback)
	}
	// The set's EXBM digest covers the table: read from its blocks the set
	// is damaged, and Verify says so.
	if quick.Sets[0].State != SetDamaged || quick.Sets[1].State != SetComplete {
		t.Errorf("damaged digest table: sets %v and %v", quick.Sets[0].State, quick.Sets[1].State)
	}
	if _, err := tp.Verify(context.Background(), 1, VerifyOptions{}); err == nil || !strings.Contains(err.Error(), "metadata digest") {
		t.Errorf("verify of a set whose digest table is damaged: %v", err)
	}

	// A table whose entry for pub.edb has another CRC-32C than its FILE
	// block: Verify's comparison of catalog and blocks names the file.
	os.WriteFile(tp.Path(), clean, 0o644)
	f, _ := os.Open(tp.Path())
	defer f.Close()
	st, _ := f.Stat()
	r, _ := mtf.NewReader(f, st.Size(), "own")
	cat, err := r.Catalog()
	if err != nil || cat.Sets[0].DigestsErr != nil {
		t.Fatalf("catalog: %v", err)
	}
	scan, _ := r.Scan()
	if errs := compareCatalog("own", cat, scan, 1); len(errs) != 0 {
		t.Fatalf("a sound table: %v", errs)
	}
	cat.Sets[0].Files[1].Block.Hash.CRC32C++
	errs := compareCatalog("own", cat, scan, 0)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `set 1: media based catalog: file "pub.edb": its digest table entry differs`) {
		t.Errorf("a table that lies: %v", errs)
	}
	if _, err := tp.Verify(context.Background(), 2, VerifyOptions{}); err != nil {
		t.Errorf("set 2 is sound: %v", err)
	}
}
