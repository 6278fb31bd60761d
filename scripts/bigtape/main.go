// Command bigtape writes large tapes for scripts/bench-catalog.sh: one set
// of many small files in folders of 100, with the MTF writer exbackup
// uses, in four shapes: exbackup's own (its streams and a media based
// catalog with its digest table, as a backup writes it) and the same without the catalog; and
// as another program's tape (no exbackup streams, as NT Backup wrote it)
// with and without the catalog.
//
//	bigtape -files 100000 -dir DIR
//
// writes DIR/own-mbc.bkf, DIR/own.bkf, DIR/plain-mbc.bkf and DIR/plain.bkf.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"exbackup/tape/mtf"
)

func main() {
	files := flag.Int("files", 100000, "files in the set")
	dir := flag.String("dir", ".", "folder to write the tapes into")
	flag.Parse()
	for _, v := range []struct {
		name           string
		plain, catalog bool
	}{{"own-mbc", false, true}, {"own", false, false}, {"plain-mbc", true, true}, {"plain", true, false}} {
		p := filepath.Join(*dir, v.name+".bkf")
		if err := write(p, *files, v.plain, v.catalog); err != nil {
			fmt.Fprintf(os.Stderr, "bigtape: %s: %v\n", p, err)
			os.Exit(1)
		}
		fmt.Println(p)
	}
}

func write(path string, files int, plain, catalog bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	when := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	const family = 0xB16
	w, err := mtf.NewWriter(bw, 0, mtf.WriterOptions{Plain: plain, Catalog: catalog, FamilyID: family, MediaSequence: 1})
	if err != nil {
		return err
	}
	th := &mtf.TapeHeader{MediaFamilyID: family, MediaSequence: 1, MediaName: filepath.Base(path), MediaDate: when, SoftwareName: "exbackup"}
	if plain {
		th.SoftwareName = "bigtape"
	}
	if catalog {
		th.CatalogType = mtf.CatalogType1
	}
	if err := w.WriteTape(th); err != nil {
		return err
	}
	if err := w.WriteFilemark(); err != nil {
		return err
	}
	var info *mtf.SetInfo
	if !plain {
		info = &mtf.SetInfo{}
	}
	if _, err := w.BeginSet(&mtf.StartSet{Attributes: mtf.SetNormal, Number: 1, Name: "Big set", WriteDate: when, SoftwareMajor: 1}, info); err != nil {
		return err
	}
	if _, err := w.WriteBlock(&mtf.Volume{Attributes: mtf.VolumeDriveLetter, Device: "C:", Machine: "BENCH", WriteDate: when}); err != nil {
		return err
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 8) // 128 bytes a file
	dirID := uint32(0)
	for i := range files {
		if i%100 == 0 {
			dirID++
			d := &mtf.Directory{ID: dirID, Name: mtf.DirName([]string{"data", fmt.Sprintf("dir%05d", i/100)}), Modified: when, Backup: when}
			if _, err := w.WriteBlock(d); err != nil {
				return err
			}
		}
		fb := &mtf.File{DirectoryID: dirID, ID: uint32(i + 1), Name: fmt.Sprintf("file%06d.txt", i), Modified: when, Backup: when}
		if _, _, err := w.WriteFile(fb, int64(len(body)), bytes.NewReader(body)); err != nil {
			return err
		}
	}
	if _, err := w.EndSet(&mtf.EndSet{WriteDate: when}); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}
