package ui

import (
	"context"
	"reflect"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
)

func menuLabels(m *fyne.Menu) []string {
	var out []string
	for _, it := range m.Items {
		if it.IsSeparator {
			out = append(out, "-")
		} else {
			out = append(out, it.Label)
		}
	}
	return out
}

func TestMainWindowMenus(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	if c.win.Title() != "Backup" {
		t.Errorf("title = %q", c.win.Title())
	}
	mm := c.win.MainMenu()
	var names []string
	for _, m := range mm.Items {
		names = append(names, m.Label)
	}
	if want := []string{"Operations", "Tree", "View", "Window", "Help"}; !reflect.DeepEqual(names, want) {
		t.Errorf("menus = %q", names)
	}
	for i, want := range [][]string{
		{"Backup…", "Restore…", "Export to Folder…", "Catalog", "Catalog File…", "Verify…", "-", "Start Service", "Stop Service", "Cancel Restore", "-", "Microsoft Exchange…", "Erase Tape…", "Encryption Keys…", "-", "Exit"},
		{"Expand One Level", "Expand Branch", "Expand All", "Collapse Branch"},
		{"Status Bar", "Toolbar", "-", "Theme", "-", "Refresh"},
		{"Cascade", "Tile", "-", "1 Microsoft Exchange", "2 Tapes"},
		{"About Backup…"},
	} {
		if got := menuLabels(mm.Items[i]); !reflect.DeepEqual(got, want) {
			t.Errorf("%s menu = %q, want %q", mm.Items[i].Label, got, want)
		}
	}
	if sc := c.menuItems["refresh"].Shortcut.(*desktop.CustomShortcut); sc.KeyName != fyne.KeyF5 {
		t.Errorf("Refresh shortcut = %v", sc)
	}
	if sc := c.menuItems["backup"].Shortcut.(*desktop.CustomShortcut); sc.KeyName != fyne.KeyB {
		t.Errorf("Backup shortcut = %v", sc)
	}
	if !mm.Items[0].Items[15].IsQuit {
		t.Error("Exit is the quit item")
	}
}

// Alt plus a menu's letter opens that menu.
func TestMenuMnemonics(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	c.win.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyT, Modifier: fyne.KeyModifierAlt})
	top := overlayTop(c)
	if top == nil {
		t.Fatal("Alt+T opened nothing")
	}
	menus := find[*widget.PopUpMenu](top)
	if len(menus) == 0 || len(menus[0].Items) != 4 {
		t.Fatalf("Alt+T should open the Tree menu, got %d menus", len(menus))
	}
}

func TestViewToggles(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	c.menuItems["statusbar"].Action()
	if c.statusBar.box.Visible() || c.menuItems["statusbar"].Checked {
		t.Error("View > Status Bar hides it and unticks")
	}
	c.menuItems["toolbar"].Action()
	if c.toolbar.Visible() || c.menuItems["toolbar"].Checked {
		t.Error("View > Toolbar hides it and unticks")
	}
	if got := c.mdi.root.Size().Height; got < 700 {
		t.Errorf("the inner windows take the room: %v", got)
	}
	c.menuItems["statusbar"].Action()
	c.menuItems["toolbar"].Action()
	if !c.statusBar.box.Visible() || !c.toolbar.Visible() || !c.menuItems["toolbar"].Checked {
		t.Error("toggling again shows them")
	}
}

func TestToolbar(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	var labels []string
	for _, b := range find[*widget.Button](c.toolbar) {
		labels = append(labels, b.Text)
	}
	if want := []string{"Backup", "Restore", "Catalog", "Erase Tape", "Microsoft Exchange…"}; !reflect.DeepEqual(labels, want) {
		t.Errorf("toolbar = %q", labels)
	}
	for _, b := range find[*widget.Button](c.toolbar) {
		if b.Text == "Microsoft Exchange…" {
			test.Tap(b)
		}
	}
	if !hasText(overlayTop(c), "Connect to any server of the organization") {
		t.Error("the toolbar opens Microsoft Exchange…")
	}
	// While a dialog is up, the menu bar's actions wait.
	c.menuItems["about"].Action()
	if hasText(overlayTop(c), "exbackup") {
		t.Error("About opened over another dialog")
	}
}

