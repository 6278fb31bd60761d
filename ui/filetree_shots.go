//go:build screenshots || ci

package ui

import (
	"time"

	"fyne.io/fyne/v2"
)

// sampleFileSet highlights the first file set of the catalog (another
// program's tape), which opens its tree.
func (c *Console) sampleFileSet() {
	tw := c.tapes
	for _, t := range tw.model.tapes {
		for i, r := range tw.model.sets[t.tape.ID] {
			if r.set.Foreign && t.present {
				tw.selectTape(t.tape.ID)
				tw.setRow = i
				tw.setsTable.Refresh()
				tw.showFiles()
				return
			}
		}
	}
}

// sampleFileTicks opens every folder of the tree and ticks its first
// file, so that the picture shows a partly ticked branch.
func (c *Console) sampleFileTicks() {
	p := c.tapes.files
	if p.ix == nil || !p.ticks.none() {
		return
	}
	p.tree.OpenAllBranches()
	var first func(id string) string
	first = func(id string) string {
		for _, k := range p.ix.kids[id] {
			if !p.ix.isBranch(k) {
				return k
			}
			if f := first(k); f != "" {
				return f
			}
		}
		return ""
	}
	if f := first(""); f != "" {
		p.tick(f, true)
	}
}

// shotWait is how long a picture waits for shotReady, when not 10 seconds.
var shotWait = map[string]time.Duration{}

// shotNote is what a picture shows, printed beside its name, for the
// pictures whose content comes from a job (the items of a store set).
var shotNote = map[string]func(*Console) string{}

// shotWindow is the window a picture is taken of, when not the main one.
var shotWindow = map[string]func(*Console) fyne.Window{}

// shotReady says, for a picture that waits on a job off the UI goroutine,
// when it may be taken.
var shotReady = map[string]func(c *Console) bool{
	"tapes-files": func(c *Console) bool {
		c.sampleFileTicks() // once the tree is there
		return c.tapes.files.ix != nil || !c.tapes.files.content.Visible()
	},
}
