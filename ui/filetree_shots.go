//go:build screenshots || ci

package ui

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

// sampleFileTicks ticks the first file of the tree's first folder, so that
// the picture shows a partly ticked branch.
func (c *Console) sampleFileTicks() {
	p := c.tapes.files
	if p.ix == nil {
		return
	}
	for id := range p.ix.nodes {
		if !p.ix.isBranch(id) && p.under[""] == 0 {
			p.tick(id, true)
		}
	}
}

// shotReady says, for a picture that waits on a job off the UI goroutine,
// when it may be taken.
var shotReady = map[string]func(c *Console) bool{
	"tapes-files": func(c *Console) bool { return c.tapes.files.ix != nil || !c.tapes.files.content.Visible() },
}
