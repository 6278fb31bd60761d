//go:build screenshots || ci

package ui

import (
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/exchange"
	"exbackup/tape"
)

// ScreenshotsBuiltIn says the binary was built with the screenshot tour
// (go build -tags screenshots; the tests' ci tag builds it in too).
const ScreenshotsBuiltIn = true

// Screenshots opens, in turn, the main window with the tree expanded, the
// Tapes window with a tape selected, and every dialog, and saves each as
// dir/NN-name.png. Dialogs are filled with what the engine knows (the
// organization, the catalog) or with sample values where it knows nothing
// yet; no job runs and nothing is written but the pictures.
//
// Call it from main instead of ShowAndRun: it runs the app until the
// pictures are taken, then quits.
func (c *Console) Screenshots(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("screenshots: %w", err)
	}
	c.win.Resize(c.shotSize)
	c.win.Show()
	errc := make(chan error, 1)
	taken, returned := make(chan error, 1), make(chan struct{})
	go func() {
		err := c.shoot(dir)
		fyne.Do(func() { c.app.Quit() })
		errc <- err
		taken <- err
	}()
	go exitIfRunHangs(taken, returned, quitWait, "the pictures were taken")
	c.app.Run() // returns at once under the test driver: shoot runs on
	close(returned)
	return <-errc
}

// shot is one picture: set up (on the UI goroutine), capture, tear down.
type shot struct {
	name     string
	setup    func()
	teardown func()
}

