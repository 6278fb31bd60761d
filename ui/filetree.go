package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/tape"
)

// The Tapes window's file tree: a set of files written by another program
// (NT Backup, Backup Exec) opens as its volumes, folders and files, each
// with a check box, as NT Backup's Restore tab showed them. Ticked items
// are extracted into a folder by Restore… (extract.go).

// fileEngine is what the real engine offers beyond Engine for file sets.
type fileEngine interface {
	BrowseSet(nameOrPath string, set int, members ...string) (*tape.Tree, error)
	ExtractFiles(ctx context.Context, req engine.ExtractRequest, p *engine.Progress) (tape.ExtractResult, error)
}

// fileIndex is a set's tree as the widget reads it: every lookup a map
// access, every text formatted once, all built off the UI goroutine.
type fileIndex struct {
	tape  catalog.Tape
	set   catalog.Set
	tree  *tape.Tree
	nodes map[widget.TreeNodeID]*tape.Node
	kids  map[widget.TreeNodeID][]widget.TreeNodeID
	files map[widget.TreeNodeID]int // files at or under a node
	size  map[widget.TreeNodeID]string
	date  map[widget.TreeNodeID]string
	total int
}

// uidOf is a node's tree widget id: "/" and its tree path, "" being the set.
func uidOf(n *tape.Node) widget.TreeNodeID { return "/" + n.Path }

// buildFileIndex indexes a tree. It walks every node: never call it on the
// UI goroutine.
func buildFileIndex(t catalog.Tape, s catalog.Set, tr *tape.Tree) *fileIndex {
	ix := &fileIndex{tape: t, set: s, tree: tr, nodes: map[string]*tape.Node{}, kids: map[string][]string{},
		files: map[string]int{}, size: map[string]string{}, date: map[string]string{}}
	var walk func(parent string, nodes []*tape.Node) int
	walk = func(parent string, nodes []*tape.Node) int {
		count := 0
		for _, n := range nodes {
			id := uidOf(n)
			ix.nodes[id] = n
			ix.kids[parent] = append(ix.kids[parent], id)
			if !n.Modified.IsZero() {
				ix.date[id] = ntDateTime(n.Modified)
			}
			if n.Kind == tape.KindFile {
				ix.files[id] = 1
				ix.size[id] = humanBytes(n.Size)
				count++
				continue
			}
			k := walk(id, n.Children())
			ix.files[id] = k
			ix.size[id] = fileCount(k)
			count += k
		}
		return count
	}
	ix.total = walk("", tr.Root())
	return ix
}

func (ix *fileIndex) isBranch(id widget.TreeNodeID) bool {
	if id == "" {
		return true
	}
	n := ix.nodes[id]
	return n != nil && n.Kind != tape.KindFile
}

// filePane is the tree of the set highlighted in the Tapes window, with
// the ticks that mark its files for Restore….
type filePane struct {
	c     *Console
	ix    *fileIndex
	ticks *tickSet // the ticked files and folders (ticks.go, shared with the item tree)
	gen   int

	tree    *widget.Tree
	title   *widget.Label
	status  *widget.Label
	content fyne.CanvasObject
	// files is the file tree with its title and status; store the pane
	// of a store set (items.go). content shows one of them.
	files fyne.CanvasObject
	store *itemPane
	// The pane shares the center of the sets' border container with the
	// table: the table alone while no file set is open, so that the
	// window stays as it was; the table over the tree when one is.
	border *fyne.Container
	table  fyne.CanvasObject
	split  *fyne.Container
}

