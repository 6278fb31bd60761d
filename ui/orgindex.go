package ui

import (
	"fmt"
	"strings"

	"exbackup/engine"
	"exbackup/exchange"
)

// The tree's node UIDs: "org", "site/Redmond", "server/EXCH01",
// "store/EXCH01/DS". The root ("") holds the organization.
const uidOrg = "org"

func uidSite(name string) string   { return "site/" + name }
func uidServer(name string) string { return "server/" + name }
func uidStore(server string, id exchange.StoreID) string {
	return "store/" + server + "/" + string(id)
}

type nodeKind uint8

const (
	kindOrg nodeKind = iota
	kindSite
	kindServer
	kindStore
)

// orgNode is what a tree row shows.
type orgNode struct {
	uid    string
	kind   nodeKind
	label  string // "EXCH01", "Directory", …
	detail string // service states or why a server did not answer
	// severity colours detail: 0 fine, 1 warning (a service stopped),
	// 2 error (unreachable, restore pending).
	severity int
	server   string
	store    exchange.StoreID
	leaves   int // stores under this node (1 for a store)
}

// orgIndex is the tree's model: built off the UI goroutine from an
// engine.Org, then swapped in whole, so that widget.Tree's ChildUIDs and
// IsBranch, which it calls for every visible row, are map lookups.
type orgIndex struct {
	org      engine.Org
	nodes    map[string]*orgNode
	children map[string][]string
	parent   map[string]string
	stores   []string // every store UID, in tree order (each server's DS before its IS)
	servers  int
	sites    int
}

// buildIndex indexes an organization. Sites and servers keep the order the
// topology gives (sorted by name on every server).
func buildIndex(org engine.Org) *orgIndex {
	topo := org.Topology
	n := 1
	for _, s := range topo.Sites {
		n += 1 + 3*len(s.Servers)
	}
	ix := &orgIndex{
		org:      org,
		nodes:    make(map[string]*orgNode, n),
		children: make(map[string][]string, n),
		parent:   make(map[string]string, n),
	}
	if topo.Organization == "" && len(topo.Sites) == 0 {
		ix.children[""] = nil
		return ix
	}
	orgName := topo.Organization
	if orgName == "" {
		orgName = "(unnamed organization)"
	}
	root := &orgNode{uid: uidOrg, kind: kindOrg, label: orgName}
	ix.add("", root)
	for _, site := range topo.Sites {
		su := uidSite(site.Name)
		if ix.nodes[su] != nil {
			continue
		}
		sn := &orgNode{uid: su, kind: kindSite, label: site.Name}
		ix.add(uidOrg, sn)
		ix.sites++
		for _, srv := range site.Servers {
			vu := uidServer(srv.Name)
			if srv.Name == "" || ix.nodes[vu] != nil {
				continue // a server object twice in the directory: show it once
			}
			vn := &orgNode{uid: vu, kind: kindServer, label: srv.Name, server: srv.Name}
			st, hasStatus := org.Status[srv.Name]
			why, unreachable := org.Unreachable[srv.Name]
			switch {
			case unreachable:
				vn.detail = "not reachable: " + why
				vn.severity = 2
			case hasStatus && st.DS == exchange.Running && st.IS == exchange.Running:
				vn.detail = "services running"
			case hasStatus:
				vn.detail = "Directory " + stateWord(st.DS) + ", Information Store " + stateWord(st.IS)
				vn.severity = max(severityOf(st.DS), severityOf(st.IS))
			default:
				vn.detail = "status unknown"
				vn.severity = 1
			}
			if hasStatus && !unreachable && st.CircularLogging {
				vn.detail += " · circular logging"
			}
			ix.add(su, vn)
			ix.servers++
			for _, id := range []exchange.StoreID{exchange.StoreDS, exchange.StoreIS} {
				stn := &orgNode{uid: uidStore(srv.Name, id), kind: kindStore, label: id.Title(), server: srv.Name, store: id, leaves: 1}
				switch {
				case unreachable:
					stn.detail, stn.severity = "not reachable", 2
				case hasStatus:
					stn.detail, stn.severity = stateWord(st.Service(id)), severityOf(st.Service(id))
					stn.detail += storeNote(st, id)
				}
				ix.add(vu, stn)
				ix.stores = append(ix.stores, stn.uid)
				for p := vu; p != ""; p = ix.parent[p] {
					ix.nodes[p].leaves++
				}
			}
		}
	}
	return ix
}