func (c *Console) shoot(dir string) error {
	ui := func(f func()) { fyne.DoAndWait(f) }
	if c.shotDo != nil {
		ui = c.shotDo
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var ready bool
		ui(func() { ready = c.orgLoaded && c.tapeLoaded })
		if ready {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("screenshots: the organization and the catalog did not load within 20 seconds")
		}
		time.Sleep(100 * time.Millisecond)
	}

	var theme0 ThemeMode
	ui(func() { theme0 = c.opts.Theme })
	var m *modal
	var rd *restoreDialog
	hide := func() {
		if m != nil {
			m.hide()
			m = nil
		}
	}
	shots := []shot{
		{"main", func() {
			c.setTheme(ThemeLight) // the light variant for all but the last picture
			c.mdi.tile()
			c.exch.expandAll()
			c.sampleTicks()
		}, nil},
		{"tapes", func() {
			c.sampleTapeSelection()
			c.mdi.toggleMaximized(c.mdi.wins[1])
		}, func() { c.mdi.toggleMaximized(c.mdi.wins[1]) }},
		{"exchange-connect", func() {
			d := c.newConnectDialog()
			addr, fp := c.sampleServer()
			d.server.SetText(addr)
			d.key.SetText("organization-key")
			d.m.show()
			d.showFingerprint(addr, fp)
			m = d.m
		}, hide},
		{"backup-information", func() {
			stores := c.exch.selectedStores()
			if len(stores) == 0 {
				stores = []engine.StoreRef{{Server: "EXCH01", Store: exchange.StoreDS}, {Server: "EXCH01", Store: exchange.StoreIS}}
			}
			d := c.newBackupDialog(stores)
			d.m.show()
			m = d.m
		}, hide},
		{"backup-status", func() {
			sd := c.newStatusDialog("Backup Status")
			sd.abort = func() {}
			sd.apply(sampleSnapshot("Backup", 0.42))
			sd.appendLines(sampleLines("Backup"))
			sd.m.show()
			m = sd.m
		}, hide},
		{"restore-information-is", func() {
			rd = c.newRestoreDialog(c.sampleRestoreChoices())
			rd.m.show()
			rd.showPage(len(rd.pages) - 1)
			m = rd.m
		}, nil},
		{"restore-information-ds", func() { rd.showPage(0) }, hide},
		{"restore-status", func() {
			sd := c.newStatusDialog("Restore Status")
			s := sampleSnapshot("Restore", 1)
			sd.apply(s)
			sd.appendLines(sampleLines("Restore"))
			sd.finish("Restored 2 sets: 9 files, 36.4 MB.", nil)
			sd.m.show()
			m = sd.m
		}, hide},
		{"tapes-files", func() {
			c.mdi.toggleMaximized(c.mdi.wins[1])
			c.sampleFileSet()
		}, nil},
		{"restore-information-files", func() {
			c.sampleFileTicks()
			if d := c.openFileRestore(); d != nil {
				m = d.m
			}
		}, func() {
			hide()
			c.mdi.toggleMaximized(c.mdi.wins[1])
		}},
		{"verify", func() {
			if d := c.newVerifyDialog(); d != nil {
				d.m.show()
				m = d.m
			}
		}, hide},
		{"verify-status", func() {
			sd := c.newStatusDialog("Verify Status")
			sd.abort = func() {}
			sd.apply(sampleSnapshot("Verify", 0.68))
			sd.appendLines(sampleLines("Verify"))
			sd.m.show()
			m = sd.m
		}, hide},
		{"replace-confirm", func() { m = c.confirmReplace(c.sampleTape(), func() {}) }, hide},
		{"erase-confirm", func() {
			m = c.confirm("Erase Tape", "Erasing the tape destroys all sets on it. Continue?", eraseDetail(c.sampleTape()), "Erase", func() {})
		}, hide},
		{"encryption-keys", func() { m = c.newKeysDialog(""); m.show() }, hide},
		{"passphrase", func() {
			m = c.passphraseDialog(fmt.Sprintf("Set 2 of tape \"%s\" is encrypted.", c.sampleTape().tape.Name), func(tape.KeyProvider) {})
			m.show()
		}, hide},
		{"about", func() { m = c.aboutDialog(); m.show() }, hide},
		{name: "tapes-items", setup: func() {
			c.mdi.toggleMaximized(c.mdi.wins[1])
			c.sampleItemSet()
		}},
		{name: "tapes-items-search", setup: c.sampleItemSearch},
		{name: "message-viewer", setup: c.sampleViewer, teardown: c.closeViewers},
		{name: "restore-information-items", setup: func() {
			if d := c.openItemRestore(); d != nil {
				m = d.m
			}
		}, teardown: hide},
		{name: "export-items", setup: func() {
			if d := c.openItemExport(); d != nil {
				m = d.m
			}
		}, teardown: func() {
			hide()
			c.tapes.files.hide()
			c.mdi.toggleMaximized(c.mdi.wins[1])
		}},
		{"insert-next-tape", func() {
			d := c.newMemberDialog(sampleMemberNeed(), func(string, error) {})
			d.m.show()
			m = d.m
		}, hide},
		{"stop-wait", func() {
			m = c.offerWait("Stop Service", sampleBusy(), stopWaitQuestion, func(bool) {})
		}, hide},
		{"stop-waiting", func() { m = c.waitingDialog("Stop Service", sampleBusy().Waiting(), func() {}) }, hide},
		{"operations-menu", func() {
			menuNote = c.serviceMenuNote()
			c.sampleRunningStore()
			c.openMenu(0)
		}, func() {
			c.closeMenu()
			c.exch.tree.UnselectAll()
		}},
		// Last: the pictures after it would be dark too.
		{"main-dark", func() { c.setTheme(ThemeDark) }, func() { c.setTheme(theme0) }},
	}
	for i, s := range shots {
		ui(s.setup)
		wait := 10 * time.Second
		if w, ok := shotWait[s.name]; ok {
			wait = w
		}
		for end := time.Now().Add(wait); shotReady[s.name] != nil && time.Now().Before(end); {
			var ok bool
			ui(func() { ok = shotReady[s.name](c) })
			if ok {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(c.settle)
		var err error
		name := fmt.Sprintf("%02d-%s.png", i+1, s.name)
		if f := shotNote[s.name]; f != nil {
			var note string
			ui(func() { note = f(c) })
			fmt.Printf("%s: %s\n", name, note)
		}
		ui(func() {
			w := c.win
			if f := shotWindow[s.name]; f != nil {
				w = f(c)
			}
			err = captureWindow(w, filepath.Join(dir, name))
		})
		if s.teardown != nil {
			ui(s.teardown)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func captureWindow(win fyne.Window, path string) error {
	img := win.Canvas().Capture()
	if blank(img) {
		if x := platformCapture(win); x != nil {
			img = x
		}
	}
	if img == nil {
		return fmt.Errorf("screenshots: %s: nothing captured", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("screenshots: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("screenshots: %s: %w", path, err)
	}
	return f.Close()
}

// blank reports an image with nothing drawn (every pixel transparent).
func blank(img image.Image) bool {
	if img == nil {
		return true
	}
	switch m := img.(type) {
	case *image.NRGBA:
		return alphaZero(m.Pix)
	case *image.RGBA:
		return alphaZero(m.Pix)
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0 {
				return false
			}
		}
	}
	return true
}

func alphaZero(pix []uint8) bool {
	for i := 3; i < len(pix); i += 4 {
		if pix[i] != 0 {
			return false
		}
	}
	return true
}

// sampleTicks ticks a whole server and one store of another (servers
// that answered), so the picture shows ticked and partly ticked branches.
func (c *Console) sampleTicks() {
	ix := c.exch.ix
	servers := 0
	for _, site := range ix.children[uidOrg] {
		for _, srv := range ix.children[site] {
			if ix.nodes[srv].severity == 2 {
				continue
			}
			switch servers {
			case 0:
				c.exch.setTick(srv, true)
			case 1:
				if kids := ix.children[srv]; len(kids) > 0 {
					c.exch.setTick(kids[0], true)
				}
			}
			servers++
		}
	}
}

// sampleRunningStore selects, in the Microsoft Exchange window, the first
// store whose service runs, so the Operations menu offers Stop Service and
// not Start Service.
func (c *Console) sampleRunningStore() {
	ix := c.exch.ix
	var walk func(uid string) bool
	walk = func(uid string) bool {
		if n := ix.nodes[uid]; n != nil && n.kind == kindStore && c.storeActions(n.server, n.store).stop {
			c.exch.tree.Select(uid)
			return true
		}
		for _, k := range ix.children[uid] {
			if walk(k) {
				return true
			}
		}
		return false
	}
	walk(uidOrg)
}

// menuNote is what the operations-menu picture prints beside its name.
var menuNote string

func init() {
	shotNote["operations-menu"] = func(*Console) string { return menuNote }
}

// serviceMenuNote selects each store of the tree in turn and says which
// of the Operations menu's service items the window's menu then enables:
// "EXCH01 IS stopped: Start Service; …".
func (c *Console) serviceMenuNote() string {
	ix := c.exch.ix
	var parts []string
	var walk func(uid string)
	walk = func(uid string) {
		if n := ix.nodes[uid]; n != nil && n.kind == kindStore {
			c.exch.tree.Select(uid)
			var on []string
			for _, it := range c.win.MainMenu().Items[0].Items {
				switch it.Label {
				case "Start Service", "Stop Service", "Cancel Restore":
					if !it.Disabled {
						on = append(on, it.Label)
					}
				}
			}
			if len(on) == 0 {
				on = []string{"none"}
			}
			state := ix.org.Status[n.server].Service(n.store)
			parts = append(parts, fmt.Sprintf("%s %s %s: %s", n.server, n.store, state, strings.Join(on, ", ")))
		}
		for _, k := range ix.children[uid] {
			walk(k)
		}
	}
	walk(uidOrg)
	c.exch.tree.UnselectAll()
	return "service items enabled for " + strings.Join(parts, "; ")
}

// closeMenu closes the menu openMenu opened.
func (c *Console) closeMenu() {
	cv := c.win.Canvas()
	type menuToggler interface{ ToggleMenu() }
	if t, ok := cv.(menuToggler); ok {
		t.ToggleMenu()
		return
	}
	if top := cv.Overlays().Top(); top != nil {
		cv.Overlays().Remove(top)
	}
}

// sampleTapeSelection selects the newest tape and ticks its first
// restorable set.
func (c *Console) sampleTapeSelection() {
	tw := c.tapes
	if n := len(tw.model.tapes); n > 0 {
		tw.selectTape(tw.model.tapes[n-1].tape.ID)
		for _, r := range tw.currentSets() {
			if r.restorable {
				tw.tick(r, true)
				break
			}
		}
	}
}

// sampleServer is a server's address and fingerprint for the connect
// dialog's picture.
func (c *Console) sampleServer() (addr, fp string) {
	if c.org != nil {
		for _, site := range c.org.org.Topology.Sites {
			for _, s := range site.Servers {
				if s.Address != "" && s.Fingerprint != "" {
					return s.Address, s.Fingerprint
				}
			}
		}
	}
	return "exch01.example.org:7401", "sha256:3f9a2c41d07be58e6a1f4c3b92d8e07a5c6b1d2e3f4a5b6c7d8e9f0a1b2c3d4e"
}

// sampleTape is the current tape, or a sample one.
func (c *Console) sampleTape() tapeRow {
	if t, ok := c.currentTape(); ok {
		return t
	}
	return tapeRow{tape: catalog.Tape{Name: defaultTapeName(c.now()), Created: c.now(), Owner: c.eng.Owner()}, sets: 4, present: true}
}

// sampleRestoreChoices are a Directory set and an Information Store set
// of one server from the catalog (the newest tape first), or sample ones.
func (c *Console) sampleRestoreChoices() []restoreChoice {
	var ds, is *restoreChoice
	tapes := c.tapes.model.tapes
	for i := len(tapes) - 1; i >= 0 && (ds == nil || is == nil); i-- {
		t := tapes[i]
		ds, is = nil, nil
		for _, s := range c.tapes.model.sets[t.tape.ID] {
			if !s.restorable {
				continue
			}
			ch := restoreChoice{tape: t.tape, set: s.set}
			switch setStore(s.set) {
			case exchange.StoreDS:
				if ds == nil && (is == nil || is.set.Server == s.set.Server) {
					ds = &ch
				}
			case exchange.StoreIS:
				if is == nil && (ds == nil || ds.set.Server == s.set.Server) {
					is = &ch
				}
			}
		}
	}
	now := c.now()
	tape := catalog.Tape{Name: defaultTapeName(now), Created: now, Owner: c.eng.Owner()}
	if ds == nil {
		ds = &restoreChoice{tape: tape, set: catalog.Set{Number: 1, Type: catalog.TypeNormal, Description: "nightly", Created: now, Owner: c.eng.Owner(), Server: "EXCH01", Stores: []string{"DS"}, State: catalog.StateComplete}}
	}
	if is == nil {
		is = &restoreChoice{tape: tape, set: catalog.Set{Number: 2, Type: catalog.TypeNormal, Description: "nightly", Created: now, Owner: c.eng.Owner(), Server: "EXCH01", Stores: []string{"IS"}, State: catalog.StateComplete}}
	}
	return []restoreChoice{*ds, *is}
}

// sampleBusy is a stop refused for a streaming backup.
func sampleBusy() *engine.BackupStreamingError {
	started := time.Date(2026, 11, 25, 9, 12, 3, 0, time.Local)
	return &engine.BackupStreamingError{Server: "EXCH01", Backup: exchange.BackupInProgress{Store: exchange.StoreIS, Type: exchange.Normal, Started: started},
		Err: exchange.Errorf(exchange.CodeConflict, "the Microsoft Information Store on EXCH01 is not stopped: a Normal backup of it is streaming (started %s); stop it when the backup has ended", started.Format("3:04:05 PM"))}
}

func sampleSnapshot(op string, frac float64) engine.Snapshot {
	total := int64(38_174_720)
	return engine.Snapshot{
		Operation:  op,
		Tape:       "Tape created on 11/25/2026",
		Set:        `Set 2 of 2: IS \\EXCH01`,
		Current:    "priv.edb",
		Dirs:       2,
		Files:      9,
		Bytes:      int64(float64(total) * frac),
		TotalBytes: total,
		Elapsed:    time.Duration(14+int(frac*20)) * time.Second,
	}
}

func sampleLines(op string) []string {
	switch op {
	case "Restore":
		return []string{
			"Restore Status",
			`Restoring \\EXCH01 Microsoft Directory from set #1`,
			"Directory restored; recovery replayed generations 3 to 5",
			"Hard recovery of the Directory on EXCH01 rolled forward through the logs on the server to LSN 79: every transaction committed after the backup is in the database again.",
			`Restoring \\EXCH01 Microsoft Information Store from set #2`,
			"Information Store restored; recovery replayed generations 7 to 9",
			"Processed 38,174,720 bytes in 21.4 seconds.",
		}
	case "Verify":
		return []string{
			"Verify Status",
			`Verify of "Tape created on 11/25/2026", set #1`,
			"dir.edb: OK",
			"edb00003.log: OK",
			`Verify of "Tape created on 11/25/2026", set #2`,
		}
	}
	return []string{
		"Backup Status",
		"Operation: Backup",
		`Tape Name: "Tape created on 11/25/2026"`,
		`Backup of \\EXCH01 Microsoft Directory`,
		"Backup set #1 on tape #1, type Normal",
		`Backup of \\EXCH01 Microsoft Information Store`,
		"Backup set #2 on tape #1, type Normal",
	}
}
