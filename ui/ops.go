package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
)

// Verify is Operations > Verify…: asks whether to re-read the whole
// selected tape or the sets ticked in the Tapes window, then checks every
// hash.
func (c *Console) Verify() {
	d := c.newVerifyDialog()
	if d != nil {
		d.m.show()
	}
}

// Verify's two choices.
const (
	verifyTape   = "tape"
	verifyTicked = "ticked"
)

// verifyDialog is Verify: the whole tape or the ticked sets.
type verifyDialog struct {
	c       *Console
	m       *modal
	keys    *dlgKeys
	choice  *radioGroup
	labels  map[string]string // radio label → verifyTape or verifyTicked
	tape    tapeRow
	hasTape bool
	chosen  []restoreChoice
	ok      *dlgButton
}

func (c *Console) newVerifyDialog() *verifyDialog {
	d := &verifyDialog{c: c, keys: &dlgKeys{}, chosen: c.tapes.tickedSets(), labels: map[string]string{}}
	d.tape, d.hasTape = c.tapes.selectedTape()
	if !d.hasTape && len(d.chosen) == 0 {
		c.info("Verify", "Select a tape, or tick its sets, in the Tapes window.")
		return nil
	}
	tapeLabel := "The whole tape"
	if d.hasTape {
		tapeLabel = fmt.Sprintf("The whole tape \u201c%s\u201d (%s)", d.tape.tape.Name, plural(d.tape.sets, "set", "sets"))
	}
	tickedLabel := "The ticked sets (none ticked)"
	if n := len(d.chosen); n > 0 {
		tickedLabel = "The " + plural(n, "ticked set", "ticked sets")
	}
	d.labels[tapeLabel], d.labels[tickedLabel] = verifyTape, verifyTicked
	d.choice = newRadioGroup([]string{tapeLabel, tickedLabel}, false, d.keys, nil)
	switch {
	case len(d.chosen) > 0:
		d.choice.SetSelected(tickedLabel)
	default:
		d.choice.SetSelected(tapeLabel)
	}
	d.choice.SetEnabled(tickedLabel, len(d.chosen) > 0)
	d.choice.SetEnabled(tapeLabel, d.hasTape && d.tape.present)

	d.ok = newDlgButton("Verify", d.keys, d.submit)
	d.ok.Importance = widget.HighImportance
	cancel := newDlgButton("Cancel", d.keys, func() { d.m.hide() })
	d.keys.ok, d.keys.cancel = d.submit, cancel.OnTapped
	parts := []fyne.CanvasObject{widget.NewLabel("Re-read from the tape and check every hash of:"), d.choice.box}
	if d.hasTape && !d.tape.present {
		parts = append(parts, wrappedNote(fmt.Sprintf("Tape \u201c%s\u201d is missing: its file is not at %s.", d.tape.tape.Name, d.tape.tape.Location)))
	}
	d.m = c.newModal("Verify", container.New(&wrapLayout{width: 420}, parts...), d.keys, cancel, d.ok)
	d.m.focus = d.choice.item(d.choice.Selected())
	return d
}

// requests are what the choice verifies.
func (d *verifyDialog) requests() []engine.VerifyRequest {
	log := engine.LogOptions{Path: d.c.logDefault(), Level: engine.LogSummary}
	if d.labels[d.choice.Selected()] == verifyTape {
		return []engine.VerifyRequest{{Tape: d.tape.tape.Name, Log: log}}
	}
	var reqs []engine.VerifyRequest
	for _, ch := range d.chosen {
		reqs = append(reqs, engine.VerifyRequest{Tape: ch.tape.Name, Set: ch.set.Number, Log: log})
	}
	return reqs
}

func (d *verifyDialog) submit() {
	if d.labels[d.choice.Selected()] == verifyTape && !d.tape.present {
		return // greyed: the tape's file is missing
	}
	reqs := d.requests()
	if len(reqs) == 0 {
		return
	}
	d.m.hide()
	d.c.startVerify(reqs)
}

