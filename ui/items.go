package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/exchange"
	"exbackup/tape"
)

// The Tapes window's item tree: a set of an Information Store opens, as NT
// Backup's Restore tab expanded a drive, into Mailboxes → mailbox →
// folders → messages and Public Folders → folders → posts, each with a
// check box. The set is read from tape and recovered in a folder of the
// console's home by the engine (slow the first time, quick once staged);
// each branch is read when it is first opened, so a folder of 10,000
// messages costs the rows in view. Ticked items go back into a live store
// with Operations > Restore… or to files with Export to folder…
// (itemjobs.go); a message opens read-only in a viewer (itemviewer.go).

// itemEngine is what the real engine offers beyond Engine for the items
// of a store set.
type itemEngine interface {
	RestoreItems(ctx context.Context, req engine.ItemRestoreRequest, p *engine.Progress) (engine.ItemRestoreResult, error)
	ExportItems(ctx context.Context, req engine.ItemExportRequest, p *engine.Progress) (engine.ItemExportResult, error)
}

// itemOpener opens a store set read-only: *engine.Engine.
type itemOpener interface {
	OpenItemsWith(ctx context.Context, req engine.ItemOpenRequest, p *engine.Progress) (*engine.Items, error)
}

// itemSource is an opened set as the pane reads it: *engine.Items, or a
// test's fake through itemSourceOpener.
type itemSource interface {
	Browse(path string) ([]engine.ItemNode, error)
	Search(f engine.ItemFilter) ([]engine.ItemNode, error)
	Open(path string) ([]byte, exchange.ItemSummary, error)
	Close() error
}

// itemSourceOpener is an engine that hands out its own itemSource (the
// tests' fakes); the real one is an itemOpener.
type itemSourceOpener interface {
	openItemSource(ctx context.Context, req engine.ItemOpenRequest, p *engine.Progress) (itemSource, itemSetInfo, error)
}

// itemSetInfo is what the pane says of an opened set.
type itemSetInfo struct {
	Chain   []engine.SetRef
	Bytes   int64 // temporary space
	Cached  bool
	Elapsed time.Duration
}

// itemsSupported reports whether the engine can open store sets.
func (c *Console) itemsSupported() bool {
	if _, ok := c.eng.(itemEngine); !ok {
		return false
	}
	_, a := c.eng.(itemOpener)
	_, b := c.eng.(itemSourceOpener)
	return a || b
}

func (c *Console) openItemSource(ctx context.Context, req engine.ItemOpenRequest, p *engine.Progress) (itemSource, itemSetInfo, error) {
	switch e := c.eng.(type) {
	case itemSourceOpener:
		return e.openItemSource(ctx, req, p)
	case itemOpener:
		it, err := e.OpenItemsWith(ctx, req, p)
		if err != nil {
			return nil, itemSetInfo{}, err
		}
		return it, itemSetInfo{Chain: it.Chain, Bytes: it.Bytes, Cached: it.Cached, Elapsed: it.Elapsed}, nil
	}
	return nil, itemSetInfo{}, errors.New("this console cannot open the mailboxes of a store set")
}

// isItemSet reports whether a set is one whose mailboxes can be browsed: a
// complete Information Store set written by exbackup.
func isItemSet(s catalog.Set) bool {
	return !s.Foreign && s.State == catalog.StateComplete && engine.SetStore(s) == exchange.StoreIS
}

// Placeholder rows of a branch being read, or that could not be read.
const (
	loadingSuffix = "\x00loading"
	failedSuffix  = "\x00failed"
)

func placeholder(id string) bool {
	return strings.HasSuffix(id, loadingSuffix) || strings.HasSuffix(id, failedSuffix)
}