func TestWindowMenu(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	m := c.mdi
	exch, tapes := m.wins[0], m.wins[1]
	size := m.root.Size()
	if exch.w.Position() != (fyne.Position{}) || tapes.w.Position().X <= exch.w.Size().Width || exch.w.Size().Height != size.Height {
		t.Errorf("tiled at first: exchange %v %v, tapes %v", exch.w.Position(), exch.w.Size(), tapes.w.Position())
	}
	c.menuItems["cascade"].Action()
	if tapes.w.Position().X != 28 || tapes.w.Position().Y != 28 || exch.w.Position() != (fyne.Position{}) {
		t.Errorf("cascade: %v %v", exch.w.Position(), tapes.w.Position())
	}
	c.menuItems["win-exchange"].Action()
	if m.front() != exch || !c.menuItems["win-exchange"].Checked || c.menuItems["win-tapes"].Checked {
		t.Error("Window > Microsoft Exchange brings it forward and ticks it")
	}
	tapes.w.OnMaximized()
	if tapes.w.Size() != size || tapes.w.Position() != (fyne.Position{}) || m.front() != tapes {
		t.Errorf("maximised: %v at %v", tapes.w.Size(), tapes.w.Position())
	}
	c.win.Resize(fyne.NewSize(1000, 700))
	if tapes.w.Size() != m.root.Size() {
		t.Errorf("a maximised window follows the main window: %v vs %v", tapes.w.Size(), m.root.Size())
	}
	tapes.w.OnMaximized()
	if tapes.w.Size() == m.root.Size() {
		t.Error("restored from maximised")
	}
	tapes.w.OnMinimized()
	if tapes.w.Visible() {
		t.Fatal("minimised windows hide")
	}
	c.menuItems["tile"].Action()
	if exch.w.Size().Width != m.root.Size().Width {
		t.Error("tiling one window gives it all the room")
	}
	c.menuItems["win-tapes"].Action()
	if !tapes.w.Visible() || m.front() != tapes {
		t.Error("Window > Tapes brings a minimised window back")
	}
	exch.w.CloseIntercept()
	if exch.w.Visible() {
		t.Error("closing an inner window hides it (the Window menu brings it back)")
	}
}

func TestAbout(t *testing.T) {
	c, _ := newTestConsole(t, newFakeEngine())
	c.About()
	top := overlayTop(c)
	for _, want := range []string{"exbackup", "Version 1.2.3", "Exchange-aware backup console"} {
		if !hasText(top, want) {
			t.Errorf("About lacks %q: %q", want, labelTexts(top))
		}
	}
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if overlayTop(c) != nil {
		t.Error("Escape closes About")
	}
}

func TestEraseTape(t *testing.T) {
	eng := newFakeEngine()
	c, q := newTestConsole(t, eng)
	c.EraseTape()
	top := overlayTop(c)
	if !hasText(top, "Erasing the tape destroys all sets on it. Continue?") || !hasText(top, `Tape "Tape created on 11/24/2026" (created 11/24/2026 10:00 PM) holds 4 backup sets.`) {
		t.Fatalf("confirmation: %q", labelTexts(top))
	}
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	var erased []string
	eng.locked(func() { erased = eng.erased })
	if len(erased) != 0 {
		t.Fatal("Cancel erased the tape")
	}
	c.EraseTape()
	for _, b := range find[*dlgButton](overlayTop(c)) {
		if b.Text == "Erase" {
			test.Tap(b)
		}
	}
	q.until(t, "the erase", func() bool {
		eng.locked(func() { erased = append([]string(nil), eng.erased...) })
		return len(erased) == 1
	})
	if erased[0] != "Tape created on 11/24/2026" {
		t.Errorf("erased %q", erased)
	}
	q.until(t, "the status bar", func() bool { return c.statusBar.activity.Text == `Tape "Tape created on 11/24/2026" erased` })
}

