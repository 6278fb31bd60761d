package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
	"exbackup/tape"
)

// Restore Information for files ticked in a file set's tree: they go to an
// alternate folder (this machine is not the one they were backed up
// from), and what becomes of a file already there is asked.

const (
	existingSkip      = "Do not replace it"
	existingOverwrite = "Replace it"
	existingKeepBoth  = "Keep both: name (1).ext"
)

var existingChoice = map[string]tape.Existing{existingSkip: tape.SkipExisting, existingOverwrite: tape.Overwrite, existingKeepBoth: tape.KeepBoth}

// extractDialog is the Restore Information page of a file restore.
type extractDialog struct {
	c       *Console
	m       *modal
	keys    *dlgKeys
	ix      *fileIndex
	items   []string
	dir     *dlgEntry
	exist   *radioGroup
	streams *dlgCheck
	errLine errorLine
	ok      *dlgButton
}

// restoreFiles opens Restore Information for the ticked files, or says
// there are none; false when no file set is open.
func (c *Console) restoreFiles() bool { return c.openFileRestore() != nil }

func (c *Console) openFileRestore() *extractDialog {
	p := c.tapes.files
	if p == nil || p.ix == nil || len(p.items()) == 0 {
		return nil
	}
	d := c.newExtractDialog(p.ix, p.items())
	d.m.show()
	return d
}

func defaultRestoreFolder() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, "Restored")
}

func (c *Console) newExtractDialog(ix *fileIndex, items []string) *extractDialog {
	d := &extractDialog{c: c, keys: &dlgKeys{}, ix: ix, items: items}
	files, bytes, err := ix.tree.Select(items)
	what := fmt.Sprintf("%s, %s", fileCount(len(files)), humanBytes(bytes))
	if err != nil {
		what = oneLine(err)
	}
	shown := items
	if len(shown) > 3 {
		shown = append(append([]string{}, shown[:3]...), fmt.Sprintf("and %d more", len(items)-3))
	}
	d.dir = newDlgEntry(d.keys)
	d.dir.SetText(defaultRestoreFolder())
	browse := newDlgButton("Browse…", d.keys, d.pickFolder)
	d.exist = newRadioGroup([]string{existingSkip, existingOverwrite, existingKeepBoth}, true, d.keys, nil)
	d.exist.SetSelected(existingSkip)
	d.streams = newDlgCheck("Restore alternate data streams (beside each file, as name%3Astream)", d.keys, nil)
	d.errLine = newErrorLine()
	d.ok = newDlgButton("OK", d.keys, d.submit)
	d.ok.Importance = widget.HighImportance
	cancel := newDlgButton("Cancel", d.keys, func() { d.m.hide() })
	d.keys.ok, d.keys.cancel = d.submit, cancel.OnTapped

	heading := widget.NewLabelWithStyle("Backup Set Information (files)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	content := container.NewVBox(
		heading,
		form(
			fieldLabel("Tape Name:"), value(ix.tape.Name),
			fieldLabel("Backup Set:"), value(fmt.Sprintf("Set %d: %s", ix.set.Number, ix.set.Description)),
			fieldLabel("Creation Date:"), value(ntDateTime(ix.set.Created)),
			fieldLabel("Owner:"), value(ix.set.Owner),
			fieldLabel("Selected:"), value(strings.Join(shown, ", ")),
			fieldLabel(""), value(what),
		),
		group("Restore",
			form(
				fieldLabel("Restore to:"), value("Alternate folder"),
				fieldLabel("Alternate folder:"), container.NewBorder(nil, nil, nil, browse, d.dir),
			),
			container.New(&wrapLayout{width: restoreWidth}, note("Each volume is a folder of its own there: C:\\Documents becomes FOLDER/C/Documents.")),
			widget.NewLabel("When a file is already there:"),
			d.exist.box,
			d.streams,
		),
		container.New(&wrapLayout{width: restoreWidth}, d.errLine),
	)
	d.m = c.newModal("Restore Information", content, d.keys, cancel, d.ok)
	return d
}

func (d *extractDialog) pickFolder() {
	fd := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err == nil && u != nil {
			d.dir.SetText(u.Path())
		}
	}, d.c.win)
	fd.Show()
}

// request is the extraction the page asks for, or why it cannot start.
func (d *extractDialog) request() (engine.ExtractRequest, string) {
	dir := strings.TrimSpace(d.dir.Text)
	if dir == "" || !filepath.IsAbs(dir) {
		return engine.ExtractRequest{}, "Give the folder to restore to, as a full path (for example /home/admin/Restored)."
	}
	where := d.ix.tape.Name
	if strings.HasSuffix(strings.ToLower(d.ix.tape.Location), tape.Ext) {
		where = d.ix.tape.Location
	}
	return engine.ExtractRequest{Tape: where, Set: d.ix.set.Number, Dir: dir, Items: d.items,
		Existing: existingChoice[d.exist.Selected()], AlternateStreams: d.streams.Checked}, ""
}

func (d *extractDialog) submit() {
	req, msg := d.request()
	if msg != "" {
		d.errLine.set(msg)
		return
	}
	d.m.hide()
	d.c.startExtract(d.ix.tape.Name, req)
}

// startExtract runs a file restore under Restore Status.
func (c *Console) startExtract(tapeName string, req engine.ExtractRequest) {
	fe, ok := c.eng.(fileEngine)
	if !ok {
		return
	}
	c.runJob("Restore Status", func(j *job) (string, error) {
		// The engine logs mapped names and failures; skips are ours.
		res, err := fe.ExtractFiles(c.withAsker(j.ctx), req, j.progress("Restore"))
		for _, s := range res.Skipped {
			j.log(s + " was already there: not replaced")
		}
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Restored %s, %s, of tape %q to %s.", fileCount(res.Files), humanBytes(res.Bytes), tapeName, req.Dir), nil
	}, nil)
}

// fileCount is "1 file", "2 files", "1,024 files".
func fileCount(n int) string {
	if n == 1 {
		return "1 file"
	}
	return thousands(int64(n)) + " files"
}
