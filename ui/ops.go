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

// Verify is Operations > Verify…: re-reads the sets ticked in the Tapes
// window, or else the whole selected tape, and checks every hash.
func (c *Console) Verify() {
	chosen := c.tapes.tickedSets()
	var reqs []engine.VerifyRequest
	log := engine.LogOptions{Path: c.logDefault(), Level: engine.LogSummary}
	for _, ch := range chosen {
		reqs = append(reqs, engine.VerifyRequest{Tape: ch.tape.Name, Set: ch.set.Number, Log: log})
	}
	if len(reqs) == 0 {
		t, ok := c.tapes.selectedTape()
		if !ok {
			c.info("Verify", "Select a tape, or tick its sets, in the Tapes window.")
			return
		}
		if !t.present {
			c.info("Verify", fmt.Sprintf("Tape \"%s\" is missing: its file is not at %s.", t.tape.Name, t.tape.Location))
			return
		}
		reqs = append(reqs, engine.VerifyRequest{Tape: t.tape.Name, Log: log})
	}
	c.startVerify(reqs)
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
		if err := c.eng.CatalogTape(j.ctx, nameOrPath, j.progress("Catalog")); err != nil {
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
