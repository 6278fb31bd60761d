//go:build screenshots || ci

package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
)

// The item-level recovery pictures: a store set of the catalog opened
// through the real engine (read from tape and recovered), expanded down to
// a mailbox folder, its search, a message in the viewer, and the items'
// Restore Information and Export dialogs.

// sampleItemSet highlights the newest Information Store set on a present
// tape that is not encrypted, and starts browsing it.
func (c *Console) sampleItemSet() {
	tw := c.tapes
	for i := len(tw.model.tapes) - 1; i >= 0; i-- {
		t := tw.model.tapes[i]
		if !t.present {
			continue
		}
		sets := tw.model.sets[t.tape.ID]
		for j := len(sets) - 1; j >= 0; j-- {
			// An encrypted set would ask for its key in the middle of the tour.
			if sets[j].restorable && isItemSet(sets[j].set) && !sets[j].set.Encrypted {
				tw.selectTape(t.tape.ID)
				tw.setRow = j
				tw.setsTable.Refresh()
				tw.showFiles()
				tw.updateTitles()
				tw.files.store.start()
				return
			}
		}
	}
}

// sampleItemsExpanded opens the first mailbox and its first folder that
// holds messages, a step each time it is called, then highlights and
// ticks the folder's first message; true once done (or when the set could
// not be opened: the picture shows why).
func (c *Console) sampleItemsExpanded() bool {
	p := c.tapes.files.store
	if p.opening {
		return false
	}
	if p.src == nil {
		return true
	}
	mbs := p.kids[engine.RootMailboxes]
	if len(mbs) == 0 {
		return true
	}
	// The first mailbox that holds mail.
	mb := mbs[0]
	for _, id := range mbs {
		if p.nodes[id].Messages > 0 {
			mb = id
			break
		}
	}
	if !p.tree.IsBranchOpen(mb) {
		p.tree.OpenBranch(mb)
	}
	folders, ok := p.kids[mb]
	if !ok {
		return false
	}
	for _, f := range folders {
		if p.nodes[f].Messages == 0 {
			continue
		}
		if !p.tree.IsBranchOpen(f) {
			p.tree.OpenBranch(f)
		}
		ks, ok := p.kids[f]
		if !ok {
			return false
		}
		for _, k := range ks {
			if p.nodes[k].Leaf() {
				if p.ticks.none() {
					p.tick(k, true)
					p.tree.Select(k)
					p.tree.ScrollTo(k)
				}
				return true
			}
		}
	}
	return true
}

// sampleItemSearch searches the open set for the highlighted message's
// sender.
func (c *Console) sampleItemSearch() {
	p := c.tapes.files.store
	if p.src == nil {
		return
	}
	from := "a"
	if n, ok := p.nodes[p.selected]; ok && n.Item != nil && n.Item.From != "" {
		from = n.Item.From
		if i := strings.IndexByte(from, '<'); i > 0 {
			from = strings.TrimSpace(from[:i])
		}
	}
	p.sender.SetText(from)
	p.runSearch()
}

// sampleViewer opens the highlighted message (the first search result).
func (c *Console) sampleViewer() {
	p := c.tapes.files.store
	if p.searched && len(p.results) > 0 {
		p.list.Select(0)
	}
	p.openSelected()
}

// viewerWindow is the newest message window, or the main window.
func (c *Console) viewerWindow() fyne.Window {
	if n := len(c.viewers); n > 0 {
		return c.viewers[n-1].win
	}
	return c.win
}

func (c *Console) closeViewers() {
	for _, v := range append([]*viewer(nil), c.viewers...) {
		v.win.Close()
	}
}

func init() {
	shotReady["tapes-items"] = func(c *Console) bool { return c.sampleItemsExpanded() }
	shotReady["tapes-items-search"] = func(c *Console) bool {
		p := c.tapes.files.store
		return p.src == nil || p.searched || p.status.Importance == widget.DangerImportance
	}
	shotReady["message-viewer"] = func(c *Console) bool { return len(c.viewers) > 0 || c.tapes.files.store.src == nil }
	shotWait["tapes-items"] = 90 * time.Second
	pane := func(c *Console) string {
		p := c.tapes.files.store
		switch {
		case p.src == nil && p.status.Text == "":
			return "no store set in the catalog"
		case p.status.Importance == widget.DangerImportance:
			return "error: " + p.status.Text
		}
		return p.status.Text
	}
	shotNote["tapes-items"] = func(c *Console) string {
		p := c.tapes.files.store
		if n, ok := p.nodes[p.selected]; ok && p.src != nil {
			return pane(c) + " Highlighted: " + itemLocation(n.Path) + ": " + n.Name
		}
		return pane(c)
	}
	shotNote["tapes-items-search"] = pane
	shotNote["message-viewer"] = func(c *Console) string {
		if n := len(c.viewers); n > 0 {
			v := c.viewers[n-1].msg
			return fmt.Sprintf("From: %s Subject: %s (%d bytes of text, %d attachments)", v.From, v.Subject, len(v.Body), len(v.Attachments))
		}
		return "no message open"
	}
	shotWindow["message-viewer"] = (*Console).viewerWindow
}