func newFilePane(c *Console, border *fyne.Container, table fyne.CanvasObject) *filePane {
	p := &filePane{c: c, border: border, table: table}
	p.ticks = newTickSet(func(id string) ([]string, error) { return p.kidsOf(id), nil },
		func(id string) ([]string, bool) { return p.kidsOf(id), p.ix != nil })
	p.tree = widget.NewTree(
		func(id widget.TreeNodeID) []widget.TreeNodeID {
			if p.ix == nil {
				return nil
			}
			return p.ix.kids[id]
		},
		func(id widget.TreeNodeID) bool { return p.ix != nil && p.ix.isBranch(id) },
		func(bool) fyne.CanvasObject { return newFileRow() },
		func(id widget.TreeNodeID, _ bool, o fyne.CanvasObject) { p.updateRow(id, o.(*fileRow)) },
	)
	p.title = widget.NewLabelWithStyle("Files", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.title.Truncation = fyne.TextTruncateEllipsis
	p.status = widget.NewLabel("")
	p.status.Importance = widget.LowImportance
	p.status.Truncation = fyne.TextTruncateEllipsis
	p.files = container.NewBorder(p.title, p.status, nil, nil, p.tree)
	p.store = newItemPane(c)
	p.store.content.Hide()
	p.content = container.NewStack(p.files, p.store.content)
	p.content.Hide()
	p.split = container.New(filePaneLayout{p: p}, table, p.content)
	return p
}

func (p *filePane) setVisible(on bool) {
	if on == p.content.Visible() {
		return
	}
	var from, to fyne.CanvasObject = p.split, p.table
	if on {
		p.content.Show()
		from, to = p.table, p.split
	} else {
		p.content.Hide()
	}
	for i, o := range p.border.Objects {
		if o == from {
			p.border.Objects[i] = to
		}
	}
	p.border.Refresh()
}

// show opens a set's tree, read off the UI goroutine; a store set shows
// its items pane instead; any other set hides the pane.
func (p *filePane) show(t catalog.Tape, s catalog.Set) {
	if p.ix != nil && p.ix.set.ID == s.ID {
		return
	}
	p.gen++
	gen := p.gen
	p.ix = nil
	p.ticks.reset()
	if isItemSet(s) && p.c.itemsSupported() {
		p.files.Hide()
		p.store.content.Show()
		p.store.show(t, s)
		p.setVisible(true)
		p.tree.Refresh()
		p.c.updateStatus()
		return
	}
	p.store.close()
	p.store.content.Hide()
	p.files.Show()
	fe, ok := p.c.eng.(fileEngine)
	if !ok || !s.Foreign || s.State == catalog.StateAborted {
		p.setVisible(false)
		p.tree.Refresh()
		return
	}
	p.title.SetText(fmt.Sprintf("Files of set %d on %s", s.Number, t.Name))
	p.status.SetText("Reading the set's folders…")
	p.setVisible(true)
	p.tree.Refresh()
	where := t.Name
	if strings.HasSuffix(strings.ToLower(t.Location), tape.Ext) {
		where = t.Location
	}
	p.c.goDo(func() {
		tr, err := p.c.browseSet(fe, where, s.Number)
		var ix *fileIndex
		if err == nil {
			ix = buildFileIndex(t, s, tr)
		}
		p.c.do(func() {
			if gen != p.gen {
				return
			}
			if err != nil {
				p.status.SetText(oneLine(err))
				p.status.Importance = widget.DangerImportance
				p.status.Refresh()
				return
			}
			p.status.Importance = widget.LowImportance
			p.ix = ix
			p.tree.Refresh()
			for _, v := range ix.kids[""] {
				p.tree.OpenBranch(v)
			}
			p.updateStatus()
		})
	})
}

// hide closes the pane (another set or tape highlighted).
func (p *filePane) hide() {
	p.gen++
	p.ix = nil
	p.ticks.reset()
	p.store.close()
	p.setVisible(false)
	p.c.updateStatus()
}

func (p *filePane) updateStatus() {
	if p.ix == nil {
		return
	}
	n := p.tickedFiles()
	msg := fmt.Sprintf("%s files in the set. Tick files or folders, then Operations > Restore… to restore them to a folder.", thousands(int64(p.ix.total)))
	if n > 0 {
		msg = fmt.Sprintf("%s of %s files selected for restore.", thousands(int64(n)), thousands(int64(p.ix.total)))
	}
	if !p.ix.tree.Complete {
		msg += " The set is damaged or unfinished: what the tape holds is listed."
	}
	p.status.SetText(msg)
	p.c.updateStatus()
}

func (p *filePane) kidsOf(id widget.TreeNodeID) []widget.TreeNodeID {
	if p.ix == nil {
		return nil
	}
	return p.ix.kids[id]
}

// tickedFiles counts the files ticked, a ticked folder's all.
func (p *filePane) tickedFiles() int {
	if p.ix == nil {
		return 0
	}
	n := 0
	for id := range p.ticks.on {
		n += p.ix.files[id]
	}
	return n
}

// tick ticks or unticks a node: a folder all the files under it.
func (p *filePane) tick(id widget.TreeNodeID, on bool) {
	if p.ix == nil || p.ix.nodes[id] == nil {
		return
	}
	p.ticks.set(id, on) // every branch is read: no error
	p.tree.Refresh()
	p.updateStatus()
}

// state is a node's check: all of its files ticked, or some.
func (p *filePane) state(id widget.TreeNodeID) (all, some bool) { return p.ticks.state(id) }

// items are the ticked tree paths, a wholly ticked folder as itself.
func (p *filePane) items() []string {
	if p.ix == nil || p.ticks.none() {
		return nil
	}
	var out []string
	var walk func(id widget.TreeNodeID)
	walk = func(id widget.TreeNodeID) {
		for _, k := range p.ix.kids[id] {
			switch all, some := p.state(k); {
			case all:
				out = append(out, p.ix.nodes[k].Path)
			case some:
				walk(k)
			}
		}
	}
	walk("")
	return out
}

func (p *filePane) updateRow(id widget.TreeNodeID, r *fileRow) {
	if p.ix == nil {
		return
	}
	n := p.ix.nodes[id]
	if n == nil {
		return
	}
	all, some := p.state(id)
	r.check.OnChanged = nil
	r.check.Checked, r.check.Partial = all, some && !all
	r.check.Refresh()
	r.check.OnChanged = func(on bool) { p.tick(id, on) }
	res := theme.FileIcon()
	switch n.Kind {
	case tape.KindVolume:
		res = theme.StorageIcon()
	case tape.KindDir:
		res = theme.FolderIcon()
	}
	if r.icon.Resource != res {
		r.icon.Resource = res
		r.icon.Refresh()
	}
	name := n.Name
	imp := widget.MediumImportance
	if n.Corrupt {
		name += " (corrupt on tape)"
		imp = widget.WarningImportance
	}
	setLabel(r.name, name, imp)
	setLabel(r.size, p.ix.size[id], widget.MediumImportance)
	setLabel(r.date, p.ix.date[id], widget.MediumImportance)
}

func setLabel(l *widget.Label, s string, imp widget.Importance) {
	if l.Text != s || l.Importance != imp {
		l.Text, l.Importance = s, imp
		l.Refresh()
	}
}

// fileRow is one line of the tree: check box, icon, name, size, date.
type fileRow struct {
	widget.BaseWidget
	check            *widget.Check
	icon             *canvas.Image
	name, size, date *widget.Label
}

func newFileRow() *fileRow {
	r := &fileRow{check: widget.NewCheck("", nil), icon: icon(theme.FileIcon(), 16),
		name: widget.NewLabel(""), size: widget.NewLabel(""), date: widget.NewLabel("")}
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.size.Alignment = fyne.TextAlignTrailing
	r.ExtendBaseWidget(r)
	return r
}

func (r *fileRow) CreateRenderer() fyne.WidgetRenderer {
	left := container.NewHBox(r.check, container.NewCenter(r.icon))
	right := container.NewHBox(
		container.New(&minSizeLayout{min: fyne.NewSize(110, 0)}, r.size),
		container.New(&minSizeLayout{min: fyne.NewSize(150, 0)}, r.date),
	)
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, left, right, r.name))
}

