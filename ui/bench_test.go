package ui

import (
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/exchange"
)

// bigOrg is an organization of n servers in sites of 50.
func bigOrg(n int) engine.Org {
	org := engine.Org{Topology: exchange.Topology{Organization: "Big Organization"}, Status: map[string]exchange.Status{}}
	for i := 0; i < n; i++ {
		if i%50 == 0 {
			org.Topology.Sites = append(org.Topology.Sites, exchange.Site{Name: fmt.Sprintf("Site%03d", i/50)})
		}
		s := &org.Topology.Sites[len(org.Topology.Sites)-1]
		name := fmt.Sprintf("EXCH%04d", i)
		s.Servers = append(s.Servers, exchange.ServerInfo{Name: name, Site: s.Name, Address: name + ":7401"})
		st := exchange.Status{Name: name, DS: exchange.Running, IS: exchange.Running}
		if i%7 == 0 {
			st.IS = exchange.Stopped
		}
		org.Status[name] = st
	}
	return org
}

// bigCatalog is 100 tapes of 100 sets: 10,000 sets.
func bigCatalog() ([]catalog.Tape, map[uint64][]catalog.Set) {
	var tapes []catalog.Tape
	sets := map[uint64][]catalog.Set{}
	for t := uint64(1); t <= 100; t++ {
		tapes = append(tapes, catalog.Tape{ID: t, FamilyID: uint32(t), Name: fmt.Sprintf("Tape %d", t), Created: tapeCreated.Add(time.Duration(t) * time.Hour), Location: fmt.Sprintf("/tapes/%d.bkf", t)})
		for n := 1; n <= 100; n++ {
			st := catalog.StateComplete
			if n%17 == 0 {
				st = catalog.StateAborted
			}
			store := "IS"
			if n%2 == 1 {
				store = "DS"
			}
			sets[t] = append(sets[t], sampleSet(t, n, "normal", fmt.Sprintf("EXCH%04d", n), store, st))
		}
	}
	return tapes, sets
}

// Building the tree's index for 1,000 servers (3,000 stores and branches),
// as the console does off the UI goroutine after every refresh.
func BenchmarkBuildIndex1000Servers(b *testing.B) {
	org := bigOrg(1000)
	b.ReportAllocs()
	for b.Loop() {
		ix := buildIndex(org)
		if ix.servers != 1000 {
			b.Fatal(ix.servers)
		}
	}
}

// Ticking the whole organization of 1,000 servers (2,000 stores) and
// reading the selection back in tree order: what a tap on the root costs
// on the UI goroutine.
func BenchmarkTickOrganization1000Servers(b *testing.B) {
	ix := buildIndex(bigOrg(1000))
	b.ReportAllocs()
	for b.Loop() {
		tk := newTicks()
		tk.set(ix, uidOrg, true)
		if len(tk.selected(ix)) != 2000 {
			b.Fatal("selection")
		}
	}
}

// Formatting the Tapes window's rows for 100 tapes of 100 sets.
func BenchmarkTapesModel10000Sets(b *testing.B) {
	tapes, sets := bigCatalog()
	present := func(t catalog.Tape) bool { return t.ID%10 != 0 }
	b.ReportAllocs()
	for b.Loop() {
		m := buildTapesModel(tapes, sets, present)
		if len(m.tapes) != 100 {
			b.Fatal(len(m.tapes))
		}
	}
}

// Scrolling the fully expanded tree of 1,000 servers by a screenful: the
// tree's own layout and row updates, all lookups in the index.
func BenchmarkTreeScroll1000Servers(b *testing.B) {
	test.NewTempApp(b)
	ew := &exchangeWindow{ix: buildIndex(bigOrg(1000)), ticks: newTicks()}
	ew.c = &Console{}
	ew.tree = newOrgTree(ew)
	w := test.NewTempWindow(b, ew.tree)
	w.Resize(fyne.NewSize(500, 700))
	ew.tree.OpenAllBranches()
	ew.ticks.set(ew.ix, "site/Site003", true)
	b.ResetTimer()
	off := float32(0)
	for b.Loop() {
		off += 700
		if off > 100000 {
			off = 0
		}
		ew.tree.ScrollToOffset(off)
	}
}