func (c *Console) startVerify(reqs []engine.VerifyRequest) {
	if c.verifyKey(reqs, c.startVerify) {
		return
	}
	c.runJob("Verify Status", func(j *job) (string, error) {
		var sets, files int
		var bytes int64
		var corrupt []string
		for _, r := range reqs {
			res, err := c.eng.Verify(j.ctx, r, j.progress("Verify"))
			sets += res.Sets
			files += res.Files
			bytes += res.Bytes
			corrupt = append(corrupt, res.Corrupt...)
			if err != nil {
				c.forgetKeyOn(err)
				return "", err
			}
		}
		if len(corrupt) > 0 {
			return "", fmt.Errorf("verify found %d corrupt files: %s", len(corrupt), strings.Join(corrupt, "; "))
		}
		return fmt.Sprintf("Verified %d sets: %s files, %s, all hashes match.", sets, thousands(int64(files)), humanBytes(bytes)), nil
	}, c.refreshTapes)
}

// Catalog is Operations > Catalog: rebuilds the catalog records of the
// selected tape from the tape itself (or asks for a .bkf file when no tape
// is selected).
func (c *Console) Catalog() {
	if t, ok := c.tapes.selectedTape(); ok {
		if !t.present {
			c.info("Catalog", fmt.Sprintf("Tape \"%s\" is missing: its file is not at %s. Use Catalog File… to catalog it from elsewhere.", t.tape.Name, t.tape.Location))
			return
		}
		c.startCatalog(t.tape.Name)
		return
	}
	c.CatalogFile()
}

// CatalogFile is Operations > Catalog File…: catalogs a .bkf file, such as
// a tape written elsewhere (by exbackup or another MTF program).
func (c *Console) CatalogFile() {
	fd := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		c.startCatalog(path)
	}, c.win)
	fd.SetFilter(storage.NewExtensionFileFilter([]string{".bkf"}))
	fd.SetConfirmText("Catalog")
	fd.Show()
}

func (c *Console) startCatalog(nameOrPath string) {
	c.runJob("Catalog Status", func(j *job) (string, error) {
		if err := c.eng.CatalogTape(c.withAsker(j.ctx), nameOrPath, j.progress("Catalog")); err != nil {
			return "", err
		}
		return "Cataloged " + nameOrPath + ".", nil
	}, c.refreshTapes)
}

// EraseTape is Operations > Erase Tape…: erases the tape selected in the
// Tapes window, after confirmation.
func (c *Console) EraseTape() {
	t, ok := c.tapes.selectedTape()
	if !ok {
		c.info("Erase Tape", "Select the tape to erase in the Tapes window.")
		return
	}
	c.confirmErase(t)
}

func (c *Console) confirmErase(t tapeRow) *modal {
	return c.confirm("Erase Tape", "Erasing the tape destroys all sets on it. Continue?", eraseDetail(t), "Erase", func() {
		name := t.tape.Name
		c.statusBar.setActivity("Erasing tape \"" + name + "\"…")
		c.goDo(func() {
			ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
			defer cancel()
			err := c.eng.Erase(ctx, name)
			c.do(func() {
				c.statusBar.setActivity("")
				if err != nil {
					c.info("Erase Tape", "Tape \""+name+"\" was not erased: "+oneLine(err))
					return
				}
				c.statusBar.setActivity("Tape \"" + name + "\" erased")
				c.refreshTapes()
			})
		})
	})
}

func eraseDetail(t tapeRow) string {
	return fmt.Sprintf("Tape \"%s\" (created %s) holds %d backup sets. They cannot be restored afterwards.", t.tape.Name, ntDateTime(t.tape.Created), t.sets)
}

// About is Help > About Backup….
func (c *Console) About() { c.aboutDialog().show() }

func (c *Console) aboutDialog() *modal {
	keys := &dlgKeys{}
	var m *modal
	ok := newDlgButton("OK", keys, func() { m.hide() })
	ok.Importance = widget.HighImportance
	keys.ok, keys.cancel = ok.OnTapped, ok.OnTapped
	version := c.opts.Version
	if version == "" {
		version = "development build"
	}
	name := widget.NewLabelWithStyle("exbackup", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.SizeName = theme.SizeNameSubHeadingText
	body := container.NewVBox(
		name,
		widget.NewLabel("Version "+version),
		container.New(&wrapLayout{width: 340}, wrappedNote("Exchange-aware backup console in the manner of Windows NT Backup: online backups of an Exchange-style organization onto MTF tapes, and their restore.")),
	)
	content := container.NewBorder(nil, nil, container.NewVBox(icon(iconApp, 72)), nil, body)
	m = c.newModal("About Backup", content, keys, ok)
	m.focus = ok
	return m
}
