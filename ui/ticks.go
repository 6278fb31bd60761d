package ui

import (
	"slices"
	"strings"
)

// tickSet is the tri-state check boxes of a tree whose branches may not
// all have been read: a ticked branch stands for everything under it, read
// or not, so ticking a mailbox of 10,000 messages costs one entry. Node
// ids are paths with "/" between levels ("Mailboxes/alice/Inbox"), ""
// being the tree's root.
type tickSet struct {
	on    map[string]bool // ticked nodes; none is under another
	under map[string]int  // ticked nodes strictly under a node
	// kids answers a node's children; it is asked only for the branches
	// on the way from a ticked node down to one unticked inside it.
	kids func(id string) ([]string, error)
	// known answers a node's children when they have been read, for
	// folding a branch whose every child is ticked into itself.
	known func(id string) ([]string, bool)
}

func newTickSet(kids func(string) ([]string, error), known func(string) ([]string, bool)) *tickSet {
	return &tickSet{on: map[string]bool{}, under: map[string]int{}, kids: kids, known: known}
}

// tickParent is a node's parent: "" for a top node.
func tickParent(id string) string {
	if i := strings.LastIndexByte(id, '/'); i > 0 {
		return id[:i]
	}
	return ""
}

// isUnderTick reports whether id is a proper descendant of a.
func isUnderTick(id, a string) bool {
	return a == "" && id != "" || strings.HasPrefix(id, a+"/")
}

func (t *tickSet) add(id string) {
	t.on[id] = true
	for a := id; a != ""; {
		a = tickParent(a)
		t.under[a]++
	}
}

func (t *tickSet) remove(id string) {
	if !t.on[id] {
		return
	}
	delete(t.on, id)
	for a := id; a != ""; {
		a = tickParent(a)
		if t.under[a]--; t.under[a] <= 0 {
			delete(t.under, a)
		}
	}
}

// covering is the ticked node at or above id, if any.
func (t *tickSet) covering(id string) (string, bool) {
	for a := id; ; a = tickParent(a) {
		if t.on[a] {
			return a, true
		}
		if a == "" {
			return "", false
		}
	}
}

// state is a node's check: ticked (itself or a branch above it), or with
// something ticked under it.
func (t *tickSet) state(id string) (all, some bool) {
	_, all = t.covering(id)
	return all, all || t.under[id] > 0
}

// clearUnder unticks everything under id.
func (t *tickSet) clearUnder(id string) {
	if t.under[id] == 0 {
		return
	}
	for k := range t.on {
		if isUnderTick(k, id) {
			t.remove(k)
		}
	}
}

// set ticks or unticks a node and everything under it. Unticking a node
// inside a ticked branch ticks the rest of that branch instead, which
// reads the branches in between (kids); the error is that read's.
func (t *tickSet) set(id string, on bool) error {
	if on {
		if _, ok := t.covering(id); ok {
			return nil
		}
		t.clearUnder(id)
		t.add(id)
		t.fold(tickParent(id))
		return nil
	}
	t.clearUnder(id)
	a, ok := t.covering(id)
	if !ok || a == id {
		t.remove(id)
		return nil
	}
	// Read the branches from a down to id's parent before changing
	// anything, so that a failed read leaves the ticks as they were.
	var steps [][]string
	for n := a; n != id; {
		ks, err := t.kids(n)
		if err != nil {
			return err
		}
		steps = append(steps, ks)
		next := ""
		for _, k := range ks {
			if k == id || isUnderTick(id, k) {
				next = k
			}
		}
		if next == "" {
			return nil // id is not under a after all: nothing to untick
		}
		n = next
	}
	t.remove(a)
	for _, ks := range steps {
		for _, k := range ks {
			if k != id && !isUnderTick(id, k) {
				t.add(k)
			}
		}
	}
	return nil
}

// fold ticks a branch whose every child is ticked (children known), and so
// on up; the root itself is never ticked.
func (t *tickSet) fold(id string) {
	for id != "" {
		ks, ok := t.known(id)
		if !ok || len(ks) == 0 {
			return
		}
		for _, k := range ks {
			if !t.on[k] {
				return
			}
		}
		for _, k := range ks {
			t.remove(k)
		}
		t.add(id)
		id = tickParent(id)
	}
}

// ticked are the ticked nodes, a wholly ticked branch as itself, in path
// order.
func (t *tickSet) ticked() []string {
	out := make([]string, 0, len(t.on))
	for k := range t.on {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// none reports that nothing is ticked.
func (t *tickSet) none() bool { return len(t.on) == 0 }

// reset unticks everything.
func (t *tickSet) reset() {
	t.on, t.under = map[string]bool{}, map[string]int{}
}
