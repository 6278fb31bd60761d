package ui

import (
	"context"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"exbackup/tape"
)

// AppID is the application ID (FyneApp.toml, app.NewWithID): it names the
// preferences folder and the desktop entry.
const AppID = "io.github.exbackup.console"

// Options configure the console.
type Options struct {
	Version string // shown in Help > About
	// Demo says the console runs on the built-in demo organization: the
	// status bar and the Exchange window say so, and how to leave it.
	// (An engine.Org with Demo set says the same.)
	Demo bool
	// LogFile is the log file the Backup and Restore Information dialogs
	// propose; "" = Backup.log in the engine's home folder.
	LogFile string
	// Theme: follow the desktop (default), or always light or dark.
	Theme ThemeMode
	// ShotSize is the window's size in the screenshot tour; zero = 1280×800.
	ShotSize fyne.Size
}

// Console is the main window "Backup" and everything in it.
type Console struct {
	app  fyne.App
	eng  Engine
	opts Options
	win  fyne.Window
	quit chan error // ShowAndRun's: told when the window has closed

	// do runs a function on the UI goroutine: fyne.Do, or a queue the
	// tests drain. Goroutines reach widgets only through it.
	do  func(func())
	now func() time.Time

	ctx  context.Context // cancelled when the window closes
	stop context.CancelFunc

	theme     *adminTheme
	exch      *exchangeWindow
	tapes     *tapesWindow
	mdi       *mdi
	toolbar   *fyne.Container
	statusBar *statusBar
	menu      *fyne.MainMenu
	menuItems map[string]*fyne.MenuItem
	acting    []*fyne.MenuItem // the items that act through action: see updateMenuItems

	keys []*dlgKeys // open dialogs, innermost last

	org        *orgIndex // the last organization loaded
	orgLoaded  bool
	tapeLoaded bool
	orgGen     int // discards an older load that finishes after a newer one
	tapeGen    int
	demo       bool

	// settle is how long Screenshots waits for a frame to be drawn;
	// shotDo runs the tour's steps on the UI goroutine (fyne.DoAndWait when
	// nil); tests whose posts run on a goroutine of their own serialize the
	// two through it, as the real driver's single UI goroutine does.
	shotDo func(func())
	// shotSize is the window's size in the pictures.
	settle   time.Duration
	shotSize fyne.Size

	running *statusDialog // the job running, if any
	viewers []*viewer     // the message windows open

	sessionKey tape.KeyProvider // the key unlocked for encrypted sets, this session only (keys.go)
}

// New builds the console on an app. It starts loading the organization and
// the catalog at once, off the UI goroutine.
func New(a fyne.App, eng Engine, opts Options) *Console {
	return newConsole(a, eng, opts, fyne.Do)
}

func newConsole(a fyne.App, eng Engine, opts Options, do func(func())) *Console {
	c := &Console{app: a, eng: eng, opts: opts, do: do, now: time.Now, settle: 700 * time.Millisecond, shotSize: fyne.NewSize(1280, 800), demo: opts.Demo, menuItems: map[string]*fyne.MenuItem{}}
	c.ctx, c.stop = context.WithCancel(context.Background())
	if !opts.ShotSize.IsZero() {
		c.shotSize = opts.ShotSize
	}
	if opts.Theme == ThemeSystem {
		// View > Theme is remembered between runs.
		c.opts.Theme = ThemeMode(a.Preferences().IntWithFallback(themePref, int(ThemeSystem)))
	}
	c.theme = newAdminTheme(c.opts.Theme)
	a.Settings().SetTheme(c.theme)
	a.SetIcon(iconApp)

	c.win = a.NewWindow("Backup")
	c.win.SetIcon(iconApp)
	c.win.SetMaster()
	c.win.SetOnClosed(func() {
		c.stop()
		if c.quit != nil {
			select {
			case c.quit <- nil:
			default:
			}
		}
	})
	c.win.SetCloseIntercept(c.requestClose)

	c.exch = newExchangeWindow(c)
	c.tapes = newTapesWindow(c)
	c.mdi = newMDI(
		newInnerWindow("Microsoft Exchange", iconOrganization, c.exch.content),
		newInnerWindow("Tapes", iconTape, c.tapes.content),
	)
	c.mdi.onChange = c.refreshWindowMenu
	c.statusBar = newStatusBar()
	c.toolbar = c.buildToolbar()
	c.menu = c.buildMenu()
	c.win.SetMainMenu(c.menu)
	c.updateMenuItems() // nothing is selected yet
	c.win.SetContent(container.NewBorder(c.toolbar, c.statusBar.box, nil, nil, c.mdi.root))
	c.win.Resize(fyne.NewSize(1180, 760))
	c.win.Canvas().SetOnTypedKey(c.typedKey)
	c.addMnemonics()
	c.updateStatus()

	c.refreshOrg()
	c.refreshTapes()
	c.showCatalogNotice()
	return c
}

