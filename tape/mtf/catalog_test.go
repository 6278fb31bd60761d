package mtf_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"exbackup/tape/mtf"
	"exbackup/tape/mtf/mtftest"
)

var catWhen = time.Date(2004, 2, 3, 4, 5, 6, 0, time.UTC)

// catalogTape builds two sets, each closed with a type 1 media based
// catalog as the specification lays it out.
func catalogTape(t testing.TB) []byte {
	b := mtftest.New().WithCatalog()
	b.Tape(mtf.TapeHeader{MediaFamilyID: 77, MediaName: "MBC", CatalogType: mtf.CatalogType1})
	var sm []mtf.SetMapEntry
	for n := uint16(1); n <= 2; n++ {
		b.Block(&mtf.StartSet{Attributes: mtf.SetNormal, Number: n, Name: "Set", Description: "with catalog", UserName: "HOST\\Admin", WriteDate: catWhen})
		b.Block(&mtf.Volume{Attributes: mtf.VolumeDriveLetter, Device: "D:", Machine: "HOST", WriteDate: catWhen})
		b.Block(&mtf.Directory{ID: 1, Name: mtf.DirName(nil), Modified: catWhen})
		b.Block(&mtf.Directory{ID: 2, Name: mtf.DirName([]string{"Data", "Sub"}), Modified: catWhen})
		for i, body := range []string{"one", "second file", "third"} {
			b.BlockHeader(mtf.Header{DisplayableSize: uint64(len(body))}, &mtf.File{DirectoryID: 2, ID: uint32(i + 1), Name: body + ".txt", Modified: catWhen}, mtftest.Data([]byte(body)))
		}
		b.Filemark()
		sm = b.EndSetCatalog(mtf.EndSet{Attributes: mtf.SetNormal, Number: n, WriteDate: catWhen}, 77, sm)
		b.Filemark()
	}
	return b.Bytes()
}

func TestCatalogMatchesScan(t *testing.T) {
	raw := catalogTape(t)
	r, err := mtf.NewReader(bytes.NewReader(raw), int64(len(raw)), "MBC")
	if err != nil {
		t.Fatal(err)
	}
	scan, err := r.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if len(scan.Problems) != 0 || len(scan.Sets) != 2 {
		t.Fatalf("scan: %d sets, problems %v", len(scan.Sets), scan.Problems)
	}
	for _, s := range scan.Sets {
		if s.Err != nil || s.CatalogEnd == nil || s.CatalogEnd.FDDPBA == 0 {
			t.Fatalf("set %d: err %v, catalog end %+v", s.Start.Number, s.Err, s.CatalogEnd)
		}
	}
	if ap := scan.AppendPoint(); ap.Offset != int64(len(raw)) || ap.Number != 3 || ap.NeedFilemark {
		t.Errorf("append point %+v, tape of %d bytes", ap, len(raw))
	}
	cat, err := r.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if !cat.FromCatalog || len(cat.Sets) != 2 {
		t.Fatalf("catalog: %+v", cat)
	}
	for i, s := range cat.Sets {
		w := scan.Sets[i]
		if s.Offset != w.Offset || s.Start.Number != w.Start.Number || s.Start.Name != w.Start.Name ||
			s.Start.Description != w.Start.Description || !s.Start.WriteDate.Equal(w.Start.WriteDate) || s.End == nil {
			t.Errorf("set %d: %+v, scan %+v", i+1, s.Start, w.Start)
		}
		if len(s.Volumes) != 1 || s.Volumes[0].Device != "D:" || s.Volumes[0].Offset != w.Volumes[0].Offset {
			t.Errorf("set %d volumes %+v", i+1, s.Volumes)
		}
		if len(s.Files) != len(w.Files) || len(s.Dirs) != len(w.Dirs) {
			t.Fatalf("set %d: %d files %d dirs, scan %d %d", i+1, len(s.Files), len(s.Dirs), len(w.Files), len(w.Dirs))
		}
		for j, f := range s.Files {
			g := w.Files[j]
			if f.Path() != g.Path() || f.Size != g.Size || f.FLA != g.FLA || f.Block.Offset != g.Block.Offset || !f.Modified().Equal(g.Modified()) {
				t.Errorf("set %d: %s %d %d, scan %s %d %d", i+1, f.Path(), f.Size, f.FLA, g.Path(), g.Size, g.FLA)
			}
			// The catalog's offset leads to the file's block.
			b, err := r.ReadBlockAt(f.Block.Offset)
			if err != nil || b.Name != f.Name {
				t.Errorf("%s: block at %d is %v %v", f.Path(), f.Block.Offset, b, err)
			}
		}
	}
}

