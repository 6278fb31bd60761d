package engine

import (
	"strings"
	"testing"

	"exbackup/catalog"
	"exbackup/exchange"
	"exbackup/tape"
)

func planSet(n int, server string, store exchange.StoreID, t exchange.BackupType, rs RestoreSet) PlanSet {
	rs.Set = n
	return PlanSet{RestoreSet: rs, Server: server, Store: store, Type: t}
}

// The options of a chain are chosen on its full set: an incremental's page
// offers neither Erase nor Private and Public, and is never refused for
// them (the server takes them from the chain's full set).
func TestPlanIncrementalTakesItsChainsOptions(t *testing.T) {
	pages := PlanRestore([]PlanSet{
		planSet(1, "EX1", exchange.StoreIS, exchange.Normal, RestoreSet{Destination: "EX2", Erase: true, Private: true, Public: true}),
		planSet(2, "EX1", exchange.StoreIS, exchange.Incremental, RestoreSet{Destination: "EX2"}),
	})
	full, inc := pages[0], pages[1]
	if full.Err != nil || !full.ChooseDatabases || !full.ChooseErase || !full.ChooseDestination || full.Note != "" {
		t.Errorf("full page: %+v", full)
	}
	if inc.Err != nil || inc.ChooseDatabases || inc.ChooseErase || !inc.ChooseDestination || inc.Note != NoteChainOption {
		t.Errorf("incremental page: %+v", inc)
	}
	if !full.First || full.Last || inc.First || !inc.Last || len(inc.Warnings) != 0 {
		t.Errorf("chain: full %+v, incremental %+v", full, inc)
	}
}

func TestPlanRefusals(t *testing.T) {
	for _, c := range []struct {
		set  PlanSet
		want string
	}{
		{planSet(1, "EX1", exchange.StoreIS, exchange.Normal, RestoreSet{}), "choose Private, Public or both"},
		{planSet(1, "EX1", exchange.StoreIS, exchange.Copy, RestoreSet{Destination: "EX2", Private: true, Public: true}), "requires Erase all existing data"},
		{planSet(1, "EX1", exchange.StoreIS, exchange.Normal, RestoreSet{Destination: "EX2", Erase: true, Private: true}), "both Private and Public"},
		{planSet(1, "EX1", exchange.StoreDS, exchange.Normal, RestoreSet{Destination: "EX2"}), "only to its original server EX1"},
		{planSet(1, "EX1", exchange.StoreIS, exchange.Normal, RestoreSet{Destination: " ", Private: true}), ""},
		{planSet(1, "EX1", exchange.StoreIS, exchange.Differential, RestoreSet{}), ""},
	} {
		pg := PlanRestore([]PlanSet{c.set})[0]
		if c.want == "" && pg.Err != nil || c.want != "" && (pg.Err == nil || !strings.Contains(pg.Err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.set, pg.Err, c.want)
		}
	}
	ds := PlanRestore([]PlanSet{planSet(1, "EX1", exchange.StoreDS, exchange.Normal, RestoreSet{})})[0]
	if ds.ChooseDestination || ds.ChooseDatabases || !ds.ChooseErase || ds.Note != NoteDirectory || ds.Destination != "EX1" {
		t.Errorf("Directory page: %+v", ds)
	}
}

// Chains are one store on one destination, wherever their sets stand in
// the restore; the same set restored to another server is another chain.
func TestPlanChains(t *testing.T) {
	both := RestoreSet{Private: true, Public: true}
	pages := PlanRestore([]PlanSet{
		planSet(1, "EX1", exchange.StoreIS, exchange.Normal, both),
		planSet(2, "EX2", exchange.StoreIS, exchange.Normal, both),
		planSet(3, "EX1", exchange.StoreIS, exchange.Incremental, RestoreSet{}),
		planSet(4, "EX2", exchange.StoreIS, exchange.Incremental, RestoreSet{Destination: "EX3"}),
		planSet(5, "EX1", exchange.StoreDS, exchange.Normal, RestoreSet{}),
		planSet(6, "EX1", exchange.StoreIS, exchange.Normal, both),
	})
	want := []struct{ first, last bool }{{true, false}, {true, true}, {false, false}, {true, true}, {true, true}, {false, true}}
	for i, w := range want {
		if pages[i].First != w.first || pages[i].Last != w.last {
			t.Errorf("set %d: first %v last %v, want %v %v", i+1, pages[i].First, pages[i].Last, w.first, w.last)
		}
	}
	if len(pages[3].Warnings) != 1 || !strings.Contains(pages[3].Warnings[0], "Set 4 is an incremental backup of Microsoft Information Store: restore the full set of its chain first") {
		t.Errorf("set 4 (onto EX3 without its full): %q", pages[3].Warnings)
	}
	if len(pages[5].Warnings) != 1 || !strings.Contains(pages[5].Warnings[0], "Set 6 is a full backup: it starts its chain again") {
		t.Errorf("set 6: %q", pages[5].Warnings)
	}
	for _, i := range []int{0, 1, 2, 4} {
		if len(pages[i].Warnings) != 0 {
			t.Errorf("set %d: %q", i+1, pages[i].Warnings)
		}
	}
}

