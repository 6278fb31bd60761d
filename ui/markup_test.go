package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// Masters under testdata/: the rendered markup of the main window and of
// the dialogs whose layout matters most. Regenerate after a deliberate
// change by deleting a master and copying the one written to
// testdata/failed/.

func masterConsole(t *testing.T) *Console {
	c, _ := newTestConsole(t, newFakeEngine())
	c.setTheme(ThemeLight)
	c.win.Resize(fyne.NewSize(1100, 700))
	return c
}

func TestMarkupMainWindow(t *testing.T) {
	c := masterConsole(t)
	c.exch.expandAll()
	c.exch.setTick("server/EXCH01", true)
	c.exch.setTick("store/EXCH02/IS", true)
	c.tapes.tick(c.tapes.currentSets()[1], true)
	test.AssertRendersToMarkup(t, "main_window.xml", c.win.Canvas())
	test.AssertRendersToImage(t, "main_window.png", c.win.Canvas())
}

func TestMarkupBackupInformation(t *testing.T) {
	c := masterConsole(t)
	openBackup(t, c, "server/EXCH01")
	test.AssertRendersToMarkup(t, "backup_information.xml", c.win.Canvas())
}

func TestMarkupRestoreInformationDirectoryPage(t *testing.T) {
	c := masterConsole(t)
	openRestore(t, c, 1, 2)
	test.AssertRendersToMarkup(t, "restore_information_ds.xml", c.win.Canvas())
}

func TestMarkupRestoreInformationStorePage(t *testing.T) {
	c := masterConsole(t)
	d := openRestore(t, c, 1, 2)
	d.showPage(1)
	test.AssertRendersToMarkup(t, "restore_information_is.xml", c.win.Canvas())
}