func TestVerifyAndCatalog(t *testing.T) {
	eng := newFakeEngine()
	c, q := newTestConsole(t, eng)
	c.Verify() // nothing ticked: the selected tape
	if !hasText(overlayTop(c), "Re-read from the tape and check every hash of:") || c.running != nil {
		t.Fatal("Verify… asks before it verifies")
	}
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	q.until(t, "the verify", func() bool { return c.running == nil })
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	c.tapes.tick(c.tapes.currentSets()[0], true)
	c.tapes.tick(c.tapes.currentSets()[2], true)
	c.Verify()
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) // the ticked sets, chosen first
	sd := c.running
	q.until(t, "the verify", func() bool { return c.running == nil })
	if sd.result.Text != "Operation completed" {
		t.Errorf("verify result = %q", sd.result.Text)
	}
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	var verifies []engine.VerifyRequest
	eng.locked(func() { verifies = eng.verifies })
	log := engine.LogOptions{Path: "/home/admin/.local/share/exbackup/Backup.log"}
	want := []engine.VerifyRequest{{Tape: "Tape created on 11/24/2026", Log: log}, {Tape: "Tape created on 11/24/2026", Set: 1, Log: log}, {Tape: "Tape created on 11/24/2026", Set: 3, Log: log}}
	if !reflect.DeepEqual(verifies, want) {
		t.Errorf("verifies = %+v", verifies)
	}

	c.Catalog()
	q.until(t, "the catalog", func() bool { return c.running == nil })
	var cats []string
	eng.locked(func() { cats = eng.catalogs })
	if !reflect.DeepEqual(cats, []string{"Tape created on 11/24/2026"}) {
		t.Errorf("cataloged %q", cats)
	}
}

func TestThemeVariants(t *testing.T) {
	light, dark := newAdminTheme(ThemeLight), newAdminTheme(ThemeDark)
	for _, n := range []fyne.ThemeColorName{theme.ColorNameBackground, theme.ColorNameForeground, theme.ColorNamePrimary, theme.ColorNameSelection} {
		if light.Color(n, theme.VariantDark) == dark.Color(n, theme.VariantLight) {
			t.Errorf("%s is the same in both variants", n)
		}
	}
	sys := newAdminTheme(ThemeSystem)
	if sys.Color(theme.ColorNameBackground, theme.VariantDark) != dark.Color(theme.ColorNameBackground, theme.VariantDark) {
		t.Error("System follows the desktop's variant")
	}
	if sys.Size(theme.SizeNamePadding) >= theme.DefaultTheme().Size(theme.SizeNamePadding) {
		t.Error("the theme is more compact than Fyne's default")
	}
	c, _ := newTestConsole(t, newFakeEngine())
	c.menuItems["theme-dark"].Action()
	if c.app.Settings().Theme().Color(theme.ColorNameBackground, theme.VariantLight) != dark.Color(theme.ColorNameBackground, 0) || !c.menuItems["theme-dark"].Checked || c.menuItems["theme-system"].Checked {
		t.Error("View > Theme > Dark")
	}
}

// Closing the console while a job runs asks first, and aborts it.
func TestCloseDuringJob(t *testing.T) {
	eng := newFakeEngine()
	eng.backupRun = func(ctx context.Context, p *engine.Progress) (engine.BackupResult, error) {
		<-ctx.Done()
		return engine.BackupResult{}, ctx.Err()
	}
	c, q := newTestConsole(t, eng)
	c.startBackup(engine.BackupRequest{})
	sd := c.running
	c.requestClose()
	if !hasText(overlayTop(c), "A job is running. Abort it and exit?") {
		t.Fatalf("no question: %q", labelTexts(overlayTop(c)))
	}
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if sd.aborting || c.ctx.Err() != nil {
		t.Fatal("Cancel keeps the job and the console")
	}
	c.requestClose()
	c.typedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	q.until(t, "the job to end", func() bool { return sd.done })
	if c.ctx.Err() == nil {
		t.Error("the console closed")
	}
}
