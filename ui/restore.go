package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/exchange"
)

// restorePage is one set's page of Restore Information and its options.
type restorePage struct {
	tape    catalog.Tape
	set     catalog.Set
	store   exchange.StoreID
	dest    string
	erase   bool
	private bool
	public  bool
	start   bool
	verify  bool
}

// restoreDialog is Restore Information: one page per set chosen in the
// Tapes window, "Set 1 of 2", Previous and Next between them.
type restoreDialog struct {
	c     *Console
	m     *modal
	keys  *dlgKeys
	pages []*restorePage
	cur   int

	heading   *widget.Label
	tapeName  *widget.Label
	backupSet *widget.Label
	created   *widget.Label
	owner     *widget.Label
	storeName *widget.Label

	dest     *dlgSelectEntry // the servers of the set's site; free text is still taken
	erase    *dlgCheck
	private  *dlgCheck
	public   *dlgCheck
	start    *dlgCheck
	verify   *dlgCheck
	dsNote   *widget.Label
	staged   *widget.Label // the last set of a chain without Start Service After Restore
	chain    *widget.Label
	logFile  *dlgEntry
	logLevel *radioGroup
	errLine  errorLine

	prev, next, ok, cancel *dlgButton
	checking               bool
	last                   bool // the page shown is the last set of its chain
}

// stagedOnly explains, on the last set of a chain restored without Start
// Service After Restore, what happens to it.
const stagedOnly = "Without Start Service After Restore the sets are only staged: the store stays restore-pending, and its recovery runs when the service is started (Operations > Start Service)."

func (d *restoreDialog) showStaged() {
	if d.staged == nil || d.start == nil {
		return
	}
	if d.last && !d.start.Checked {
		d.staged.Show()
	} else {
		d.staged.Hide()
	}
}

const restoreWidth = 540

const dsOnlyOriginal = engine.NoteDirectory

// Restore is Operations > Restore…: Restore Information for the sets
// ticked in the Tapes window.
func (c *Console) Restore() {
	if c.restoreFiles() { // files ticked in a file set's tree: extract.go
		return
	}
	if c.restoreItems() { // items ticked in a store set's tree: itemjobs.go
		return
	}
	chosen := c.tapes.tickedSets()
	if len(chosen) == 0 {
		c.info("Restore", "Select the sets to restore: tick them in the Tapes window (sets that are aborted, unreadable or on a missing tape cannot be ticked).")
		return
	}
	c.newRestoreDialog(chosen).m.show()
}