// storeNote says what a store's state alone does not: the sets its
// staged restore holds, or the backup streaming from it.
func storeNote(st exchange.Status, id exchange.StoreID) string {
	if r, ok := st.Restore(id); ok {
		switch n := len(r.Sets); {
		case n == 0:
			return " — a set is being restored"
		case r.Error != "":
			return fmt.Sprintf(" — %s staged; recovery failed: %s", plural(n, "set", "sets"), r.Error)
		default:
			return fmt.Sprintf(" — %s staged, recovered when the service starts", plural(n, "set", "sets"))
		}
	}
	for _, b := range st.Backups {
		if b.Store == id {
			return " — " + strings.ToLower(engine.TypeTitle(b.Type)) + " backup streaming"
		}
	}
	return ""
}

func severityOf(s exchange.ServiceState) int {
	switch s {
	case exchange.Running:
		return 0
	case exchange.RestorePending:
		return 2
	}
	return 1
}

func (ix *orgIndex) add(parent string, n *orgNode) {
	ix.nodes[n.uid] = n
	ix.children[parent] = append(ix.children[parent], n.uid)
	ix.parent[n.uid] = parent
}

// ChildUIDs and IsBranch are widget.Tree's callbacks.
func (ix *orgIndex) ChildUIDs(uid string) []string { return ix.children[uid] }

func (ix *orgIndex) IsBranch(uid string) bool {
	if uid == "" {
		return true
	}
	n := ix.nodes[uid]
	return n != nil && n.kind != kindStore
}

// branches lists uid and every branch below it, parents first.
func (ix *orgIndex) branches(uid string) []string {
	var out []string
	var walk func(u string)
	walk = func(u string) {
		if !ix.IsBranch(u) {
			return
		}
		out = append(out, u)
		for _, c := range ix.children[u] {
			walk(c)
		}
	}
	walk(uid)
	return out
}

// ticks is the tree's check state: the ticked stores and, for every branch,
// how many of its stores are ticked, so that a row's tri-state is two
// lookups. Only the UI goroutine touches it.
type ticks struct {
	on    map[string]bool // store UID → ticked
	count map[string]int  // branch UID → ticked stores below it
}

func newTicks() *ticks { return &ticks{on: map[string]bool{}, count: map[string]int{}} }

// set ticks or unticks uid and its whole subtree (a store: just itself).
func (t *ticks) set(ix *orgIndex, uid string, on bool) {
	n := ix.nodes[uid]
	if n == nil {
		return
	}
	if n.kind == kindStore {
		t.setStore(ix, uid, on)
		return
	}
	for _, c := range ix.children[uid] {
		t.set(ix, c, on)
	}
}

func (t *ticks) setStore(ix *orgIndex, uid string, on bool) {
	if t.on[uid] == on {
		return
	}
	d := 1
	if on {
		t.on[uid] = true
	} else {
		delete(t.on, uid)
		d = -1
	}
	for p := ix.parent[uid]; p != ""; p = ix.parent[p] {
		t.count[p] += d
	}
}

// state is what a row's check box shows: ticked, or partly ticked.
func (t *ticks) state(ix *orgIndex, uid string) (checked, partial bool) {
	n := ix.nodes[uid]
	if n == nil {
		return false, false
	}
	if n.kind == kindStore {
		return t.on[uid], false
	}
	c := t.count[uid]
	return c > 0 && c == n.leaves, c > 0 && c < n.leaves
}

// carry keeps the ticks of the stores still in a new index.
func (t *ticks) carry(ix *orgIndex) *ticks {
	nt := newTicks()
	for uid := range t.on {
		if ix.nodes[uid] != nil {
			nt.setStore(ix, uid, true)
		}
	}
	return nt
}

// selected lists the ticked stores in tree order: sites, then servers in
// their order, each server's Directory before its Information Store — the
// order the sets are written.
func (t *ticks) selected(ix *orgIndex) []engine.StoreRef {
	var out []engine.StoreRef
	for _, uid := range ix.stores {
		if t.on[uid] {
			n := ix.nodes[uid]
			out = append(out, engine.StoreRef{Server: n.server, Store: n.store})
		}
	}
	return out
}

// summary is the status bar's one-line description of the organization.
func (ix *orgIndex) summary() string {
	if ix.servers == 0 {
		return "No organization: connect with Operations > Microsoft Exchange…"
	}
	s := ix.org.Topology.Organization + ": " + plural(ix.servers, "server", "servers") + " in " + plural(ix.sites, "site", "sites")
	if n := len(ix.org.Unreachable); n > 0 {
		s += ", " + plural(n, "server", "servers") + " not reachable"
	}
	return s
}
