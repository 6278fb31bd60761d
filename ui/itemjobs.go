package ui

import (
	"fmt"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/tape"
)

// Restore Information for items ticked in a store set's tree (they go back
// into a live Information Store, online, through the engine's
// RestoreItems), and Export to folder… (ExportItems).

const (
	itemsToOriginal  = "The original mailbox and folder"
	itemsToOther     = "Another mailbox:"
	itemsToRecovered = "A folder \u201c%s\u201d"
	exportEml        = "One .eml file per message"
	exportMbox       = "One mbox file per folder"
)

// itemsDialog is the Restore Information page of an item-level restore.
type itemsDialog struct {
	c        *Console
	m        *modal
	keys     *dlgKeys
	tape     catalog.Tape
	set      catalog.Set
	items    []string
	where    *radioGroup
	mailbox  *dlgSelectEntry
	dest     *dlgSelectEntry
	recreate *dlgCheck
	errLine  errorLine
	ok       *dlgButton
	recLabel string
}

// restoreItems opens Restore Information for the ticked items; false when
// no item is ticked.
func (c *Console) restoreItems() bool { return c.openItemRestore() != nil }

func (c *Console) openItemRestore() *itemsDialog {
	p := c.tapes.files.store
	items := p.items()
	if len(items) == 0 {
		return nil
	}
	d := c.newItemsDialog(p, items)
	d.m.show()
	return d
}

// shownItems names the first items, and how many more.
func (p *itemPane) shownItems(items []string) string {
	shown := make([]string, 0, 4)
	for i, it := range items {
		if i == 3 {
			shown = append(shown, fmt.Sprintf("and %d more", len(items)-3))
			break
		}
		if n, ok := p.nodes[it]; ok && n.Leaf() {
			subject := n.Name
			if subject == "" {
				subject = "(no subject)"
			}
			shown = append(shown, fmt.Sprintf("\u201c%s\u201d in %s", subject, itemLocation(it)))
			continue
		}
		shown = append(shown, strings.TrimPrefix(it, engine.RootMailboxes+"/"))
	}
	return strings.Join(shown, ", ")
}

// setInfo is the form lines that name a set.
func setInfo(t catalog.Tape, s catalog.Set, selected string) []fyne.CanvasObject {
	bs := fmt.Sprintf("Set %d", s.Number)
	if s.Description != "" {
		bs += ": " + s.Description
	}
	owner := s.Owner
	if owner == "" {
		owner = "\u2014"
	}
	return []fyne.CanvasObject{
		fieldLabel("Tape Name:"), value(t.Name),
		fieldLabel("Backup Set:"), value(bs),
		fieldLabel("Creation Date:"), value(ntDateTime(s.Created)),
		fieldLabel("Owner:"), value(owner),
		fieldLabel("Selected:"), value(selected),
	}
}

// aliases are the set's mailboxes read so far, for the mailbox drop-down.
func (p *itemPane) aliases() []string {
	var out []string
	for _, id := range p.kids[engine.RootMailboxes] {
		out = append(out, p.nodes[id].Name)
	}
	return out
}