// Window is the main window.
func (c *Console) Window() fyne.Window { return c.win }

// logDefault is the log file the dialogs propose.
func (c *Console) logDefault() string {
	if c.opts.LogFile != "" {
		return c.opts.LogFile
	}
	if h, ok := c.eng.(homer); ok && h.Home() != "" {
		return filepath.Join(h.Home(), "Backup.log")
	}
	return ""
}

// go runs fn off the UI goroutine.
func (c *Console) goDo(fn func()) { go fn() }

// refreshOrg reloads the organization and the servers' states.
func (c *Console) refreshOrg() {
	c.orgGen++
	gen := c.orgGen
	c.statusBar.setActivity("Reading the organization…")
	c.goDo(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
		defer cancel()
		org, err := c.eng.Organization(ctx)
		var ix *orgIndex
		if err == nil {
			ix = buildIndex(org)
		}
		c.do(func() {
			if gen != c.orgGen {
				return
			}
			c.orgLoaded = true
			c.statusBar.setActivity("")
			if err != nil {
				c.exch.setError("Could not read the organization: " + oneLine(err))
				c.updateStatus()
				return
			}
			c.org = ix
			c.demo = c.opts.Demo || org.Demo
			c.exch.setIndex(ix)
			c.updateStatus()
		})
	})
}

// refreshTapes rereads the catalog.
func (c *Console) refreshTapes() {
	c.tapeGen++
	gen := c.tapeGen
	c.goDo(func() {
		m := loadTapes(c.eng)
		c.do(func() {
			if gen != c.tapeGen {
				return
			}
			c.tapeLoaded = true
			c.tapes.setModel(m)
			c.updateStatus()
		})
	})
}

// refresh is View > Refresh (F5).
func (c *Console) refresh() {
	c.refreshOrg()
	c.refreshTapes()
}

// requestClose closes the console, after asking when a job is running
// (closing aborts it).
func (c *Console) requestClose() {
	if sd := c.running; sd != nil && !sd.done {
		if c.modalOpen() && !sd.m.visible {
			return
		}
		c.confirm("Exit", "A job is running. Abort it and exit?", "The set being written is left aborted on its tape; the sets before it are kept.", "Abort and Exit", func() {
			if sd.abort != nil {
				sd.abort()
			}
			c.win.Close()
		})
		return
	}
	c.win.Close()
}

// typedKey gets the keys no widget took: Enter and Escape for the open
// dialog, F5 for the main window.
func (c *Console) typedKey(ev *fyne.KeyEvent) {
	if n := len(c.keys); n > 0 {
		c.keys[n-1].key(ev)
		return
	}
	if ev.Name == fyne.KeyF5 {
		c.refresh()
	}
}

// action wraps a menu or toolbar action: nothing happens while a dialog is
// up (the menu bar stays reachable above a dialog).
func (c *Console) action(fn func()) func() {
	return func() {
		if c.modalOpen() {
			return
		}
		fn()
	}
}

