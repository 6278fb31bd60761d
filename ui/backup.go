package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
)

// Choices of the Backup and Restore Information dialogs, in NT Backup's words.
const (
	opAppend  = "Append"
	opReplace = "Replace"

	logFull    = "Full Detail"
	logSummary = "Summary Only"
	logNone    = "Don't Log"
)

var backupTypes = []string{"Normal", "Copy", "Incremental", "Differential"}

const noHardwareCompression = "file tapes have no hardware compression"

// logPlaceholder stands for the engine's default log file when the console
// does not know its path: an empty field then means that default.
const logPlaceholder = "Backup.log in the exbackup folder"

// backupDialog is Backup Information.
type backupDialog struct {
	c      *Console
	m      *modal
	keys   *dlgKeys
	stores []engine.StoreRef
	tape   tapeRow // the current tape
	hasTap bool

	tapeName    *dlgEntry
	operation   *radioGroup
	verify      *dlgCheck
	restrict    *dlgCheck
	encrypt     *dlgCheck
	hwComp      *dlgCheck
	description *dlgEntry
	backupType  *dlgSelect
	logFile     *dlgEntry
	logLevel    *radioGroup
	errLine     errorLine
	ok, cancel  *dlgButton
}

const backupWidth = 560

// Backup is Operations > Backup…: Backup Information for the ticked stores.
func (c *Console) Backup() {
	stores := c.exch.selectedStores()
	if len(stores) == 0 {
		c.info("Backup", "Select the stores to back up: tick a Directory or an Information Store (or a server, site or the organization) in the Microsoft Exchange window.")
		return
	}
	c.newBackupDialog(stores).m.show()
}

// currentTape is the tape a backup appends to: the one selected in the
// Tapes window, or else the newest.
func (c *Console) currentTape() (tapeRow, bool) {
	if t, ok := c.tapes.selectedTape(); ok {
		return t, true
	}
	if n := len(c.tapes.model.tapes); n > 0 {
		return c.tapes.model.tapes[n-1], true
	}
	return tapeRow{}, false
}

func (c *Console) newBackupDialog(stores []engine.StoreRef) *backupDialog {
	d := &backupDialog{c: c, keys: &dlgKeys{}, stores: stores}
	d.tape, d.hasTap = c.currentTape()

	current, created, owner := "(blank tape)", "—", "—"
	if d.hasTap {
		current, created, owner = d.tape.tape.Name, ntDateTime(d.tape.tape.Created), d.tape.tape.Owner
		if owner == "" {
			owner = "—"
		}
		if d.tape.tape.Restricted {
			owner += " (access restricted to the owner or an administrator)"
		}
		if !d.tape.present {
			current += " (missing)"
		}
	}

	d.tapeName = newDlgEntry(d.keys)
	d.tapeName.SetText(defaultTapeName(c.now()))
	d.operation = newRadioGroup([]string{opAppend, opReplace}, true, d.keys, func(string) { d.operationChanged() })
	d.verify = newDlgCheck("Verify After Backup", d.keys, nil)
	d.restrict = newDlgCheck("Restrict Access to Owner or Administrator", d.keys, nil)
	d.encrypt = newDlgCheck("Encrypt the backup", d.keys, nil)
	encryptWhy := note("(for the console's keys)")
	if why := c.encryptUnavailable(); why != "" {
		d.encrypt.Disable()
		encryptWhy.SetText("(" + why + ")")
	}
	d.hwComp = newDlgCheck("Hardware Compression", d.keys, nil)
	d.hwComp.Disable()

	devs := make([]fyne.CanvasObject, len(stores))
	for i, s := range stores {
		devs[i] = value(device(s.Server, s.Store))
	}
	devList := container.NewVBox(devs...)
	var devBox fyne.CanvasObject = devList
	if len(devs) > 4 {
		sc := container.NewVScroll(devList)
		sc.SetMinSize(fyne.NewSize(0, devs[0].MinSize().Height*4))
		devBox = sc
	}
	d.description = newDlgEntry(d.keys)
	d.description.SetPlaceHolder("e.g. nightly backup")
	d.backupType = newDlgSelect(backupTypes, d.keys, nil)
	d.backupType.SetSelected("Normal")

	d.logFile = newDlgEntry(d.keys)
	d.logFile.SetText(c.logDefault())
	if c.logDefault() == "" {
		d.logFile.SetPlaceHolder(logPlaceholder)
	}
	d.logLevel = newRadioGroup([]string{logFull, logSummary, logNone}, true, d.keys, func(string) { d.logLevelChanged() })
	d.logLevel.SetSelected(logSummary)

	d.errLine = newErrorLine()
	d.ok = newDlgButton("OK", d.keys, d.submit)
	d.ok.Importance = widget.HighImportance
	d.cancel = newDlgButton("Cancel", d.keys, func() { d.m.hide() })
	d.keys.ok, d.keys.cancel = d.submit, d.cancel.OnTapped

	sets := "Backup Set Information (1 set)"
	if len(stores) > 1 {
		sets = fmt.Sprintf("Backup Set Information (%d sets)", len(stores))
	}
	content := container.NewVBox(
		form(
			fieldLabel("Current Tape:"), value(current),
			fieldLabel("Creation Date:"), value(created),
			fieldLabel("Owner:"), value(owner),
			fieldLabel("Tape Name:"), d.tapeName,
			fieldLabel("Operation:"), d.operation.box,
		),
		container.NewGridWithColumns(2, d.verify, d.restrict),
		container.NewHBox(d.encrypt, encryptWhy),
		container.NewHBox(d.hwComp, note("("+noHardwareCompression+")")),
		group(sets,
			form(
				fieldLabel("Drive/Store:"), devBox,
				fieldLabel("Description:"), d.description,
				fieldLabel("Backup Type:"), d.backupType,
			),
		),
		group("Log Information",
			form(
				fieldLabel("Log File:"), d.logFile,
				widget.NewLabel(""), d.logLevel.box,
			),
		),
		container.New(&wrapLayout{width: backupWidth}, d.errLine),
	)

	// NT Backup's defaults: append when there is a tape to append to.
	if d.hasTap && d.tape.present {
		d.operation.SetSelected(opAppend)
	} else {
		d.operation.SetEnabled(opAppend, false)
		d.operation.SetSelected(opReplace)
	}
	d.operationChanged()

	d.m = c.newModal("Backup Information", content, d.keys, d.cancel, d.ok)
	d.m.focus = d.tapeName
	if d.tapeName.Disabled() {
		d.m.focus = d.operation.item(opAppend)
	}
	return d
}

