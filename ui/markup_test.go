package ui

import (
	"fmt"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// Masters under testdata/: the rendered markup of the main window and of
// the dialogs whose layout matters most, at the smallest size the console
// works at (800×600) and at a common one (1280×800). Regenerate after a
// deliberate change by deleting a master and copying the one written to
// testdata/failed/.

var masterSizes = []fyne.Size{small, large}

func masterConsole(t *testing.T, size fyne.Size) *Console {
	c, _ := newTestConsole(t, newFakeEngine())
	c.setTheme(ThemeLight)
	c.win.Resize(size)
	return c
}

func master(name string, size fyne.Size) string {
	return fmt.Sprintf("%s_%.0fx%.0f", name, size.Width, size.Height)
}

func TestMarkupMainWindow(t *testing.T) {
	for _, size := range masterSizes {
		c := masterConsole(t, size)
		c.exch.expandAll()
		c.exch.setTick("server/EXCH01", true)
		c.exch.setTick("store/EXCH02/IS", true)
		c.tapes.tick(c.tapes.currentSets()[1], true)
		test.AssertRendersToMarkup(t, master("main_window", size)+".xml", c.win.Canvas())
		test.AssertRendersToImage(t, master("main_window", size)+".png", c.win.Canvas())
	}
}

func TestMarkupBackupInformation(t *testing.T) {
	for _, size := range masterSizes {
		c := masterConsole(t, size)
		openBackup(t, c, "server/EXCH01")
		test.AssertRendersToMarkup(t, master("backup_information", size)+".xml", c.win.Canvas())
	}
}

func TestMarkupRestoreInformationDirectoryPage(t *testing.T) {
	for _, size := range masterSizes {
		c := masterConsole(t, size)
		openRestore(t, c, 1, 2)
		test.AssertRendersToMarkup(t, master("restore_information_ds", size)+".xml", c.win.Canvas())
	}
}

func TestMarkupRestoreInformationStorePage(t *testing.T) {
	for _, size := range masterSizes {
		c := masterConsole(t, size)
		d := openRestore(t, c, 1, 2)
		d.showPage(1)
		test.AssertRendersToMarkup(t, master("restore_information_is", size)+".xml", c.win.Canvas())
	}
}

func TestMarkupRestoreStatus(t *testing.T) {
	for _, size := range masterSizes {
		c := masterConsole(t, size)
		sd := c.newStatusDialog("Restore Status")
		sd.apply(sampleSnapshot("Restore", 1))
		sd.appendLines(sampleLines("Restore"))
		sd.finish("Restored 2 sets: 9 files, 36.4 MB.", nil)
		sd.m.show()
		test.AssertRendersToImage(t, master("restore_status", size)+".png", c.win.Canvas())
	}
}