// showFiles opens the highlighted set's tree when it is a file set.
func (tw *tapesWindow) showFiles() {
	sets := tw.currentSets()
	t, ok := tw.selectedTape()
	if !ok || tw.setRow < 0 || tw.setRow >= len(sets) {
		tw.files.hide()
		return
	}
	tw.files.show(t.tape, sets[tw.setRow].set)
}

// filePaneLayout stacks the sets table over the file tree (or a store
// set's items) when it is shown, giving the tree the larger part; alone,
// the table fills it all.
type filePaneLayout struct{ p *filePane }

func (filePaneLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	s := objs[0].MinSize()
	if objs[1].Visible() {
		m := objs[1].MinSize()
		s = fyne.NewSize(max(s.Width, m.Width), s.Height+m.Height+theme.Padding())
	}
	return s
}

func (l filePaneLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	table, tree := objs[0], objs[1]
	table.Move(fyne.Position{})
	if !tree.Visible() {
		table.Resize(size)
		return
	}
	share := float32(0.35)
	if l.p.store.content.Visible() {
		share = 0.25 // a store set's pane has its search fields to fit
	}
	top := max(size.Height*share, table.MinSize().Height)
	table.Resize(fyne.NewSize(size.Width, top))
	tree.Move(fyne.NewPos(0, top+theme.Padding()))
	tree.Resize(fyne.NewSize(size.Width, max(0, size.Height-top-theme.Padding())))
}