// operationChanged: the tape name and the access restriction belong to a
// new tape; appending keeps the tape's own (as NT Backup greyed them).
func (d *backupDialog) operationChanged() {
	if d.operation.Selected() == opReplace {
		d.tapeName.Enable()
		d.restrict.Enable()
	} else {
		d.tapeName.Disable()
		d.restrict.SetChecked(false)
		d.restrict.Disable()
	}
}

func (d *backupDialog) logLevelChanged() {
	if d.logLevel.Selected() == logNone {
		d.logFile.Disable()
	} else {
		d.logFile.Enable()
	}
}

// request reads the form into a BackupRequest, or says what is wrong.
func (d *backupDialog) request() (engine.BackupRequest, string) {
	req := engine.BackupRequest{
		Stores:      append([]engine.StoreRef(nil), d.stores...),
		Append:      d.operation.Selected() == opAppend,
		Verify:      d.verify.Checked,
		Description: strings.TrimSpace(d.description.Text),
		Encrypt:     d.encrypt.Checked,
		Keys:        d.c.sessionKey,
	}
	if req.Append {
		req.TapeName = d.tape.tape.Name
	} else {
		req.TapeName = strings.TrimSpace(d.tapeName.Text)
		req.Restrict = d.restrict.Checked
		if req.TapeName == "" {
			return req, "Enter a name for the new tape."
		}
		if len([]rune(req.TapeName)) > 128 {
			return req, "The tape name is too long (128 characters at most)."
		}
	}
	t, err := engine.ParseBackupType(d.backupType.Selected)
	if err != nil {
		return req, "Choose a backup type."
	}
	req.Type = t
	log, msg := readLog(d.logFile, d.logLevel)
	if msg != "" {
		return req, msg
	}
	req.Log = log
	if msg := d.checkServers(req); msg != "" {
		return req, msg
	}
	return req, ""
}

// readLog reads the Log Information fields.
func readLog(file *dlgEntry, level *radioGroup) (engine.LogOptions, string) {
	var o engine.LogOptions
	switch level.Selected() {
	case logFull:
		o.Level = engine.LogFull
	case logNone:
		o.Level = engine.LogNone
		return o, ""
	default:
		o.Level = engine.LogSummary
	}
	o.Path = strings.TrimSpace(file.Text)
	if o.Path == "" && file.PlaceHolder == "" {
		return o, "Enter a log file, or choose Don't Log."
	}
	return o, ""
}

// checkServers refuses, before the job starts, a server that did not
// answer, and what the engine says the servers' last known states refuse
// (a service not running, circular logging for an incremental).
func (d *backupDialog) checkServers(req engine.BackupRequest) string {
	ix := d.c.exch.ix
	for _, s := range req.Stores {
		if why, ok := ix.org.Unreachable[s.Server]; ok {
			return fmt.Sprintf("%s did not answer (%s): refresh (F5) or untick it.", s.Server, why)
		}
	}
	if err := ix.org.CheckBackup(req); err != nil {
		return err.Error()
	}
	return ""
}

func (d *backupDialog) submit() {
	req, msg := d.request()
	if msg != "" {
		d.errLine.set(msg)
		return
	}
	d.errLine.set("")
	if !req.Append {
		if old, ok := d.c.tapes.tapeNamed(req.TapeName); ok {
			d.c.confirmReplace(old, func() {
				d.m.hide()
				d.c.startBackup(req)
			})
			return
		}
	}
	d.m.hide()
	d.c.startBackup(req)
}

// confirmReplace asks before a backup replaces a tape.
func (c *Console) confirmReplace(old tapeRow, onOK func()) *modal {
	detail := fmt.Sprintf("Tape \"%s\" (created %s) holds %d backup sets.", old.tape.Name, ntDateTime(old.tape.Created), old.sets)
	return c.confirm("Replace", "Replacing the tape erases all sets on it. Continue?", detail, "Replace", onOK)
}

// tapeNamed finds a cataloged tape by name.
func (tw *tapesWindow) tapeNamed(name string) (tapeRow, bool) {
	for _, t := range tw.model.tapes {
		if t.tape.Name == name {
			return t, true
		}
	}
	return tapeRow{}, false
}

// startBackup runs the backup with its status dialog.
func (c *Console) startBackup(req engine.BackupRequest) {
	c.runJob("Backup Status", func(j *job) (string, error) {
		res, err := c.eng.Backup(j.ctx, req, j.progress("Backup"))
		if err != nil {
			return "", err
		}
		s := fmt.Sprintf("Backed up %d sets to tape \"%s\": %s files, %s.", len(res.Sets), res.Tape, thousands(int64(res.Files)), humanBytes(res.Bytes))
		if res.Verified {
			s += " Verified."
		}
		return s, nil
	}, func() { c.refreshTapes(); c.refreshOrg() })
}