func (c *Console) newRestoreDialog(chosen []restoreChoice) *restoreDialog {
	d := &restoreDialog{c: c, keys: &dlgKeys{}}
	for _, ch := range chosen {
		p := &restorePage{tape: ch.tape, set: ch.set, store: engine.SetStore(ch.set), dest: strings.TrimLeft(ch.set.Server, `\`)}
		d.pages = append(d.pages, p)
	}
	// Both databases by default, where the set chooses them.
	for i, pg := range d.plan() {
		d.pages[i].private, d.pages[i].public = pg.ChooseDatabases, pg.ChooseDatabases
	}

	d.heading = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	d.tapeName, d.backupSet, d.created, d.owner, d.storeName = value(""), value(""), value(""), value(""), value("")

	d.dest = newDlgSelectEntry(nil, d.keys)
	d.erase = newDlgCheck("Erase all existing data", d.keys, nil)
	d.private = newDlgCheck("Private", d.keys, nil)
	d.public = newDlgCheck("Public", d.keys, nil)
	d.start = newDlgCheck("Start Service After Restore", d.keys, func(bool) { d.showStaged() })
	d.verify = newDlgCheck("Verify After Restore", d.keys, nil)
	d.dsNote = wrappedNote(dsOnlyOriginal)
	d.staged = wrappedNote(stagedOnly)
	d.chain = widget.NewLabel("")
	d.chain.Importance = widget.WarningImportance
	d.chain.Wrapping = fyne.TextWrapWord

	d.logFile = newDlgEntry(d.keys)
	d.logFile.SetText(c.logDefault())
	if c.logDefault() == "" {
		d.logFile.SetPlaceHolder(logPlaceholder)
	}
	d.logLevel = newRadioGroup([]string{logFull, logSummary, logNone}, true, d.keys, func(s string) {
		if s == logNone {
			d.logFile.Disable()
		} else {
			d.logFile.Enable()
		}
	})
	d.logLevel.SetSelected(logSummary)
	d.errLine = newErrorLine()

	d.prev = newDlgButton("< Previous", d.keys, func() { d.showPage(d.cur - 1) })
	d.next = newDlgButton("Next >", d.keys, func() { d.showPage(d.cur + 1) })
	d.ok = newDlgButton("OK", d.keys, d.submit)
	d.ok.Importance = widget.HighImportance
	d.cancel = newDlgButton("Cancel", d.keys, func() { d.m.hide() })
	d.keys.ok, d.keys.cancel = d.submit, d.cancel.OnTapped

	content := container.NewVBox(
		d.heading,
		form(
			fieldLabel("Tape Name:"), d.tapeName,
			fieldLabel("Backup Set:"), d.backupSet,
			fieldLabel("Creation Date:"), d.created,
			fieldLabel("Owner:"), d.owner,
			fieldLabel("Store:"), d.storeName,
		),
		group("Restore",
			form(fieldLabel("Destination Server:"), d.dest),
			d.erase,
			container.NewHBox(d.private, d.public),
			d.start,
			d.verify,
			// A fixed height for the notes, so that paging does not
			// resize the dialog.
			container.New(&minSizeLayout{min: fyne.NewSize(0, 44)}, container.New(&wrapLayout{width: restoreWidth}, d.dsNote, d.staged, d.chain)),
		),
		group("Log Information",
			form(
				fieldLabel("Log File:"), d.logFile,
				widget.NewLabel(""), d.logLevel.box,
			),
		),
		container.New(&wrapLayout{width: restoreWidth}, d.errLine),
	)
	d.m = c.newModal("Restore Information", content, d.keys, d.prev, d.next, d.cancel, d.ok)
	d.showPage(0)
	return d
}

// plan is what the engine's rules say of each page as it stands.
func (d *restoreDialog) plan() []engine.PagePlan {
	sets := make([]engine.PlanSet, len(d.pages))
	for i, p := range d.pages {
		sets[i] = engine.CatalogPlanSet(p.options(), p.set)
	}
	return engine.PlanRestore(sets)
}

// options are the page's choices as the engine takes them.
func (p *restorePage) options() engine.RestoreSet {
	return engine.RestoreSet{Tape: p.tape.Name, Set: p.set.Number, Destination: p.dest, Erase: p.erase,
		Private: p.private, Public: p.public, Start: p.start, Verify: p.verify}
}

// save keeps the shown page's fields.
func (d *restoreDialog) save() {
	p := d.pages[d.cur]
	if !d.dest.Disabled() {
		p.dest = strings.TrimSpace(d.dest.Text)
	}
	if !d.private.Disabled() {
		p.private, p.public = d.private.Checked, d.public.Checked
	}
	if !d.erase.Disabled() {
		p.erase = d.erase.Checked
	}
	p.start, p.verify = d.start.Checked, d.verify.Checked
}

// showPage saves the page shown and shows page i.
func (d *restoreDialog) showPage(i int) {
	if i < 0 || i >= len(d.pages) {
		return
	}
	if d.heading.Text != "" {
		d.save()
	}
	d.cur = i
	p := d.pages[i]
	pg := d.plan()[i]
	d.heading.SetText(fmt.Sprintf("Backup Set Information (Set %d of %d)", i+1, len(d.pages)))
	d.tapeName.SetText(p.tape.Name)
	bs := fmt.Sprintf("Set %d", p.set.Number)
	if p.set.Description != "" {
		bs += ": " + p.set.Description
	}
	d.backupSet.SetText(bs)
	d.created.SetText(ntDateTime(p.set.Created))
	owner := p.set.Owner
	if owner == "" {
		owner = "—"
	}
	d.owner.SetText(owner)
	d.storeName.SetText(device(p.set.Server, p.store) + " (" + engine.TypeTitle(engine.SetType(p.set)) + ")")

	d.dest.SetText(p.dest)
	d.dest.SetPlaceHolder(strings.TrimLeft(p.set.Server, `\`))
	d.dest.SetOptions(d.c.siteServers(strings.TrimLeft(p.set.Server, `\`)))
	d.erase.SetChecked(p.erase)
	d.private.SetChecked(p.private)
	d.public.SetChecked(p.public)
	d.start.SetChecked(p.start)
	d.verify.SetChecked(p.verify)
	enable(d.dest, pg.ChooseDestination)
	enable(d.erase, pg.ChooseErase)
	enable(d.private, pg.ChooseDatabases)
	enable(d.public, pg.ChooseDatabases)
	showText(d.dsNote, pg.Note)
	d.last = pg.Last
	d.showStaged()
	showText(d.chain, strings.Join(pg.Warnings, " "))
	if i == 0 {
		d.prev.Disable()
	} else {
		d.prev.Enable()
	}
	if i == len(d.pages)-1 {
		d.next.Disable()
	} else {
		d.next.Enable()
	}
	if pg.ChooseDestination {
		d.m.focus = d.dest
	} else {
		d.m.focus = d.erase
	}
	if d.m != nil && d.m.visible {
		d.c.win.Canvas().Focus(d.m.focus)
		d.m.d.Refresh()
	}
}

// siteServers are the servers of the organization in server's site, in
// the tree's order, for Destination Server; all of them when the server
// is not in the organization (a set from elsewhere).
func (c *Console) siteServers(server string) []string {
	var all []string
	for _, site := range c.exch.ix.org.Topology.Sites {
		var names []string
		found := false
		for _, s := range site.Servers {
			names = append(names, s.Name)
			found = found || strings.EqualFold(s.Name, server)
		}
		if found {
			return names
		}
		all = append(all, names...)
	}
	return all
}

// enable enables or greys a field.
func enable(w fyne.Disableable, on bool) {
	if on {
		w.Enable()
	} else {
		w.Disable()
	}
}

// showText shows a label with text, or hides it when there is none.
func showText(l *widget.Label, text string) {
	l.SetText(text)
	if text == "" {
		l.Hide()
	} else {
		l.Show()
	}
}

// request builds the RestoreRequest from the pages.
func (d *restoreDialog) request() (engine.RestoreRequest, string) {
	var req engine.RestoreRequest
	plans := d.plan()
	for i, p := range d.pages {
		// What does not apply to a set is not sent for it.
		rs, pg := p.options(), plans[i]
		rs.Erase = rs.Erase && pg.ChooseErase
		if !pg.ChooseDatabases {
			rs.Private, rs.Public = false, false
		}
		req.Sets = append(req.Sets, rs)
	}
	log, msg := readLog(d.logFile, d.logLevel)
	req.Log = log
	return req, msg
}

// submit validates every page, asks the engine for its rules and
// warnings, and starts the restore once any warning is confirmed.
func (d *restoreDialog) submit() {
	if d.checking || d.ok.Disabled() {
		return
	}
	d.save()
	for i, pg := range d.plan() {
		if pg.Err != nil {
			d.showPage(i)
			d.errLine.set(fmt.Sprintf("Set %d of %d: %s.", i+1, len(d.pages), strings.TrimSuffix(oneLine(pg.Err), ".")))
			return
		}
	}
	req, msg := d.request()
	if msg != "" {
		d.errLine.set(msg)
		return
	}
	d.errLine.set("")
	d.checking = true
	d.ok.Disable()
	d.c.goDo(func() {
		warnings, err := d.c.eng.CheckRestore(req)
		d.c.do(func() {
			d.checking = false
			d.ok.Enable()
			if !d.m.visible {
				return
			}
			if err != nil {
				d.errLine.set(oneLine(err))
				return
			}
			start := func() {
				d.m.hide()
				d.c.startRestore(req)
			}
			if len(warnings) == 0 {
				start()
				return
			}
			d.c.confirm("Restore", "Restore anyway?", "• "+strings.Join(warnings, "\n• "), "Restore", start)
		})
	})
}

// startRestore runs the restore with its status dialog.
func (c *Console) startRestore(req engine.RestoreRequest) {
	if c.restoreKey(req, c.startRestore) {
		return
	}
	req.OnBackupStreaming = c.askWait
	c.runJob("Restore Status", func(j *job) (string, error) {
		res, err := c.eng.Restore(j.ctx, req, j.progress("Restore"))
		if err != nil {
			c.forgetKeyOn(err)
			return "", err
		}
		// What the servers said about recovery came in the engine's log
		// lines; res.Messages is for callers without them.
		summary := fmt.Sprintf("Restored %d sets: %s files, %s.", res.Sets, thousands(int64(res.Files)), humanBytes(res.Bytes))
		if len(res.Warnings) > 0 {
			return summary, &jobWarning{strings.Join(res.Warnings, " ")}
		}
		return summary, nil
	}, func() { c.refreshOrg(); c.refreshTapes() })
}
