package catalog

import (
	"fmt"
	"testing"
	"time"
)

// fill catalogs what a busy site writes in years: tapes × perTape sets, one
// store per set, ten servers with both stores each, a normal backup every
// tenth night of each store and incrementals between, a differential on the
// fifth.
func fill(b *testing.B, c *Catalog, tapes, perTape int) []Tape {
	var out []Tape
	g := 0
	for i := range tapes {
		tp := addTape(b, c, fmt.Sprintf("Tape %03d", i))
		out = append(out, tp)
		for n := 1; n <= perTape; n++ {
			server, store := fmt.Sprintf("EXCH%02d", g%10), []string{"IS", "DS"}[g/10%2]
			typ := TypeIncremental
			switch g / 20 % 10 {
			case 0:
				typ = TypeNormal
			case 5:
				typ = TypeDifferential
			}
			addSet(b, c, newSet(tp.ID, n, server, store, typ, t0.Add(time.Duration(g)*time.Minute)), newEntries(server, store, 4))
			g++
		}
	}
	return out
}

// BenchmarkSets10000 catalogs 10,000 sets on 100 tapes with AddSet, then
// times what the Tapes window and restores ask of such a catalog.
func BenchmarkSets10000(b *testing.B) {
	c := openTest(b)
	start := time.Now()
	tapes := fill(b, c, 100, 100)
	b.Logf("10,000 AddSet calls took %v", time.Since(start))

	b.Run("AllSets", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if sets, err := c.AllSets(); err != nil || len(sets) != 10000 {
				b.Fatal(len(sets), err)
			}
		}
	})
	b.Run("Sets", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if sets, err := c.Sets(tapes[i%len(tapes)].ID); err != nil || len(sets) != 100 {
				b.Fatal(len(sets), err)
			}
			i++
		}
	})
	b.Run("Tapes", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if t, err := c.Tapes(); err != nil || len(t) != 100 {
				b.Fatal(len(t), err)
			}
		}
	})
	b.Run("ChainFor", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			server, store := fmt.Sprintf("EXCH%02d", i%10), []string{"IS", "DS"}[i/10%2]
			if chain, err := c.ChainFor(server, store); err != nil || len(chain) == 0 {
				b.Fatal(len(chain), err)
			}
			i++
		}
	})
	b.Run("Entries", func(b *testing.B) {
		b.ReportAllocs()
		i := uint64(0)
		for b.Loop() {
			if e, err := c.Entries(i%10000 + 1); err != nil || len(e) != 4 {
				b.Fatal(len(e), err)
			}
			i++
		}
	})
	b.Run("AddSet", func(b *testing.B) {
		b.ReportAllocs()
		tp := addTape(b, c, "Extra")
		n := 0
		for b.Loop() {
			n++
			addSet(b, c, newSet(tp.ID, n, "EXCH99", "IS", TypeIncremental, t0.Add(time.Duration(n)*time.Second)), newEntries("EXCH99", "IS", 4))
		}
	})
}
