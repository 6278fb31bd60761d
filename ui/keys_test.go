package ui

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/internal/keys"
	"exbackup/tape"
)

// keyedEngine is the fake engine with a home folder: the key store is real.
type keyedEngine struct {
	*fakeEngine
	home string
}

func (k keyedEngine) Home() string { return k.home }

func newKeyedConsole(t *testing.T, eng *fakeEngine) (*Console, *uiQueue, string) {
	t.Helper()
	old := keyWorkFactor
	keyWorkFactor = 10
	t.Cleanup(func() { keyWorkFactor = old })
	home := t.TempDir()
	a := test.NewTempApp(t)
	q := newUIQueue()
	c := newConsole(a, keyedEngine{eng, home}, Options{Version: "1.2.3", LogFile: "/home/admin/.local/share/exbackup/Backup.log"}, q.do)
	c.now = func() time.Time { return testNow }
	c.settle = 0
	c.win.Resize(fyne.NewSize(1180, 760))
	t.Cleanup(func() {
		q.drain()
		if c.ctx.Err() == nil {
			c.win.Close()
		}
	})
	q.until(t, "the organization and the catalog", func() bool { return c.orgLoaded && c.tapeLoaded })
	return c, q, home
}

func button(t *testing.T, o fyne.CanvasObject, label string) *dlgButton {
	t.Helper()
	for _, b := range find[*dlgButton](o) {
		if b.Text == label {
			return b
		}
	}
	t.Fatalf("no button %q", label)
	return nil
}

func entries(o fyne.CanvasObject) []*dlgEntry { return find[*dlgEntry](o) }

func TestEncryptionKeysDialog(t *testing.T) {
	c, q, home := newKeyedConsole(t, newFakeEngine())
	c.EncryptionKeys()
	top := overlayTop(c)
	if !hasText(top, "This console has no key") {
		t.Fatalf("a console without keys: %q", labelTexts(top))
	}
	es := entries(top) // pass phrase, again, public key
	es[0].SetText("correct horse")
	es[1].SetText("correct horsf")
	test.Tap(button(t, top, "Create Key"))
	if !hasText(top, "The two pass phrases differ") || keys.Open(home).Exists() {
		t.Fatalf("differing pass phrases made a key: %q %d", labelTexts(top), len(es))
	}
	es[1].SetText("correct horse")
	test.Tap(button(t, top, "Create Key"))
	q.until(t, "the key", func() bool { return hasText(overlayTop(c), "The console's key is made") })
	st := keys.Open(home)
	pub, err := st.Show()
	if err != nil || !hasText(overlayTop(c), pub) {
		t.Fatalf("the dialog does not show the public key %q: %v %q", pub, err, labelTexts(overlayTop(c)))
	}

	// A recovery key: a bad one is refused in words, a good one listed.
	top = overlayTop(c)
	es = entries(top) // recovery key, export file
	es[0].SetText("age1notakey")
	test.Tap(button(t, top, "Add"))
	q.until(t, "the refusal", func() bool { return hasText(overlayTop(c), "is not an age public key") })
	other, _ := keys.InitWorkFactor(t.TempDir(), "another pass phrase", 10)
	rec, _ := other.Show()
	es[0].SetText(rec)
	test.Tap(button(t, top, "Add"))
	q.until(t, "the recovery key", func() bool { return hasText(overlayTop(c), "recovery keys") })
	if rs, _ := st.RecipientKeys(); len(rs) != 2 || rs[1] != rec || !hasText(overlayTop(c), rec) {
		t.Fatalf("recipients %v, dialog %q", rs, labelTexts(overlayTop(c)))
	}

	// Export: the file reads back with the pass phrase.
	top = overlayTop(c)
	out := filepath.Join(t.TempDir(), "console.age")
	entries(top)[1].SetText(out)
	test.Tap(button(t, top, "Export"))
	q.until(t, "the export", func() bool { return hasText(overlayTop(c), "exported to") })
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := keys.UnlockFile(f, "correct horse"); err != nil {
		t.Fatalf("the exported key: %v", err)
	}
}

func TestEncryptionKeysWriteOnly(t *testing.T) {
	c, q, home := newKeyedConsole(t, newFakeEngine())
	other, _ := keys.InitWorkFactor(t.TempDir(), "another pass phrase", 10)
	pub, _ := other.Show()
	c.EncryptionKeys()
	top := overlayTop(c)
	entries(top)[2].SetText(pub)
	test.Tap(button(t, top, "Import"))
	q.until(t, "the import", func() bool { return hasText(overlayTop(c), "holds only this public key") })
	if !keys.Open(home).WriteOnly() {
		t.Fatal("import did not make a write-only console")
	}
	for _, b := range find[*dlgButton](overlayTop(c)) {
		if b.Text == "Export" {
			t.Fatal("a write-only console offers to export a key it does not have")
		}
	}
}