func TestCatalogAbsentOrDamaged(t *testing.T) {
	fix := mtftest.New()
	fix.Tape(mtf.TapeHeader{MediaName: "plain"})
	raw := fix.Bytes()
	r, _ := mtf.NewReader(bytes.NewReader(raw), int64(len(raw)), "plain")
	if _, err := r.Catalog(); !errors.Is(err, mtf.ErrNoCatalog) {
		t.Errorf("no catalog: %v", err)
	}
	raw = catalogTape(t)
	// Damage the last set map's first entry length.
	c, _ := mtf.NewReader(bytes.NewReader(raw), int64(len(raw)), "MBC")
	scan, _ := c.Scan()
	smAt := int64(scan.Sets[1].CatalogEnd.SetMapPBA)*1024 + mtf.StreamHeaderSize
	raw[smAt+8] = 0xff
	raw[smAt+9] = 0xff
	c, _ = mtf.NewReader(bytes.NewReader(raw), int64(len(raw)), "MBC")
	if _, err := c.Catalog(); err == nil {
		t.Errorf("a damaged set map was read")
	}
}

func FuzzDecodeFDD(f *testing.F) {
	var cb mtf.CatalogBuilder
	cb.Add(mtf.Header{FLA: 1}, &mtf.Volume{Device: "C:"})
	cb.Add(mtf.Header{FLA: 2}, &mtf.Directory{Name: mtf.DirName([]string{"a"})})
	cb.Add(mtf.Header{FLA: 3, DisplayableSize: 9}, &mtf.File{Name: "x"})
	f.Add(cb.FDD(0, 1024))
	f.Add([]byte{36, 0, 'F', 'E', 'N', 'D'})
	f.Fuzz(func(t *testing.T, b []byte) {
		es, _ := mtf.DecodeFDD(b)
		if len(es) > len(b)/36 {
			t.Fatalf("%d entries from %d bytes", len(es), len(b))
		}
	})
}

func FuzzDecodeSetMap(f *testing.F) {
	var cb mtf.CatalogBuilder
	cb.Add(mtf.Header{FLA: 1}, &mtf.Volume{Device: "C:", Machine: "M"})
	e := cb.Entry(&mtf.StartSet{Number: 1, Name: "n"}, mtf.Header{}, 0, 5)
	f.Add(mtf.EncodeSetMap(&mtf.SetMap{FamilyID: 1, Sets: []mtf.SetMapEntry{e, e}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := mtf.DecodeSetMap(b)
		if err == nil && len(m.Sets) > len(b)/91 {
			t.Fatalf("%d sets from %d bytes", len(m.Sets), len(b))
		}
	})
}

// FuzzReadCatalog reads arbitrary tapes through their catalog: the set map
// and details are found by offsets the tape itself gives.
func FuzzReadCatalog(f *testing.F) {
	f.Add(catalogTape(f))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := mtf.NewReader(bytes.NewReader(raw), int64(len(raw)), "fuzz")
		if err != nil {
			return
		}
		c, err := r.Catalog()
		if err == nil && len(c.Sets) > len(raw)/91 {
			t.Fatalf("%d sets from %d bytes", len(c.Sets), len(raw))
		}
	})
}