// itemPane is the tree of the highlighted store set's items, the search
// over it and the ticks that mark items for restore or export.
type itemPane struct {
	c    *Console
	tape catalog.Tape
	set  catalog.Set
	gen  int

	src     itemSource // nil until the set is open
	info    itemSetInfo
	nodes   map[string]engine.ItemNode
	kids    map[string][]string
	loading map[string]bool
	failed  map[string]string
	ticks   *tickSet

	selected string // the highlighted item's path
	results  []string
	searched bool // the list shows search results

	opening bool
	cancel  context.CancelFunc

	title    *widget.Label
	status   *widget.Label
	tree     *itemTree
	list     *widget.List
	sender   *widget.Entry
	subject  *widget.Entry
	since    *widget.Entry
	before   *widget.Entry
	search   *widget.Button
	clear    *widget.Button
	open     *widget.Button
	restore  *widget.Button
	export   *widget.Button
	browse   *widget.Button // opens the set
	abort    *widget.Button // stops the opening
	progress *widget.ProgressBar
	spinner  *widget.ProgressBarInfinite
	intro    *widget.Label
	front    *fyne.Container // the opening panel
	browser  fyne.CanvasObject
	content  fyne.CanvasObject
}

func newItemPane(c *Console) *itemPane {
	p := &itemPane{c: c}
	p.reset()
	p.tree = newItemTree(p)
	p.list = widget.NewList(
		func() int { return len(p.results) },
		func() fyne.CanvasObject { return newItemRow() },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(p.results) {
				r := o.(*itemRow)
				r.onTap = func() { p.list.Select(i) }
				r.onDouble = func() { p.list.Select(i); p.openSelected() }
				p.updateRow(p.results[i], r, true)
			}
		},
	)
	p.list.OnSelected = func(i widget.ListItemID) {
		if i < len(p.results) {
			p.selected = p.results[i]
			p.updateButtons()
		}
	}
	p.list.Hide()

	p.title = widget.NewLabelWithStyle("Mailboxes", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.title.Truncation = fyne.TextTruncateEllipsis
	p.status = widget.NewLabel("")
	p.status.Importance = widget.LowImportance
	p.status.Truncation = fyne.TextTruncateEllipsis

	entry := func(hint string) *widget.Entry {
		e := widget.NewEntry()
		e.SetPlaceHolder(hint)
		e.OnSubmitted = func(string) { p.runSearch() }
		return e
	}
	p.sender, p.subject = entry("Sender"), entry("Subject")
	p.since, p.before = entry("From date"), entry("To date")
	p.search = widget.NewButtonWithIcon("Search", theme.SearchIcon(), p.runSearch)
	p.clear = widget.NewButton("Clear", p.clearSearch)
	p.clear.Disable()
	dates := container.NewGridWithColumns(2, p.since, p.before)
	words := container.NewGridWithColumns(2, p.sender, p.subject)
	searchRow := container.NewBorder(nil, nil, nil, container.NewHBox(p.search, p.clear), container.NewGridWithColumns(2, words, dates))

	p.open = widget.NewButtonWithIcon("Open", theme.MailComposeIcon(), p.openSelected)
	p.restore = widget.NewButton("Restore…", func() { c.action(c.Restore)() })
	p.export = widget.NewButtonWithIcon("Export to folder…", theme.FolderOpenIcon(), func() { c.action(c.ExportItems)() })
	buttons := container.NewHBox(p.open, p.restore, p.export)

	p.browser = container.NewBorder(searchRow, nil, nil, nil, container.NewStack(p.tree, p.list))

	p.intro = widget.NewLabel("")
	p.intro.Wrapping = fyne.TextWrapWord
	p.browse = widget.NewButtonWithIcon("Browse Mailboxes", theme.FolderOpenIcon(), p.start)
	p.browse.Importance = widget.HighImportance
	p.abort = widget.NewButton("Cancel", p.stop)
	p.abort.Hide()
	p.progress = widget.NewProgressBar()
	p.progress.Hide()
	p.spinner = widget.NewProgressBarInfinite()
	p.spinner.Stop()
	p.spinner.Hide()
	p.front = container.NewVBox(p.intro, container.NewStack(p.progress, p.spinner), container.NewHBox(p.browse, p.abort))

	p.content = container.NewBorder(p.title, container.NewBorder(nil, nil, nil, buttons, p.status), nil, nil,
		container.NewStack(p.browser, container.NewPadded(p.front)))
	p.browser.Hide()
	p.updateButtons()
	return p
}

