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
