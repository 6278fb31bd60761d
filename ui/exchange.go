package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
)

// exchangeWindow is the Microsoft Exchange inner window: the organization
// tree with a check box on every node.
type exchangeWindow struct {
	c        *Console
	ix       *orgIndex
	ticks    *ticks
	tree     *orgTree
	selected string
	opened   bool // the first index opened the organization and its sites

	banner     *widget.Label
	bannerIcon *canvas.Image
	bannerBox  *fyne.Container
	errText    string
	demo       bool
	detail     *widget.Label // the selected node whole: a row cuts a long state
	content    fyne.CanvasObject
}

func newExchangeWindow(c *Console) *exchangeWindow {
	ew := &exchangeWindow{c: c, ix: buildIndex(engine.Org{}), ticks: newTicks()}
	ew.tree = newOrgTree(ew)
	ew.banner = widget.NewLabel("")
	ew.banner.Wrapping = fyne.TextWrapWord
	ew.bannerIcon = icon(theme.InfoIcon(), 18)
	ew.bannerBox = container.NewStack(&themedRect{name: theme.ColorNameSelection},
		container.NewBorder(nil, nil, container.NewCenter(ew.bannerIcon), nil, ew.banner))
	ew.bannerBox.Hide()
	ew.detail = widget.NewLabel("")
	ew.detail.Wrapping = fyne.TextWrapWord
	ew.detail.Hide()
	ew.content = container.NewBorder(ew.bannerBox, ew.detail, nil, nil, ew.tree)
	return ew
}

// orgTree is widget.Tree with NT's keys: Space ticks the focused node,
// Enter opens or closes it, + * - expand and collapse, F5 refreshes.
type orgTree struct {
	widget.Tree
	ew *exchangeWindow
}

func newOrgTree(ew *exchangeWindow) *orgTree {
	t := &orgTree{ew: ew}
	t.ChildUIDs = func(uid string) []string { return ew.ix.ChildUIDs(uid) }
	t.IsBranch = func(uid string) bool { return ew.ix.IsBranch(uid) }
	t.CreateNode = func(bool) fyne.CanvasObject { return newNodeRow(ew) }
	t.UpdateNode = func(uid string, _ bool, o fyne.CanvasObject) { o.(*nodeRow).update(uid) }
	t.OnSelected = func(uid string) { ew.selected = uid; ew.selectionChanged() }
	t.OnUnselected = func(string) { ew.selected = ""; ew.selectionChanged() }
	t.ExtendBaseWidget(t)
	return t
}

func (t *orgTree) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeySpace:
		t.Tree.TypedKey(ev) // selects the focused node
		if uid := t.ew.selected; uid != "" {
			on, _ := t.ew.ticks.state(t.ew.ix, uid)
			t.ew.setTick(uid, !on)
		}
	case fyne.KeyReturn, fyne.KeyEnter:
		if uid := t.ew.selected; uid != "" && t.ew.ix.IsBranch(uid) {
			t.ToggleBranch(uid)
		}
	case fyne.KeyF5:
		t.ew.c.refresh()
	default:
		t.Tree.TypedKey(ev)
	}
}

func (t *orgTree) TypedRune(r rune) {
	switch r {
	case '+':
		t.ew.expandOneLevel()
	case '*':
		t.ew.expandBranch()
	case '-':
		t.ew.collapseBranch()
	}
}

// setIndex swaps in a freshly built index, keeping the ticks of the stores
// that are still there.
func (ew *exchangeWindow) setIndex(ix *orgIndex) {
	ew.ix = ix
	ew.ticks = ew.ticks.carry(ix)
	ew.errText = ""
	if ew.selected != "" && ix.nodes[ew.selected] == nil {
		ew.tree.UnselectAll()
		ew.selected = ""
	}
	if !ew.opened && ix.nodes[uidOrg] != nil {
		ew.opened = true
		ew.tree.OpenBranch(uidOrg)
		for _, s := range ix.children[uidOrg] {
			ew.tree.OpenBranch(s)
		}
	}
	ew.tree.Refresh()
	ew.updateBanner()
	ew.selectionChanged()
}

// selectionChanged follows the selected node, or its state read afresh:
// the detail line and the Operations menu's service items.
func (ew *exchangeWindow) selectionChanged() {
	ew.updateDetail()
	ew.c.updateMenuItems()
}

// updateDetail shows the selected node's name and state whole.
func (ew *exchangeWindow) updateDetail() {
	text := ""
	if n := ew.ix.nodes[ew.selected]; n != nil {
		text = n.label
		if n.detail != "" {
			text += ": " + n.detail
		}
	}
	showText(ew.detail, text)
}

// setError shows why the organization could not be read; the states in
// the tree are then those of an earlier read, and no service item acts on
// them.
func (ew *exchangeWindow) setError(msg string) {
	ew.errText = msg
	ew.updateBanner()
	ew.c.updateMenuItems()
}

func (ew *exchangeWindow) setDemo(on bool) {
	if ew.demo != on {
		ew.demo = on
		ew.updateBanner()
	}
}