func TestRestorable(t *testing.T) {
	ok := catalog.Set{State: catalog.StateComplete}
	for _, c := range []struct {
		set     catalog.Set
		present bool
		want    string
	}{
		{ok, true, ""},
		{ok, false, "not there"},
		{catalog.Set{State: catalog.StateAborted}, true, "never finished"},
		{catalog.Set{State: catalog.StateDamaged}, true, "fails its checks"},
		{catalog.Set{State: catalog.StateComplete, Foreign: true}, true, "not an exbackup set"},
	} {
		err := Restorable(c.set, c.present)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v present %v: %v, want %q", c.set, c.present, err, c.want)
		}
	}
}

func TestOrgCheckBackup(t *testing.T) {
	org := Org{Status: map[string]exchange.Status{
		"EX1": {Name: "EX1", DS: exchange.Running, IS: exchange.Running, CircularLogging: true},
		"EX2": {Name: "EX2", DS: exchange.Running, IS: exchange.RestorePending},
	}}
	is1 := []StoreRef{{"EX1", exchange.StoreIS}}
	for _, c := range []struct {
		req  BackupRequest
		want string
	}{
		{BackupRequest{Stores: is1, Type: exchange.Normal}, ""},
		{BackupRequest{Stores: is1, Type: exchange.Copy}, ""},
		{BackupRequest{Stores: is1, Type: exchange.Incremental}, "EX1 uses circular logging: it keeps no logs for an incremental backup. Choose Normal or Copy."},
		{BackupRequest{Stores: is1, Type: exchange.Differential}, "EX1 uses circular logging: it keeps no logs for a differential backup."},
		{BackupRequest{Stores: []StoreRef{{"EX2", exchange.StoreIS}}, Type: exchange.Normal}, "The Information Store of EX2 is restore pending: an online backup needs it running."},
		{BackupRequest{Stores: []StoreRef{{"EX9", exchange.StoreIS}}, Type: exchange.Incremental}, ""},
	} {
		err := org.CheckBackup(c.req)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.req, err, c.want)
		}
	}
}

// One vocabulary: the catalog's words are Exchange's, and a type goes onto
// tape and back unchanged.
func TestBackupTypeVocabulary(t *testing.T) {
	for _, c := range []struct {
		t       exchange.BackupType
		catalog string
		title   string
	}{
		{exchange.Normal, catalog.TypeNormal, "Normal"},
		{exchange.Copy, catalog.TypeCopy, "Copy"},
		{exchange.Incremental, catalog.TypeIncremental, "Incremental"},
		{exchange.Differential, catalog.TypeDifferential, "Differential"},
	} {
		if string(c.t) != c.catalog || TypeTitle(c.t) != c.title || typeOfTape(tapeType(c.t)) != c.t || catalogType(tapeType(c.t)) != c.catalog {
			t.Errorf("%s: catalog %q, title %q, tape %v", c.t, c.catalog, TypeTitle(c.t), tapeType(c.t))
		}
		if got, err := ParseBackupType(strings.ToUpper(c.title)); err != nil || got != c.t {
			t.Errorf("ParseBackupType(%q) = %q, %v", strings.ToUpper(c.title), got, err)
		}
		if SetType(catalog.Set{Type: c.catalog}) != c.t {
			t.Errorf("SetType(%q) = %q", c.catalog, SetType(catalog.Set{Type: c.catalog}))
		}
	}
	if _, err := ParseBackupType("weekly"); err == nil || !strings.Contains(err.Error(), `unknown backup type "weekly"`) {
		t.Errorf("weekly: %v", err)
	}
	if catalogType(tape.Daily) != "daily" || TypeTitle(exchange.BackupType(catalogType(tape.Daily))) != "Daily" || typeOfTape(tape.Daily) != "" || TypeTitle("") != "—" {
		t.Error("another writer's Daily set")
	}
}