func TestBackupEncryptCheck(t *testing.T) {
	c, _, home := newKeyedConsole(t, newFakeEngine())
	d := openBackup(t, c, "server/EXCH01")
	if !d.encrypt.Disabled() || !hasText(overlayTop(c), "no key: see Operations > Encryption Keys") {
		t.Fatal("Encrypt is not greyed with its reason on a console without keys")
	}
	d.m.hide()
	if _, err := keys.InitWorkFactor(home, "correct horse", 10); err != nil {
		t.Fatal(err)
	}
	d = c.newBackupDialog(c.exch.selectedStores())
	d.m.show()
	if d.encrypt.Disabled() || d.encrypt.Checked {
		t.Fatal("Encrypt: enabled and off by default once the console has a key")
	}
	d.encrypt.SetChecked(true)
	req, msg := d.request()
	if msg != "" || !req.Encrypt {
		t.Fatalf("request %+v %q", req, msg)
	}
}

func TestPassphrasePromptForEncryptedSet(t *testing.T) {
	f := newFakeEngine()
	f.sets[2][1].Encrypted = true
	c, q, home := newKeyedConsole(t, f)
	if _, err := keys.InitWorkFactor(home, "correct horse", 10); err != nil {
		t.Fatal(err)
	}
	tapeName := f.tapes[1].Name
	req := engine.RestoreRequest{Sets: []engine.RestoreSet{{Tape: tapeName, Set: 2, Private: true, Public: true}}}
	restores := func() (out []engine.RestoreRequest) {
		f.locked(func() { out = append(out, f.restores...) })
		return
	}
	c.startRestore(req)
	top := overlayTop(c)
	if !hasText(top, "Set 2 of tape") || !hasText(top, "Enter the pass phrase") {
		t.Fatalf("no pass phrase prompt: %q", labelTexts(top))
	}
	pass := entries(top)[0]
	if !pass.Password {
		t.Fatal("the pass phrase shows as typed")
	}
	pass.SetText("wrong horse")
	test.Tap(button(t, top, "Unlock"))
	q.until(t, "the refusal", func() bool { return hasText(overlayTop(c), "Wrong pass phrase") })
	if len(restores()) != 0 || c.sessionKey != nil {
		t.Fatal("a wrong pass phrase started the restore")
	}
	pass.SetText("correct horse")
	test.Tap(button(t, top, "Unlock"))
	q.until(t, "the restore", func() bool { return len(restores()) == 1 })
	if restores()[0].Keys == nil || c.sessionKey == nil {
		t.Fatal("the restore did not get the key")
	}
	if ids, err := restores()[0].Keys.Identities(); err != nil || len(ids) != 1 {
		t.Fatalf("the key handed over: %v %v", ids, err)
	}
	q.until(t, "the job's end", func() bool { return c.running == nil || c.running.done })
	// The key stays unlocked for the session: no second prompt.
	for _, o := range c.win.Canvas().Overlays().List() {
		if hasText(o, "Enter the pass phrase") {
			t.Fatal("the prompt stayed open")
		}
	}
	c.startRestore(req)
	q.until(t, "the second restore", func() bool { return len(restores()) == 2 })
	q.until(t, "the job's end", func() bool { return c.running == nil || c.running.done })

	// A key that turns out not to open the set is forgotten: the next
	// restore asks again.
	f.locked(func() { f.restoreErr = &tape.KeyError{Tape: tapeName, Set: 2, Err: tape.ErrWrongKey} })
	c.startRestore(req)
	q.until(t, "the key forgotten", func() bool { return c.sessionKey == nil })
	f.locked(func() { f.restoreErr = nil })
	c.startRestore(req)
	if !hasText(overlayTop(c), "Enter the pass phrase") {
		t.Fatal("no prompt after the key failed")
	}
	test.Tap(button(t, overlayTop(c), "Cancel"))

	// An unencrypted set asks nothing.
	c.sessionKey = nil
	plain := engine.RestoreRequest{Sets: []engine.RestoreSet{{Tape: tapeName, Set: 1}}}
	n := len(restores()) // the restore whose key failed counts too
	c.startRestore(plain)
	q.until(t, "the plain restore", func() bool { return len(restores()) == n+1 })
}

func TestPassphrasePromptWriteOnly(t *testing.T) {
	f := newFakeEngine()
	f.sets[2][1].Encrypted = true
	c, _, home := newKeyedConsole(t, f)
	other, _ := keys.InitWorkFactor(t.TempDir(), "another pass phrase", 10)
	pub, _ := other.Show()
	if _, err := keys.ImportPublic(home, pub); err != nil {
		t.Fatal(err)
	}
	c.startVerify([]engine.VerifyRequest{{Tape: f.tapes[1].Name}})
	top := overlayTop(c)
	if !hasText(top, "This console holds only the public key") {
		t.Fatalf("the prompt on a write-only console: %q", labelTexts(top))
	}
	test.Tap(button(t, top, "Cancel"))
	f.locked(func() {
		if len(f.verifies) != 0 {
			t.Fatal("Cancel started the verify")
		}
	})
}

func TestTapesWindowMarksEncryptedSets(t *testing.T) {
	s := sampleSet(2, 2, "normal", "EXCH01", "IS", catalog.StateComplete)
	if got := newSetRow(s, true).cells[2]; got != "Complete" {
		t.Fatalf("plain set: %q", got)
	}
	s.Encrypted = true
	if got := newSetRow(s, true).cells[2]; got != "Complete, encrypted" {
		t.Fatalf("encrypted set: %q", got)
	}
}
