package mtf

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// longName does not fit a FILE block: it goes into an FNAM stream.
var longName = strings.Repeat("n", 600) + ".log"

// buildCatalogTape writes, as a backup does, two exbackup sets each ending
// with its media based catalog and digest table; set 2 has a folder and a
// file whose names live in streams.
func buildCatalogTape(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, 0, WriterOptions{BufferSize: 4096, Catalog: true, FamilyID: 0xCAFE, MediaSequence: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTape(&TapeHeader{MediaFamilyID: 0xCAFE, MediaName: "Tape created on 11/25/2026", SoftwareName: "exbackup", MediaDate: when, CatalogType: CatalogType1}); err != nil {
		t.Fatal(err)
	}
	appendSet(t, w, 1, []testFile{{"priv.edb", bytes.Repeat([]byte("priv"), 3000)}, {"pub.edb", []byte("public")}, {"empty.log", nil}})
	if _, err := w.BeginSet(&StartSet{Attributes: SetCopy, Number: 2, Name: "second", UserName: "admin@console", WriteDate: when},
		&SetInfo{Properties: map[string]string{"restore-env": `{"store":"IS"}`}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteBlock(&Volume{Attributes: VolumeUNC, Device: `\\EXCH01\Microsoft Directory`, Machine: "EXCH01", WriteDate: when}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteBlock(&Directory{ID: 1, Name: DirName([]string{strings.Repeat("d", 700)}), Backup: when}); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"dir.edb", longName} {
		data := bytes.Repeat([]byte{byte(i + 1)}, 5000*(i+1))
		if _, _, err := w.WriteFile(&File{DirectoryID: 1, ID: uint32(i + 1), Name: name, Modified: when}, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.EndSet(&EndSet{WriteDate: when}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The catalog of exbackup's sets lists each file with the digests its
// FILE block carries, and the SSET's streams, as a walk does.
func TestCatalogCarriesDigests(t *testing.T) {
	raw := buildCatalogTape(t)
	r := openBytes(t, raw)
	scan, err := r.Scan()
	if err != nil || len(scan.Problems) != 0 || len(scan.Sets) != 2 {
		t.Fatalf("scan: %v %v", err, scan.Problems)
	}
	cat, err := r.Catalog()
	if err != nil || len(cat.Sets) != 2 {
		t.Fatalf("catalog: %v", err)
	}
	for i, c := range cat.Sets {
		w := scan.Sets[i]
		if w.Err != nil || c.DigestsErr != nil {
			t.Fatalf("set %d: walk %v, catalog %v", i+1, w.Err, c.DigestsErr)
		}
		if c.Info == nil || c.Info.Restricted != w.Info.Restricted || len(c.Info.Properties) != len(w.Info.Properties) || c.Start.Name != w.Start.Name || c.Start.Attributes != w.Start.Attributes {
			t.Errorf("set %d: catalog SSET %+v %+v, walk %+v %+v", i+1, c.Start, c.Info, w.Start, w.Info)
		}
		if len(c.Files) != len(w.Files) {
			t.Fatalf("set %d: %d files listed, %d on tape", i+1, len(c.Files), len(w.Files))
		}
		for j, f := range c.Files {
			g := w.Files[j]
			if f.Path() != g.Path() || f.Block.Hash == nil || *f.Block.Hash != *g.Block.Hash {
				t.Errorf("set %d: %.40s %+v, walk %.40s %+v", i+1, f.Path(), f.Block.Hash, g.Path(), g.Block.Hash)
			}
		}
	}
	if p := cat.Sets[1].Files[1].Path(); p != strings.Repeat("d", 700)+"/"+longName {
		t.Errorf("names kept in streams are listed as %.50q", p)
	}
}

// A digest table damaged, or not matching the detail or SSET it goes
// with, is refused with a reason naming the set and where.
func TestCatalogDigestTableRefused(t *testing.T) {
	clean := buildCatalogTape(t)
	exbc := bytes.Index(clean, []byte(StreamCatalogDigests))
	fdd := bytes.LastIndex(clean[:exbc], EncodeString("pub.edb", StringUTF16))
	exbs := bytes.Index(clean, []byte(`"restricted"`))
	for _, c := range []struct {
		what string
		at   int
		want string
	}{
		{"a byte of the table", exbc + StreamHeaderSize + 80, "EXBC stream digest"},
		{"a file name in the detail", fdd, "TFDD stream does not match"},
		{"the EXBS stream of the SSET", exbs + 2, "SSET does not match"},
	} {
		t.Run(c.what, func(t *testing.T) {
			raw := bytes.Clone(clean)
			raw[c.at] ^= 0x20
			cat, err := openBytes(t, raw).Catalog()
			if err != nil {
				t.Fatal(err)
			}
			err = cat.Sets[0].DigestsErr
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "set 1") {
				t.Fatalf("%s flipped: %v", c.what, err)
			}
			if cat.Sets[1].DigestsErr != nil {
				t.Errorf("set 2 is sound: %v", cat.Sets[1].DigestsErr)
			}
		})
	}
	// A table that checks out in itself but lists a file at another place.
	r := openBytes(t, clean)
	ref, err := r.streamAt(int64(exbc), StreamCatalogDigests)
	if err != nil {
		t.Fatal(err)
	}
	table, err := DecodeDigestTable(clean[ref.Offset:][:ref.Header.Length])
	if err != nil {
		t.Fatalf("table: %v", err)
	}
	table.Files[1].FLA++
	raw := bytes.Clone(clean)
	copy(raw[ref.Offset:], table.Encode())
	cat, _ := openBytes(t, raw).Catalog()
	if err := cat.Sets[0].DigestsErr; err == nil || !strings.Contains(err.Error(), `file "pub.edb"`) {
		t.Fatalf("a table listing a file elsewhere: %v", err)
	}
}

// exbackup's tapes from before the digest table are told from others': the
// catalog names the missing table.
func TestCatalogWithoutDigestTable(t *testing.T) {
	raw, err := os.ReadFile("testdata/own-2026-nodigests.bkf")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := openBytes(t, raw).Catalog()
	if err != nil || len(cat.Sets) != 2 {
		t.Fatalf("catalog: %v", err)
	}
	for _, s := range cat.Sets {
		if !errors.Is(s.DigestsErr, ErrNoDigestTable) || s.Info == nil || s.Files[0].Block.Hash != nil {
			t.Errorf("set %d: %v", s.Start.Number, s.DigestsErr)
		}
	}
	// Another program's sets with a catalog have no table to miss.
	cat, err = openBytes(t, buildPlainCatalogTape(t)).Catalog()
	if err != nil || cat.Sets[0].DigestsErr != nil || cat.Sets[0].Info != nil {
		t.Fatalf("plain tape: %v %+v", err, cat.Sets[0])
	}
}

func buildPlainCatalogTape(t testing.TB) []byte {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, 0, WriterOptions{Plain: true, Catalog: true, FamilyID: 1, MediaSequence: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTape(&TapeHeader{MediaFamilyID: 1, MediaName: "plain", SoftwareName: "other", CatalogType: CatalogType1}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.BeginSet(&StartSet{Attributes: SetNormal, Number: 1, WriteDate: when}, nil); err != nil {
		t.Fatal(err)
	}
	w.WriteBlock(&Volume{Device: "C:", Machine: "HOST"})
	w.WriteBlock(&Directory{ID: 1, Name: DirName(nil)})
	w.WriteFile(&File{DirectoryID: 1, ID: 1, Name: "a.txt"}, 3, strings.NewReader("abc"))
	if _, err := w.EndSet(&EndSet{WriteDate: when}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func FuzzDecodeDigestTable(f *testing.F) {
	t := DigestTable{Files: []TableEntry{{FLA: 3, Hash: FileHash{Size: 9, Algo: HashBLAKE3}}}}
	f.Add(t.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		dt, err := DecodeDigestTable(b)
		if err == nil && len(dt.Files) > len(b)/digestTableEntry {
			t.Fatalf("%d entries from %d bytes", len(dt.Files), len(b))
		}
	})
}

// FuzzReadOwnCatalog reads arbitrary tapes shaped like exbackup's through
// their catalog and digest tables.
func FuzzReadOwnCatalog(f *testing.F) {
	f.Add(buildCatalogTape(f))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := NewReader(bytes.NewReader(raw), int64(len(raw)), "fuzz")
		if err != nil {
			return
		}
		c, err := r.Catalog()
		if err != nil {
			return
		}
		for _, s := range c.Sets {
			if s.DigestsErr == nil && s.Info != nil {
				for _, e := range s.Files {
					if e.Block.Hash == nil || int64(e.Block.Hash.Size) != e.Size {
						t.Fatalf("set %d: %q listed without its digests", s.Start.Number, e.Path())
					}
				}
			}
		}
	})
}