func (c *Console) buildMenu() *fyne.MainMenu {
	item := func(key, label string, fn func(), sc fyne.Shortcut) *fyne.MenuItem {
		it := fyne.NewMenuItem(label, c.action(fn))
		it.Shortcut = sc
		c.menuItems[key] = it
		c.acting = append(c.acting, it)
		return it
	}
	ctrl := func(k fyne.KeyName) fyne.Shortcut {
		return &desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}
	}
	ctrlShift := func(k fyne.KeyName) fyne.Shortcut {
		return &desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift}
	}
	key := func(k fyne.KeyName) fyne.Shortcut { return &desktop.CustomShortcut{KeyName: k} }

	exit := fyne.NewMenuItem("Exit", c.requestClose)
	exit.IsQuit = true
	operations := fyne.NewMenu("Operations",
		item("backup", "Backup…", c.Backup, ctrl(fyne.KeyB)),
		item("restore", "Restore…", c.Restore, ctrl(fyne.KeyR)),
		item("export-items", "Export to Folder…", c.ExportItems, nil),
		item("catalog", "Catalog", c.Catalog, ctrlShift(fyne.KeyC)),
		item("catalog-file", "Catalog File…", c.CatalogFile, ctrl(fyne.KeyO)),
		item("verify", "Verify…", c.Verify, ctrlShift(fyne.KeyV)),
		fyne.NewMenuItemSeparator(),
		item("start-service", "Start Service", c.StartService, nil),
		item("stop-service", "Stop Service", c.StopService, nil),
		item("cancel-restore", "Cancel Restore", c.CancelRestore, nil),
		fyne.NewMenuItemSeparator(),
		item("connect", "Microsoft Exchange…", c.ConnectDialog, ctrl(fyne.KeyE)),
		item("erase", "Erase Tape…", c.EraseTape, nil),
		item("keys", "Encryption Keys…", c.EncryptionKeys, nil),
		fyne.NewMenuItemSeparator(),
		exit,
	)
	tree := fyne.NewMenu("Tree",
		item("expand-one", "Expand One Level", c.exch.expandOneLevel, key(fyne.KeyPlus)),
		item("expand-branch", "Expand Branch", c.exch.expandBranch, key(fyne.KeyAsterisk)),
		item("expand-all", "Expand All", c.exch.expandAll, ctrl(fyne.KeyAsterisk)),
		item("collapse", "Collapse Branch", c.exch.collapseBranch, key(fyne.KeyMinus)),
	)
	statusBar := fyne.NewMenuItem("Status Bar", nil)
	statusBar.Checked = true
	statusBar.Action = func() { c.setStatusBarVisible(!statusBar.Checked) }
	c.menuItems["statusbar"] = statusBar
	toolbar := fyne.NewMenuItem("Toolbar", nil)
	toolbar.Checked = true
	toolbar.Action = func() { c.setToolbarVisible(!toolbar.Checked) }
	c.menuItems["toolbar"] = toolbar
	themeItem := func(k, label string, mode ThemeMode) *fyne.MenuItem {
		it := fyne.NewMenuItem(label, func() {
			c.setTheme(mode)
			c.app.Preferences().SetInt(themePref, int(mode))
		})
		it.Checked = c.opts.Theme == mode
		c.menuItems[k] = it
		return it
	}
	themes := fyne.NewMenuItem("Theme", nil)
	themes.ChildMenu = fyne.NewMenu("", themeItem("theme-system", "System", ThemeSystem),
		themeItem("theme-light", "Light", ThemeLight), themeItem("theme-dark", "Dark", ThemeDark))
	view := fyne.NewMenu("View", statusBar, toolbar, fyne.NewMenuItemSeparator(), themes,
		fyne.NewMenuItemSeparator(), item("refresh", "Refresh", c.refresh, key(fyne.KeyF5)))
	window := fyne.NewMenu("Window",
		item("cascade", "Cascade", func() { c.mdi.cascade() }, nil),
		item("tile", "Tile", func() { c.mdi.tile() }, nil),
		fyne.NewMenuItemSeparator(),
		item("win-exchange", "1 Microsoft Exchange", func() { c.showWindow(0) }, ctrl(fyne.Key1)),
		item("win-tapes", "2 Tapes", func() { c.showWindow(1) }, ctrl(fyne.Key2)),
	)
	help := fyne.NewMenu("Help", item("about", "About Backup…", c.About, key(fyne.KeyF1)))
	return fyne.NewMainMenu(operations, tree, view, window, help)
}

