package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"exbackup/tape"
)

// BenchmarkRebuild100Tapes times what opening the console costs when
// catalog.db is found damaged in a library of 100 small tapes (two sets of
// four files each): the checks, the move aside and the rebuild of every
// tape, as one Open.
//
//	go test -run x -bench Rebuild100Tapes -benchtime 5x ./engine
func BenchmarkRebuild100Tapes(b *testing.B) {
	home := b.TempDir()
	lib, err := tape.OpenLibrary(filepath.Join(home, "tapes"))
	if err != nil {
		b.Fatal(err)
	}
	when := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	for i := range 100 {
		tp, err := lib.Create(fmt.Sprintf("Tape %03d", i), tape.CreateOptions{Created: when})
		if err != nil {
			b.Fatal(err)
		}
		for n := range 2 {
			w, err := tp.AppendSet(tape.SetOptions{Created: when.Add(time.Duration(n) * time.Hour)})
			if err != nil {
				b.Fatal(err)
			}
			w.BeginVolume(`\\EX1\Microsoft Information Store`, "EX1")
			for f := range 4 {
				data := strings.Repeat(fmt.Sprint(i, n, f), 2000)
				if _, err := w.AddFile(fmt.Sprintf("f%d.log", f), int64(len(data)), when, strings.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := w.End(); err != nil {
				b.Fatal(err)
			}
		}
	}
	db := filepath.Join(home, "catalog.db")
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		os.WriteFile(db, []byte(strings.Repeat("not a catalog ", 1000)), 0o600)
		b.StartTimer()
		e, err := Open(home)
		if err != nil {
			b.Fatal(err)
		}
		if n := e.CatalogNotice(); !strings.HasSuffix(n, "rebuilt from 100 tapes.") {
			b.Fatalf("notice %q", n)
		}
		b.StopTimer()
		e.Close()
		aside, _ := filepath.Glob(db + ".damaged-*")
		for _, f := range aside {
			os.Remove(f)
		}
		b.StartTimer()
	}
}