func (ew *exchangeWindow) updateBanner() {
	switch {
	case ew.errText != "":
		ew.banner.SetText(ew.errText)
		ew.banner.Importance = widget.DangerImportance
		ew.bannerIcon.Resource = theme.ErrorIcon()
	case ew.demo:
		ew.banner.SetText(demoMessage)
		ew.banner.Importance = widget.MediumImportance
		ew.bannerIcon.Resource = theme.InfoIcon()
	case len(ew.ix.nodes) == 0 && ew.c.orgLoaded:
		ew.banner.SetText("No organization yet: connect to one of its servers with Operations > Microsoft Exchange…")
		ew.banner.Importance = widget.MediumImportance
		ew.bannerIcon.Resource = theme.InfoIcon()
	default:
		ew.bannerBox.Hide()
		return
	}
	ew.banner.Refresh()
	ew.bannerIcon.Refresh()
	ew.bannerBox.Show()
}

// setTick ticks or unticks a node and its subtree.
func (ew *exchangeWindow) setTick(uid string, on bool) {
	ew.ticks.set(ew.ix, uid, on)
	ew.tree.Refresh()
	ew.c.updateStatus()
}

// selectedStores are the ticked stores in tree order.
func (ew *exchangeWindow) selectedStores() []engine.StoreRef {
	return ew.ticks.selected(ew.ix)
}

// target is the node the Tree menu acts on: the selected one, or the
// organization.
func (ew *exchangeWindow) target() string {
	if ew.selected != "" {
		return ew.selected
	}
	return uidOrg
}

func (ew *exchangeWindow) expandOneLevel() {
	if uid := ew.target(); ew.ix.IsBranch(uid) {
		ew.tree.OpenBranch(uid)
	}
}

func (ew *exchangeWindow) expandBranch() {
	uid := ew.target()
	if uid == uidOrg {
		ew.tree.OpenAllBranches() // one refresh instead of one per branch
		return
	}
	for _, b := range ew.ix.branches(uid) {
		ew.tree.OpenBranch(b)
	}
}

func (ew *exchangeWindow) expandAll() { ew.tree.OpenAllBranches() }

func (ew *exchangeWindow) collapseBranch() {
	uid := ew.target()
	if uid == uidOrg {
		ew.tree.CloseAllBranches()
		return
	}
	bs := ew.ix.branches(uid)
	for i := len(bs) - 1; i >= 0; i-- {
		ew.tree.CloseBranch(bs[i])
	}
}

// nodeRow is one tree row: check box, icon, name, and the state of the
// server's services. Tapping the name selects; double-tapping opens or
// closes the branch (widget.Tree alone only opens from its arrow).
type nodeRow struct {
	widget.BaseWidget
	ew     *exchangeWindow
	uid    string
	check  *widget.Check
	icon   *canvas.Image
	name   *widget.Label
	detail *widget.Label
}

func newNodeRow(ew *exchangeWindow) *nodeRow {
	r := &nodeRow{ew: ew, name: widget.NewLabel(""), detail: widget.NewLabel(""), icon: icon(iconServer, 18)}
	r.detail.Truncation = fyne.TextTruncateEllipsis // whole in the window's detail line
	r.check = widget.NewCheck("", func(on bool) {
		if r.uid != "" {
			ew.setTick(r.uid, on)
		}
	})
	r.ExtendBaseWidget(r)
	return r
}

func (r *nodeRow) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, container.NewHBox(r.check, r.icon, r.name), nil, r.detail))
}

func (r *nodeRow) update(uid string) {
	r.uid = uid
	ix := r.ew.ix
	n := ix.nodes[uid]
	if n == nil {
		return
	}
	checked, partial := r.ew.ticks.state(ix, uid)
	if r.check.Checked != checked || r.check.Partial != partial {
		r.check.Checked, r.check.Partial = checked, partial
		r.check.Refresh()
	}
	var res fyne.Resource
	switch n.kind {
	case kindOrg:
		res = iconOrganization
	case kindSite:
		res = iconSite
	case kindServer:
		res = iconServer
	case kindStore:
		res = iconInfoStore
		if n.store == "DS" {
			res = iconDirectory
		}
	}
	if r.icon.Resource != res {
		r.icon.Resource = res
		r.icon.Refresh()
	}
	r.name.SetText(n.label)
	detail := n.detail
	if detail != "" && n.kind == kindServer {
		detail = "— " + detail
	}
	imp := widget.LowImportance
	switch n.severity {
	case 1:
		imp = widget.WarningImportance
	case 2:
		imp = widget.DangerImportance
	}
	if r.detail.Text != detail || r.detail.Importance != imp {
		r.detail.Text, r.detail.Importance = detail, imp
		r.detail.Refresh()
	}
}

func (r *nodeRow) Tapped(*fyne.PointEvent) {
	if r.uid == "" {
		return
	}
	r.ew.tree.Select(r.uid)
	if cv := fyne.CurrentApp().Driver().CanvasForObject(r.ew.tree); cv != nil {
		cv.Focus(r.ew.tree)
	}
}

// TappedSecondary opens a store's context menu: Start Service, Stop
// Service, Cancel Restore, for the store it selects.
func (r *nodeRow) TappedSecondary(ev *fyne.PointEvent) {
	n := r.ew.ix.nodes[r.uid]
	if n == nil || n.kind != kindStore {
		return
	}
	r.ew.tree.Select(r.uid)
	cv := fyne.CurrentApp().Driver().CanvasForObject(r)
	if cv == nil {
		return
	}
	widget.ShowPopUpMenuAtPosition(r.ew.c.storeMenu(n.server, n.store), cv, ev.AbsolutePosition)
}

func (r *nodeRow) DoubleTapped(*fyne.PointEvent) {
	if r.uid != "" && r.ew.ix.IsBranch(r.uid) {
		r.ew.tree.Select(r.uid)
		r.ew.tree.ToggleBranch(r.uid)
	}
}