func (c *Console) newItemsDialog(p *itemPane, items []string) *itemsDialog {
	d := &itemsDialog{c: c, keys: &dlgKeys{}, tape: p.tape, set: p.set, items: items}
	d.recLabel = fmt.Sprintf(itemsToRecovered, engine.RecoveredFolder(c.now()))
	server := strings.TrimLeft(p.set.Server, `\`)
	d.mailbox = newDlgSelectEntry(p.aliases(), d.keys)
	d.mailbox.SetPlaceHolder("alias")
	d.where = newRadioGroup([]string{itemsToOriginal, itemsToOther, d.recLabel}, false, d.keys, func(s string) {
		if s == itemsToOriginal {
			d.mailbox.Disable()
		} else {
			d.mailbox.Enable()
		}
	})
	d.where.SetSelected(itemsToOriginal)
	d.mailbox.Disable()
	d.dest = newDlgSelectEntry(c.siteServers(server), d.keys)
	d.dest.SetText(server)
	d.dest.SetPlaceHolder(server)
	d.recreate = newDlgCheck("Recreate a deleted mailbox from its Directory entry in the set", d.keys, nil)
	d.errLine = newErrorLine()
	d.ok = newDlgButton("OK", d.keys, d.submit)
	d.ok.Importance = widget.HighImportance
	cancel := newDlgButton("Cancel", d.keys, func() { d.m.hide() })
	d.keys.ok, d.keys.cancel = d.submit, cancel.OnTapped

	content := container.NewVBox(
		widget.NewLabelWithStyle("Backup Set Information (mailboxes, folders and messages)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		form(setInfo(p.tape, p.set, p.shownItems(items))...),
		group("Restore",
			form(fieldLabel("Destination Server:"), d.dest),
			widget.NewLabel("Restore the items into:"),
			// The mailbox's field beside the choice it belongs to.
			container.NewVBox(d.where.box.Objects[0], container.NewBorder(nil, nil, d.where.box.Objects[1], nil, d.mailbox), d.where.box.Objects[2]),
			container.New(&wrapLayout{width: restoreWidth}, wrappedNote("A Recovered Items folder goes into the mailbox given, else into each item's own. A message already in its folder (same Message-ID, same bytes) is not restored twice.")),
			d.recreate,
		),
		container.New(&wrapLayout{width: restoreWidth}, d.errLine),
	)
	d.m = c.newModal("Restore Information", content, d.keys, cancel, d.ok)
	d.m.focus = d.dest
	return d
}

// request is the restore the page asks for, or why it cannot start.
func (d *itemsDialog) request() (engine.ItemRestoreRequest, string) {
	req := engine.ItemRestoreRequest{Tape: d.tape.Name, Set: d.set.Number, Items: d.items,
		Server: strings.TrimSpace(d.dest.Text), Recreate: d.recreate.Checked}
	alias := strings.TrimSpace(d.mailbox.Text)
	switch d.where.Selected() {
	case itemsToOther:
		if alias == "" {
			return req, "Give the alias of the mailbox to restore into."
		}
		req.To = alias
	case d.recLabel:
		req.Recovered, req.To = true, alias
	}
	if req.Server == "" {
		return req, "Give the destination server."
	}
	req.Log = engine.LogOptions{Path: d.c.logDefault(), Level: engine.LogSummary}
	return req, ""
}

func (d *itemsDialog) submit() {
	req, msg := d.request()
	if msg != "" {
		d.errLine.set(msg)
		return
	}
	d.m.hide()
	d.c.startItemRestore(req)
}

// itemsKey asks for the key of an encrypted set, then goes on.
func (c *Console) itemsKey(tapeName string, set int, then func(tape.KeyProvider)) bool {
	if !c.encryptedSet(tapeName, set) {
		return false
	}
	c.withKey(fmt.Sprintf("Set %d of tape \"%s\" is encrypted.", set, tapeName), then)
	return true
}

// startItemRestore runs an item-level restore under Restore Status.
func (c *Console) startItemRestore(req engine.ItemRestoreRequest) {
	ie, ok := c.eng.(itemEngine)
	if !ok {
		return
	}
	if req.Keys == nil && c.itemsKey(req.Tape, req.Set, func(kp tape.KeyProvider) {
		req.Keys = kp
		c.startItemRestore(req)
	}) {
		return
	}
	c.runJob("Restore Status", func(j *job) (string, error) {
		res, err := ie.RestoreItems(j.ctx, req, j.progress("Restore"))
		for _, m := range res.Messages {
			j.log(m)
		}
		if err != nil {
			c.forgetKeyOn(err)
			return "", err
		}
		return itemRestoreSummary(res), nil
	}, func() { c.refreshOrg() })
}

// itemRestoreSummary is the result line: "12 messages restored, 3 already
// there; folder alice/Projects recreated."
func itemRestoreSummary(res engine.ItemRestoreResult) string {
	s := plural(res.Imported, "message", "messages") + " restored"
	if res.Duplicates > 0 {
		s += fmt.Sprintf(", %s already there", thousands(int64(res.Duplicates)))
	}
	var made []string
	if n := len(res.MailboxesCreated); n > 0 {
		made = append(made, fmt.Sprintf("%s %s recreated", pick(n, "mailbox", "mailboxes"), strings.Join(res.MailboxesCreated, ", ")))
	}
	if n := len(res.FoldersCreated); n > 0 {
		made = append(made, fmt.Sprintf("%s %s recreated", pick(n, "folder", "folders"), strings.Join(res.FoldersCreated, ", ")))
	}
	if len(made) > 0 {
		s += "; " + strings.Join(made, "; ")
	}
	return s + "."
}

func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ExportItems is Export to folder…: the ticked items as .eml or mbox files.
func (c *Console) ExportItems() {
	if c.openItemExport() == nil {
		c.info("Export to Folder", "Tick the mailboxes, folders or messages to export: highlight a set of an Information Store in the Tapes window and browse its mailboxes.")
	}
}

// exportDialog asks where and how to export the ticked items.
type exportDialog struct {
	c       *Console
	m       *modal
	keys    *dlgKeys
	tape    catalog.Tape
	set     catalog.Set
	items   []string
	dir     *dlgEntry
	format  *radioGroup
	errLine errorLine
}

func (c *Console) openItemExport() *exportDialog {
	p := c.tapes.files.store
	items := p.items()
	if len(items) == 0 {
		return nil
	}
	d := c.newExportDialog(p, items)
	d.m.show()
	return d
}

func defaultExportFolder() string {
	if d := defaultRestoreFolder(); d != "" {
		return filepath.Join(filepath.Dir(d), "Exported")
	}
	return ""
}

func (c *Console) newExportDialog(p *itemPane, items []string) *exportDialog {
	d := &exportDialog{c: c, keys: &dlgKeys{}, tape: p.tape, set: p.set, items: items}
	d.dir = newDlgEntry(d.keys)
	d.dir.SetText(defaultExportFolder())
	browse := newDlgButton("Browse…", d.keys, func() {
		dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
			if err == nil && u != nil {
				d.dir.SetText(u.Path())
			}
		}, c.win).Show()
	})
	d.format = newRadioGroup([]string{exportEml, exportMbox}, false, d.keys, nil)
	d.format.SetSelected(exportEml)
	d.errLine = newErrorLine()
	ok := newDlgButton("OK", d.keys, d.submit)
	ok.Importance = widget.HighImportance
	cancel := newDlgButton("Cancel", d.keys, func() { d.m.hide() })
	d.keys.ok, d.keys.cancel = d.submit, cancel.OnTapped
	content := container.NewVBox(
		widget.NewLabelWithStyle("Backup Set Information (mailboxes, folders and messages)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		form(setInfo(p.tape, p.set, p.shownItems(items))...),
		group("Export",
			form(fieldLabel("Folder:"), container.NewBorder(nil, nil, nil, browse, d.dir)),
			d.format.box,
			container.New(&wrapLayout{width: restoreWidth}, wrappedNote("Each message keeps its exact stored bytes, one folder per mailbox folder (FOLDER/alice/Inbox). A file already there is never replaced: the new one gets another name.")),
		),
		container.New(&wrapLayout{width: restoreWidth}, d.errLine),
	)
	d.m = c.newModal("Export to Folder", content, d.keys, cancel, ok)
	d.m.focus = d.dir
	return d
}

func (d *exportDialog) request() (engine.ItemExportRequest, string) {
	dir := strings.TrimSpace(d.dir.Text)
	if dir == "" || !filepath.IsAbs(dir) {
		return engine.ItemExportRequest{}, "Give the folder to export to, as a full path (for example /home/admin/Exported)."
	}
	format := "eml"
	if d.format.Selected() == exportMbox {
		format = "mbox"
	}
	return engine.ItemExportRequest{Tape: d.tape.Name, Set: d.set.Number, Items: d.items, Dir: dir, Format: format}, ""
}

func (d *exportDialog) submit() {
	req, msg := d.request()
	if msg != "" {
		d.errLine.set(msg)
		return
	}
	d.m.hide()
	d.c.startItemExport(req)
}

// startItemExport runs an export under Export Status.
func (c *Console) startItemExport(req engine.ItemExportRequest) {
	ie, ok := c.eng.(itemEngine)
	if !ok {
		return
	}
	if req.Keys == nil && c.itemsKey(req.Tape, req.Set, func(kp tape.KeyProvider) {
		req.Keys = kp
		c.startItemExport(req)
	}) {
		return
	}
	c.runJob("Export Status", func(j *job) (string, error) {
		res, err := ie.ExportItems(j.ctx, req, j.progress("Export"))
		for _, r := range res.Renamed {
			j.log(r)
		}
		if err != nil {
			c.forgetKeyOn(err)
			return "", err
		}
		return fmt.Sprintf("Exported %s into %s, %s, to %s.", plural(res.Messages, "message", "messages"), fileCount(res.Files), humanBytes(res.Bytes), req.Dir), nil
	}, nil)
}
