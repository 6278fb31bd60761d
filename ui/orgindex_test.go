package ui

import (
	"reflect"
	"slices"
	"testing"

	"exbackup/engine"
	"exbackup/exchange"
)

func TestBuildIndex(t *testing.T) {
	org := sampleOrg()
	org.Unreachable = map[string]string{"EXCH03": "connection refused"}
	delete(org.Status, "EXCH03")
	ix := buildIndex(org)

	if got := ix.ChildUIDs(""); !reflect.DeepEqual(got, []string{"org"}) {
		t.Fatalf("root children = %v", got)
	}
	if got := ix.ChildUIDs("org"); !reflect.DeepEqual(got, []string{"site/Dublin", "site/Redmond"}) {
		t.Errorf("sites = %v", got)
	}
	if got := ix.ChildUIDs("site/Redmond"); !reflect.DeepEqual(got, []string{"server/EXCH01", "server/EXCH02"}) {
		t.Errorf("Redmond servers = %v", got)
	}
	if got := ix.ChildUIDs("server/EXCH01"); !reflect.DeepEqual(got, []string{"store/EXCH01/DS", "store/EXCH01/IS"}) {
		t.Errorf("EXCH01 stores = %v", got)
	}
	for uid, want := range map[string]bool{"": true, "org": true, "site/Dublin": true, "server/EXCH01": true, "store/EXCH01/DS": false, "nowhere": false} {
		if got := ix.IsBranch(uid); got != want {
			t.Errorf("IsBranch(%q) = %v, want %v", uid, got, want)
		}
	}
	if n := ix.nodes["org"]; n.label != "First Organization" || n.leaves != 6 {
		t.Errorf("org node = %+v", n)
	}
	if n := ix.nodes["server/EXCH01"]; n.detail != "services running" || n.severity != 0 {
		t.Errorf("EXCH01 = %q severity %d", n.detail, n.severity)
	}
	if n := ix.nodes["server/EXCH02"]; n.detail != "services running · circular logging" {
		t.Errorf("EXCH02 = %q", n.detail)
	}
	if n := ix.nodes["server/EXCH03"]; n.detail != "not reachable: connection refused" || n.severity != 2 {
		t.Errorf("EXCH03 = %q severity %d", n.detail, n.severity)
	}
	if n := ix.nodes["store/EXCH01/DS"]; n.label != "Directory" || n.detail != "running" {
		t.Errorf("EXCH01 DS = %+v", n)
	}
	if got := ix.summary(); got != "First Organization: 3 servers in 2 sites, 1 server not reachable" {
		t.Errorf("summary = %q", got)
	}
}

func TestBuildIndexStoppedService(t *testing.T) {
	ix := buildIndex(sampleOrg())
	if n := ix.nodes["server/EXCH03"]; n.detail != "Directory running, Information Store stopped" || n.severity != 1 {
		t.Errorf("EXCH03 = %q severity %d", n.detail, n.severity)
	}
	if n := ix.nodes["store/EXCH03/IS"]; n.detail != "stopped" || n.severity != 1 {
		t.Errorf("EXCH03 IS = %+v", n)
	}
}

func TestBuildIndexEmptyAndDuplicates(t *testing.T) {
	if ix := buildIndex(engine.Org{}); len(ix.ChildUIDs("")) != 0 || len(ix.nodes) != 0 {
		t.Errorf("empty org: %v", ix.nodes)
	}
	org := sampleOrg()
	org.Topology.Sites[1].Servers = append(org.Topology.Sites[1].Servers, exchange.ServerInfo{Name: "EXCH01", Site: "Redmond"})
	ix := buildIndex(org)
	if got := ix.ChildUIDs("site/Redmond"); len(got) != 2 {
		t.Errorf("a server listed twice shows twice: %v", got)
	}
}

// Ticking a node ticks its subtree; its ancestors show partly ticked.
func TestTicksTriState(t *testing.T) {
	ix := buildIndex(sampleOrg())
	tk := newTicks()
	state := func(uid string) string {
		c, p := tk.state(ix, uid)
		switch {
		case c:
			return "on"
		case p:
			return "partial"
		}
		return "off"
	}

	tk.set(ix, "server/EXCH01", true)
	for uid, want := range map[string]string{
		"store/EXCH01/DS": "on", "store/EXCH01/IS": "on", "server/EXCH01": "on",
		"site/Redmond": "partial", "org": "partial", "site/Dublin": "off", "server/EXCH02": "off",
	} {
		if got := state(uid); got != want {
			t.Errorf("after ticking EXCH01: %s is %s, want %s", uid, got, want)
		}
	}
	tk.set(ix, "site/Redmond", true)
	if got := state("site/Redmond"); got != "on" {
		t.Errorf("Redmond = %s", got)
	}
	tk.set(ix, "store/EXCH02/IS", false)
	if got, want := []string{state("server/EXCH02"), state("site/Redmond"), state("org")}, []string{"partial", "partial", "partial"}; !slices.Equal(got, want) {
		t.Errorf("after unticking EXCH02 IS: %v, want %v", got, want)
	}
	tk.set(ix, "org", true)
	if got := state("org"); got != "on" {
		t.Errorf("org = %s after ticking it", got)
	}
	tk.set(ix, "org", false)
	if len(tk.on) != 0 || state("org") != "off" || state("site/Dublin") != "off" {
		t.Errorf("unticking the org leaves %v", tk.on)
	}
}

// The stores are backed up in tree order, each server's DS before its IS,
// whatever order they were ticked in.
func TestTicksSelectedInTreeOrder(t *testing.T) {
	ix := buildIndex(sampleOrg())
	tk := newTicks()
	tk.set(ix, "store/EXCH02/IS", true)
	tk.set(ix, "store/EXCH01/IS", true)
	tk.set(ix, "server/EXCH03", true)
	tk.set(ix, "store/EXCH01/DS", true)
	want := []engine.StoreRef{
		{Server: "EXCH03", Store: exchange.StoreDS}, {Server: "EXCH03", Store: exchange.StoreIS},
		{Server: "EXCH01", Store: exchange.StoreDS}, {Server: "EXCH01", Store: exchange.StoreIS},
		{Server: "EXCH02", Store: exchange.StoreIS},
	}
	if got := tk.selected(ix); !reflect.DeepEqual(got, want) {
		t.Errorf("selected = %v\nwant %v", got, want)
	}
}

// A refresh keeps the ticks of the stores still there.
func TestTicksCarry(t *testing.T) {
	ix := buildIndex(sampleOrg())
	tk := newTicks()
	tk.set(ix, "site/Redmond", true)
	org := sampleOrg()
	org.Topology.Sites[1].Servers = org.Topology.Sites[1].Servers[:1] // EXCH02 left
	ix2 := buildIndex(org)
	tk2 := tk.carry(ix2)
	if got := tk2.selected(ix2); len(got) != 2 || got[0].Server != "EXCH01" {
		t.Errorf("carried = %v", got)
	}
	if c, _ := tk2.state(ix2, "site/Redmond"); !c {
		t.Error("Redmond (now EXCH01 only) should be fully ticked")
	}
}

func TestBranches(t *testing.T) {
	ix := buildIndex(sampleOrg())
	got := ix.branches("site/Redmond")
	want := []string{"site/Redmond", "server/EXCH01", "server/EXCH02"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("branches = %v", got)
	}
}