// updateMenuItems enables the menu items that act: none while a dialog is
// up (action ignores them then); Operations > Start Service, Stop Service
// and Cancel Restore by selectedActions. It runs when a dialog opens or
// closes and whenever the selection in the Microsoft Exchange window or the
// states read change. The menu bar is rebuilt only when an item changes:
// rebuilding it closes a menu that is open.
func (c *Console) updateMenuItems() {
	if c.menu == nil {
		return // still being built
	}
	dialog := c.modalOpen()
	var a storeActions
	if !dialog {
		a = c.selectedActions()
	}
	byState := map[*fyne.MenuItem]bool{
		c.menuItems["start-service"]:  a.start,
		c.menuItems["stop-service"]:   a.stop,
		c.menuItems["cancel-restore"]: a.cancel,
	}
	changed := false
	for _, it := range c.acting {
		on := !dialog
		if s, ok := byState[it]; ok {
			on = s
		}
		if it.Disabled == on {
			it.Disabled = !on
			changed = true
		}
	}
	if changed {
		c.menu.Refresh()
	}
}

// showWindow brings inner window i forward with the keyboard in it: the
// tree, or the tapes list.
func (c *Console) showWindow(i int) {
	c.mdi.bringForward(c.mdi.wins[i])
	var f fyne.Focusable = c.exch.tree
	if i == 1 {
		f = c.tapes.tapesTable
	}
	c.win.Canvas().Focus(f)
}

// refreshWindowMenu ticks the front inner window in the Window menu.
func (c *Console) refreshWindowMenu() {
	front := c.mdi.front()
	for i, k := range []string{"win-exchange", "win-tapes"} {
		if it := c.menuItems[k]; it != nil {
			it.Checked = front == c.mdi.wins[i]
		}
	}
	c.menu.Refresh()
}

// addMnemonics: Alt plus a menu's first letter opens it, as on Windows.
// (Alt alone already moves into the menu bar; Fyne draws no underlines.)
func (c *Console) addMnemonics() {
	for i, k := range []fyne.KeyName{fyne.KeyO, fyne.KeyT, fyne.KeyV, fyne.KeyW, fyne.KeyH} {
		c.win.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierAlt},
			func(fyne.Shortcut) { c.openMenu(i) })
	}
}

// openMenu opens the i-th menu of the menu bar.
func (c *Console) openMenu(i int) {
	cv := c.win.Canvas()
	type menuToggler interface{ ToggleMenu() }
	if t, ok := cv.(menuToggler); ok {
		// The window's own menu bar: activating it opens the first menu;
		// moving the focus along the bar opens the others.
		t.ToggleMenu()
		for range i {
			cv.FocusNext()
		}
		return
	}
	// Drivers without an in-window menu bar: the menu as a pop-up.
	widget.ShowPopUpMenuAtPosition(c.menu.Items[i], cv, fyne.NewPos(float32(i)*80, 0))
}

func (c *Console) setStatusBarVisible(on bool) {
	c.menuItems["statusbar"].Checked = on
	if on {
		c.statusBar.box.Show()
	} else {
		c.statusBar.box.Hide()
	}
	c.menu.Refresh()
	c.win.Content().Refresh()
}