func (p *itemPane) reset() {
	p.nodes, p.kids, p.loading, p.failed = map[string]engine.ItemNode{}, map[string][]string{}, map[string]bool{}, map[string]string{}
	p.ticks = newTickSet(p.kidsNow, p.knownKids)
	p.selected, p.results, p.searched = "", nil, false
}

// show shows a store set: what opening it does, and the button that does it.
func (p *itemPane) show(t catalog.Tape, s catalog.Set) {
	if p.set.ID == s.ID && p.tape.ID == t.ID && (p.src != nil || p.opening) {
		return
	}
	p.close()
	p.tape, p.set = t, s
	title := fmt.Sprintf("Mailboxes and public folders of set %d on %s (%s, %s)", s.Number, t.Name, engine.TypeTitle(engine.SetType(s)), ntDateTime(s.Created))
	if s.Description != "" {
		title += fmt.Sprintf(": \u201c%s\u201d", s.Description)
	}
	p.title.SetText(title)
	server := strings.TrimLeft(s.Server, `\`)
	intro := fmt.Sprintf("Set %d holds the Information Store of %s. Browse its mailboxes to restore single mailboxes, folders or messages into a live server, or to export them: the set (with the sets before it, for an incremental or differential) is read from tape and recovered in a temporary folder the first time, without touching any server.", s.Number, server)
	if s.Encrypted {
		intro += " The set is encrypted: its key is asked first."
	}
	p.intro.SetText(intro)
	p.setStatus("", widget.LowImportance)
	p.front.Show()
	p.browser.Hide()
	p.browse.Show()
	p.browse.Enable()
	p.abort.Hide()
	p.progress.Hide()
	p.spinner.Stop()
	p.spinner.Hide()
	p.updateButtons()
}

// close closes the open set, or stops its opening.
func (p *itemPane) close() {
	p.gen++
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
	p.opening = false
	if p.src != nil {
		src := p.src
		p.src = nil
		p.c.goDo(func() { src.Close() })
	}
	p.reset()
	p.set, p.tape = catalog.Set{}, catalog.Tape{}
	p.tree.Refresh()
	p.list.Refresh()
}

func (p *itemPane) setStatus(msg string, imp widget.Importance) {
	setLabel(p.status, msg, imp)
}

// start opens the set off the UI goroutine, asking for its key first when
// it is encrypted.
func (p *itemPane) start() {
	if p.opening || p.src != nil || p.set.ID == 0 && p.set.Number == 0 {
		return
	}
	if p.set.Encrypted {
		p.c.withKey(fmt.Sprintf("Set %d of tape \"%s\" is encrypted.", p.set.Number, p.tape.Name), p.startWith)
		return
	}
	p.startWith(nil)
}

func (p *itemPane) startWith(kp tape.KeyProvider) {
	if p.opening || p.src != nil {
		return
	}
	p.gen++
	gen := p.gen
	p.opening = true
	ctx, cancel := context.WithCancel(p.c.ctx)
	p.cancel = cancel
	prog := engine.NewProgress("Browse")
	where := fmt.Sprintf("Reading set %d from tape \u201c%s\u201d…", p.set.Number, p.tape.Name)
	p.setStatus(where, widget.LowImportance)
	p.browse.Hide()
	p.abort.Show()
	p.progress.Hide()
	p.spinner.Show()
	p.spinner.Start()
	req := engine.ItemOpenRequest{Tape: p.tape.Name, Set: p.set.Number, Keys: kp}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(statusRefresh)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s := prog.Snapshot()
				p.c.do(func() {
					if gen == p.gen && p.opening {
						p.showProgress(where, s)
					}
				})
			}
		}
	}()
	p.c.goDo(func() {
		src, info, err := p.c.openItemSource(ctx, req, prog)
		close(done)
		var roots, mailboxes []engine.ItemNode
		if err == nil {
			roots, err = src.Browse("")
			if err == nil {
				mailboxes, err = src.Browse(engine.RootMailboxes)
			}
			if err != nil {
				src.Close()
			}
		}
		p.c.do(func() {
			if gen != p.gen {
				if err == nil {
					p.c.goDo(func() { src.Close() })
				}
				return
			}
			p.opening = false
			p.cancel = nil
			cancel()
			p.spinner.Stop()
			p.spinner.Hide()
			p.progress.Hide()
			p.abort.Hide()
			if err != nil {
				if kp != nil {
					p.c.forgetKeyOn(err)
				}
				p.browse.SetText("Try Again")
				p.browse.Show()
				msg := oneLine(err)
				if errors.Is(err, context.Canceled) {
					msg = fmt.Sprintf("Reading set %d was cancelled.", p.set.Number)
				}
				p.setStatus(msg, widget.DangerImportance)
				return
			}
			p.browse.SetText("Browse Mailboxes")
			p.src, p.info = src, info
			p.loaded("", roots)
			p.loaded(engine.RootMailboxes, mailboxes)
			p.front.Hide()
			p.browser.Show()
			p.tree.Refresh()
			p.tree.OpenBranch(engine.RootMailboxes)
			p.tree.OpenBranch(engine.RootPublic)
			p.updateStatus()
			p.updateButtons()
		})
	})
}

// stop cancels the opening.
func (p *itemPane) stop() {
	if p.cancel != nil {
		p.cancel()
	}
}

func (p *itemPane) showProgress(where string, s engine.Snapshot) {
	msg := where
	if s.Bytes > 0 {
		msg += " " + humanBytes(s.Bytes)
		if s.TotalBytes > 0 {
			msg += " of " + humanBytes(s.TotalBytes)
		}
	}
	if s.Current != "" {
		msg += " (" + s.Current + ")"
	}
	p.setStatus(msg, widget.LowImportance)
	if f := s.Fraction(); f >= 0 {
		if p.spinner.Visible() {
			p.spinner.Stop()
			p.spinner.Hide()
			p.progress.Show()
		}
		p.progress.SetValue(f)
	}
}

// loaded keeps a branch's children as read.
func (p *itemPane) loaded(id string, nodes []engine.ItemNode) {
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		p.nodes[n.Path] = n
		ids[i] = n.Path
	}
	p.kids[id] = ids
	delete(p.failed, id)
}

// isBranch: the roots, mailboxes and folders (the set itself is the root).
func (p *itemPane) isBranch(id string) bool {
	if id == "" {
		return true
	}
	n, ok := p.nodes[id]
	return ok && !n.Leaf()
}

// children answers a branch's children, reading them off the UI goroutine
// the first time (a "Reading…" row stands in meanwhile).
func (p *itemPane) children(id string) []string {
	if p.src == nil {
		return nil
	}
	if ks, ok := p.kids[id]; ok {
		return ks
	}
	if _, ok := p.failed[id]; ok {
		return []string{id + failedSuffix}
	}
	if !p.loading[id] {
		p.loading[id] = true
		gen, src := p.gen, p.src
		p.c.goDo(func() {
			nodes, err := src.Browse(id)
			p.c.do(func() {
				if gen != p.gen {
					return
				}
				delete(p.loading, id)
				if err != nil {
					p.failed[id] = oneLine(err)
					p.setStatus(oneLine(err), widget.DangerImportance)
				} else if _, ok := p.kids[id]; !ok {
					p.loaded(id, nodes)
				}
				p.tree.Refresh()
			})
		})
	}
	return []string{id + loadingSuffix}
}

// knownKids are a branch's children when they have been read.
func (p *itemPane) knownKids(id string) ([]string, bool) {
	ks, ok := p.kids[id]
	return ks, ok
}

// kidsNow reads a branch's children now: only when unticking an item
// inside a ticked branch that was never opened (from the search list).
func (p *itemPane) kidsNow(id string) ([]string, error) {
	if ks, ok := p.kids[id]; ok {
		return ks, nil
	}
	if p.src == nil {
		return nil, errors.New("the set is not open")
	}
	nodes, err := p.src.Browse(id)
	if err != nil {
		return nil, err
	}
	p.loaded(id, nodes)
	return p.kids[id], nil
}

// tick ticks or unticks an item (a branch: everything under it).
func (p *itemPane) tick(id string, on bool) {
	if p.src == nil || placeholder(id) {
		return
	}
	if err := p.ticks.set(id, on); err != nil {
		p.setStatus(oneLine(err), widget.DangerImportance)
	} else {
		p.updateStatus()
	}
	p.tree.Refresh()
	p.list.Refresh()
	p.updateButtons()
}

// items are the ticked paths, a wholly ticked branch as itself.
func (p *itemPane) items() []string {
	if p.src == nil {
		return nil
	}
	return p.ticks.ticked()
}

func (p *itemPane) updateStatus() {
	if p.src == nil {
		return
	}
	var mbs, msgs int
	var size int64
	for _, id := range p.kids[""] {
		n := p.nodes[id]
		msgs += n.Messages
		size += n.Size
		if id == engine.RootMailboxes {
			mbs = n.Folders
		}
	}
	msg := fmt.Sprintf("%s, %s, %s.", plural(mbs, "mailbox", "mailboxes"), plural(msgs, "message", "messages"), humanBytes(size))
	if p.searched {
		msg = fmt.Sprintf("%s match.", plural(len(p.results), "message", "messages"))
		if len(p.results) == 1 {
			msg = "1 message matches."
		}
	}
	if n := len(p.ticks.on); n > 0 {
		msg += fmt.Sprintf(" %s ticked for Restore… or Export.", plural(n, "item", "items"))
	} else {
		msg += " Tick mailboxes, folders or messages to restore or export them."
	}
	if len(p.info.Chain) > 1 {
		msg += fmt.Sprintf(" Recovered from %d sets.", len(p.info.Chain))
	}
	if p.info.Bytes > 0 {
		msg += fmt.Sprintf(" Temporary space: %s.", humanBytes(p.info.Bytes))
	}
	p.setStatus(msg, widget.LowImportance)
}

func (p *itemPane) updateButtons() {
	n, ok := p.nodes[p.selected]
	enable(p.open, p.src != nil && ok && n.Leaf())
	enable(p.restore, p.src != nil && !p.ticks.none())
	enable(p.export, p.src != nil && !p.ticks.none())
	enable(p.clear, p.searched)
	on := p.src != nil
	for _, w := range []fyne.Disableable{p.sender, p.subject, p.since, p.before, p.search} {
		enable(w, on)
	}
}

// parseDay reads a date as the console writes it (11/25/2026) or as ISO
// (2026-11-25).
func parseDay(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"1/2/2006", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date: write it as 11/25/2026 or 2026-11-25", s)
}

// filter is the search the fields ask for.
func (p *itemPane) filter() (engine.ItemFilter, error) {
	f := engine.ItemFilter{From: strings.TrimSpace(p.sender.Text), Subject: strings.TrimSpace(p.subject.Text)}
	if s := strings.TrimSpace(p.since.Text); s != "" {
		t, err := parseDay(s)
		if err != nil {
			return f, err
		}
		f.Since = t
	}
	if s := strings.TrimSpace(p.before.Text); s != "" {
		t, err := parseDay(s)
		if err != nil {
			return f, err
		}
		f.Before = t.AddDate(0, 0, 1) // the To date is included
	}
	if !f.Since.IsZero() && !f.Before.IsZero() && !f.Before.After(f.Since) {
		return f, errors.New("the To date is before the From date")
	}
	return f, nil
}

// runSearch lists the messages and posts that match, off the UI goroutine.
func (p *itemPane) runSearch() {
	if p.src == nil {
		return
	}
	f, err := p.filter()
	if err != nil {
		p.setStatus(upperFirst(oneLine(err))+".", widget.DangerImportance)
		return
	}
	if f.From == "" && f.Subject == "" && f.Since.IsZero() && f.Before.IsZero() {
		p.clearSearch()
		return
	}
	p.setStatus("Searching…", widget.LowImportance)
	gen, src := p.gen, p.src
	p.c.goDo(func() {
		nodes, err := src.Search(f)
		p.c.do(func() {
			if gen != p.gen {
				return
			}
			if err != nil {
				p.setStatus(oneLine(err), widget.DangerImportance)
				return
			}
			p.results = make([]string, len(nodes))
			for i, n := range nodes {
				if _, ok := p.nodes[n.Path]; !ok {
					p.nodes[n.Path] = n
				}
				p.results[i] = n.Path
			}
			p.searched = true
			p.selected = ""
			p.list.UnselectAll()
			p.tree.Hide()
			p.list.Show()
			p.list.Refresh()
			p.list.ScrollToTop()
			p.updateStatus()
			p.updateButtons()
		})
	})
}

// clearSearch goes back to the tree.
func (p *itemPane) clearSearch() {
	p.results, p.searched = nil, false
	p.selected = ""
	p.list.UnselectAll()
	p.tree.UnselectAll()
	p.list.Hide()
	p.tree.Show()
	p.tree.Refresh()
	p.updateStatus()
	p.updateButtons()
}

// openSelected opens the highlighted message in the viewer.
func (p *itemPane) openSelected() {
	n, ok := p.nodes[p.selected]
	if p.src == nil || !ok || !n.Leaf() {
		return
	}
	p.c.openViewer(p.src, n)
}

// itemLocation is where a message lives, as a person reads it:
// "alice/Inbox", "Public Folders/Projects".
func itemLocation(path string) string {
	loc := tickParent(path)
	if strings.HasPrefix(loc, engine.RootMailboxes+"/") {
		return strings.TrimPrefix(loc, engine.RootMailboxes+"/")
	}
	return loc
}

func (p *itemPane) updateRow(id string, r *itemRow, flat bool) {
	if placeholder(id) {
		r.showCheck(false)
		r.setIcon(nil)
		parent := strings.TrimSuffix(strings.TrimSuffix(id, loadingSuffix), failedSuffix)
		if strings.HasSuffix(id, failedSuffix) {
			setLabel(r.name, p.failed[parent], widget.DangerImportance)
		} else {
			setLabel(r.name, "Reading…", widget.LowImportance)
		}
		setLabel(r.from, "", widget.MediumImportance)
		setLabel(r.date, "", widget.MediumImportance)
		setLabel(r.size, "", widget.MediumImportance)
		return
	}
	n, ok := p.nodes[id]
	if !ok {
		return
	}
	r.showCheck(true)
	all, some := p.ticks.state(id)
	r.check.OnChanged = nil
	r.check.Checked, r.check.Partial = all, some && !all
	r.check.Refresh()
	r.check.OnChanged = func(on bool) { p.tick(id, on) }
	var res fyne.Resource
	name, from, date, size := n.Name, "", "", ""
	switch n.Kind {
	case engine.ItemRoot:
		res = theme.StorageIcon()
		size = plural(n.Messages, "message", "messages")
	case engine.ItemMailbox:
		res = theme.AccountIcon()
		if n.Mailbox != nil && n.Mailbox.DisplayName != "" && !strings.EqualFold(n.Mailbox.DisplayName, n.Name) {
			name += " (" + n.Mailbox.DisplayName + ")"
		}
		size = plural(n.Messages, "message", "messages")
	case engine.ItemFolder:
		res = theme.FolderIcon()
		size = plural(n.Messages, "message", "messages")
	default:
		res = theme.MailComposeIcon()
		if n.Kind == engine.ItemPost {
			res = theme.DocumentIcon()
		}
		if n.Item != nil {
			from = n.Item.From
			if !n.Item.Date.IsZero() {
				date = ntDateTime(n.Item.Date)
			}
			if len(n.Item.Attachments) > 0 {
				res = theme.FileIcon()
			}
		}
		size = humanBytes(n.Size)
		if name == "" {
			name = "(no subject)"
		}
		if flat {
			name += "  \u2014 " + itemLocation(id)
		}
	}
	r.setIcon(res)
	setLabel(r.name, name, widget.MediumImportance)
	setLabel(r.from, from, widget.MediumImportance)
	setLabel(r.date, date, widget.MediumImportance)
	setLabel(r.size, size, widget.MediumImportance)
}

// itemTree is the items' tree; Enter opens the highlighted message, Space
// ticks or unticks it.
type itemTree struct {
	widget.Tree
	p *itemPane
}

func newItemTree(p *itemPane) *itemTree {
	t := &itemTree{p: p}
	t.ChildUIDs = p.children
	t.IsBranch = p.isBranch
	t.CreateNode = func(bool) fyne.CanvasObject { return newItemRow() }
	t.UpdateNode = func(id widget.TreeNodeID, _ bool, o fyne.CanvasObject) {
		r := o.(*itemRow)
		r.onTap = func() { t.Select(id) }
		r.onDouble = func() {
			t.Select(id)
			if p.isBranch(id) {
				t.ToggleBranch(id)
				return
			}
			p.openSelected()
		}
		p.updateRow(id, r, false)
	}
	t.OnSelected = func(id widget.TreeNodeID) {
		if placeholder(id) {
			t.Unselect(id)
			return
		}
		p.selected = id
		p.updateButtons()
	}
	t.ExtendBaseWidget(t)
	return t
}

func (t *itemTree) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		t.p.openSelected()
	case fyne.KeySpace:
		t.Tree.TypedKey(ev) // highlights the focused row
		if id := t.p.selected; id != "" {
			all, _ := t.p.ticks.state(id)
			t.p.tick(id, !all)
		}
	default:
		t.Tree.TypedKey(ev)
	}
}

// itemRow is one line of the tree or of the search list: check box, icon,
// name (a message's subject), sender, date and size. A tap highlights it,
// a double tap opens it.
type itemRow struct {
	widget.BaseWidget
	check                  *widget.Check
	icon                   *canvas.Image
	name, from, date, size *widget.Label
	onTap, onDouble        func()
	box                    *fyne.Container
}

func newItemRow() *itemRow {
	r := &itemRow{check: widget.NewCheck("", nil), icon: icon(theme.FolderIcon(), 16),
		name: widget.NewLabel(""), from: widget.NewLabel(""), date: widget.NewLabel(""), size: widget.NewLabel("")}
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.from.Truncation = fyne.TextTruncateEllipsis
	r.size.Alignment = fyne.TextAlignTrailing
	r.ExtendBaseWidget(r)
	return r
}

func (r *itemRow) CreateRenderer() fyne.WidgetRenderer {
	left := container.NewHBox(r.check, container.NewCenter(r.icon))
	right := container.NewHBox(
		container.New(&minSizeLayout{min: fyne.NewSize(180, 0)}, r.from),
		container.New(&minSizeLayout{min: fyne.NewSize(140, 0)}, r.date),
		container.New(&minSizeLayout{min: fyne.NewSize(100, 0)}, r.size),
	)
	r.box = container.NewBorder(nil, nil, left, right, r.name)
	return widget.NewSimpleRenderer(r.box)
}

// showCheck shows or hides the check box (a "Reading…" row has none),
// laying the row out again as its left part changes width.
func (r *itemRow) showCheck(on bool) {
	if on == r.check.Visible() {
		return
	}
	if on {
		r.check.Show()
	} else {
		r.check.Hide()
	}
	if r.box != nil {
		r.box.Refresh()
	}
}

func (r *itemRow) setIcon(res fyne.Resource) {
	was := r.icon.Visible()
	if res == nil {
		r.icon.Hide()
	} else {
		if r.icon.Resource != res {
			r.icon.Resource = res
			r.icon.Refresh()
		}
		r.icon.Show()
	}
	if was != r.icon.Visible() && r.box != nil {
		r.box.Refresh()
	}
}

func (r *itemRow) Tapped(*fyne.PointEvent) {
	if r.onTap != nil {
		r.onTap()
	}
}

func (r *itemRow) DoubleTapped(*fyne.PointEvent) {
	if r.onDouble != nil {
		r.onDouble()
	}
}