func (c *Console) setToolbarVisible(on bool) {
	c.menuItems["toolbar"].Checked = on
	if on {
		c.toolbar.Show()
	} else {
		c.toolbar.Hide()
	}
	c.menu.Refresh()
	c.win.Content().Refresh()
}

func (c *Console) setTheme(mode ThemeMode) {
	c.opts.Theme = mode
	c.theme = newAdminTheme(mode)
	c.app.Settings().SetTheme(c.theme)
	c.menuItems["theme-system"].Checked = mode == ThemeSystem
	c.menuItems["theme-light"].Checked = mode == ThemeLight
	c.menuItems["theme-dark"].Checked = mode == ThemeDark
	c.menu.Refresh()
}

// toolButton is a flat toolbar button with an icon and a label.
func toolButton(label string, icon fyne.Resource, fn func()) *widget.Button {
	b := widget.NewButtonWithIcon(label, icon, fn)
	b.Importance = widget.LowImportance
	return b
}

func (c *Console) buildToolbar() *fyne.Container {
	sep := func() fyne.CanvasObject {
		s := widget.NewSeparator()
		return container.New(layout.NewCustomPaddedLayout(4, 4, 2, 2), s)
	}
	bar := container.NewHBox(
		toolButton("Backup", iconBackup, c.action(c.Backup)),
		toolButton("Restore", iconRestore, c.action(c.Restore)),
		sep(),
		toolButton("Catalog", iconCatalog, c.action(c.Catalog)),
		toolButton("Erase Tape", iconErase, c.action(c.EraseTape)),
		sep(),
		toolButton("Microsoft Exchange…", iconConnect, c.action(c.ConnectDialog)),
	)
	return container.NewVBox(container.NewStack(&themedRect{name: theme.ColorNameHeaderBackground}, bar), widget.NewSeparator())
}

// updateStatus rewrites the status bar.
func (c *Console) updateStatus() {
	msg := "Ready"
	if c.org != nil {
		msg = c.org.summary()
	}
	if c.demo {
		msg = demoMessage
	}
	c.statusBar.message.SetText(msg)
	if c.demo {
		c.statusBar.message.Importance = widget.HighImportance
	} else {
		c.statusBar.message.Importance = widget.MediumImportance
	}
	c.statusBar.message.Refresh()
	c.exch.setDemo(c.demo)

	n := len(c.exch.selectedStores())
	switch n {
	case 0:
		c.statusBar.selection.SetText("Select the stores to back up")
	case 1:
		c.statusBar.selection.SetText("1 store selected")
	default:
		c.statusBar.selection.SetText(thousands(int64(n)) + " stores selected")
	}
	c.statusBar.tapes.SetText(c.tapes.summary())
}

// themePref is the preference that remembers View > Theme.
const themePref = "theme"

const demoMessage = "Demo organization — connect to a real one with Operations > Microsoft Exchange…"

// statusBar is the strip along the bottom of the main window.
type statusBar struct {
	box       *fyne.Container
	message   *widget.Label
	selection *widget.Label
	tapes     *widget.Label
	activity  *widget.Label
}

func newStatusBar() *statusBar {
	s := &statusBar{
		message:   widget.NewLabel("Ready"),
		selection: widget.NewLabel(""),
		tapes:     widget.NewLabel(""),
		activity:  widget.NewLabel(""),
	}
	s.message.Truncation = fyne.TextTruncateEllipsis
	s.activity.Importance = widget.LowImportance
	vsep := func() fyne.CanvasObject { return widget.NewSeparator() }
	right := container.NewHBox(s.activity, vsep(), s.selection, vsep(), s.tapes)
	s.box = container.NewVBox(widget.NewSeparator(),
		container.NewStack(&themedRect{name: theme.ColorNameHeaderBackground}, container.NewBorder(nil, nil, nil, right, s.message)))
	return s
}

func (s *statusBar) setActivity(msg string) {
	s.activity.SetText(msg)
}
