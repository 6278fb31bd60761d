package ui

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
	"exbackup/internal/keys"
	"exbackup/tape"
)

// Encryption keys: Operations > Encryption Keys… manages the console's key
// store; a restore or verify of an encrypted set asks for the pass phrase
// (or a key file) once, and the unlocked key stays in memory for the
// session only (Console.sessionKey).

// keyWorkFactor protects a key made here; tests lower it.
var keyWorkFactor = keys.DefaultWorkFactor

// keyHome is the console home whose keys/ the key store is.
func (c *Console) keyHome() string {
	if h, ok := c.eng.(homer); ok {
		return h.Home()
	}
	return ""
}

func (c *Console) keyStore() *keys.Store {
	if h := c.keyHome(); h != "" {
		return keys.Open(h)
	}
	return nil
}

// encryptUnavailable says why Backup Information greys Encrypt, or "".
func (c *Console) encryptUnavailable() string {
	if s := c.keyStore(); s == nil || !s.Exists() {
		return "no key: see Operations > Encryption Keys…"
	}
	return ""
}

const keysWidth = 520

// EncryptionKeys is Operations > Encryption Keys….
func (c *Console) EncryptionKeys() { c.newKeysDialog("").show() }

func (c *Console) newKeysDialog(done string) *modal {
	st := c.keyStore()
	k := &dlgKeys{}
	var m *modal
	errLine := newErrorLine()
	doneLine := wrappedNote(done)
	if done == "" {
		doneLine.Hide()
	}
	closeBtn := newDlgButton("Close", k, func() { m.hide() })
	k.cancel = closeBtn.OnTapped
	// act runs a change off the UI goroutine and reopens the dialog on
	// what it made.
	act := func(btn *dlgButton, what func() (string, error)) {
		btn.Disable()
		errLine.set("")
		c.goDo(func() {
			msg, err := what()
			c.do(func() {
				btn.Enable()
				if err != nil {
					errLine.set(oneLine(err))
					return
				}
				m.onHide = nil
				m.hide()
				c.newKeysDialog(msg).show()
			})
		})
	}
	var rows []fyne.CanvasObject
	switch {
	case st == nil:
		rows = append(rows, wrappedNote("This console has no key store."))
	case !st.Exists():
		pass1, pass2 := newDlgPassword(k), newDlgPassword(k)
		var create *dlgButton
		create = newDlgButton("Create Key", k, func() {
			p1, p2 := pass1.Text, pass2.Text
			if p1 != p2 {
				errLine.set("The two pass phrases differ.")
				return
			}
			act(create, func() (string, error) {
				if _, err := keys.InitWorkFactor(c.keyHome(), p1, keyWorkFactor); err != nil {
					return "", err
				}
				return "The console's key is made. Export it and keep it, with the pass phrase, apart from this machine: encrypted tapes cannot be read without them.", nil
			})
		})
		pub := newDlgEntry(k)
		pub.SetPlaceHolder("age1…")
		var imp *dlgButton
		imp = newDlgButton("Import", k, func() {
			r := pub.Text
			act(imp, func() (string, error) {
				if _, err := keys.ImportPublic(c.keyHome(), r); err != nil {
					return "", err
				}
				return "This console now encrypts its backups for that key, and cannot read them itself.", nil
			})
		})
		rows = append(rows,
			wrappedNote("This console has no key: its backups cannot be encrypted."),
			group("Create the console's key",
				form(fieldLabel("Pass phrase:"), pass1, fieldLabel("Again:"), pass2),
				container.NewHBox(create, note(fmt.Sprintf("at least %d characters", keys.MinPassphrase)))),
			group("Or make this a write-only console",
				wrappedNote("Backups are encrypted for another console's public key, and only it can read them."),
				form(fieldLabel("Public key:"), pub),
				container.NewHBox(imp)),
		)
		k.ok = create.OnTapped
		m = c.newModal("Encryption Keys", container.New(&wrapLayout{width: keysWidth}, container.NewVBox(append(rows, doneLine, errLine.Label)...)), k, closeBtn)
		m.focus = pass1
		return m
	default:
		rs, err := st.RecipientKeys()
		if err != nil {
			rows = append(rows, wrappedNote(oneLine(err)))
			break
		}
		what := "This console's public key:"
		if st.WriteOnly() {
			what = "This console holds only this public key: it makes encrypted backups and cannot read them."
		}
		pubLabel := widget.NewLabel(rs[0])
		pubLabel.Selectable = true
		rows = append(rows, wrappedNote(what), pubLabel)
		if len(rs) > 1 {
			rows = append(rows, wrappedNote(fmt.Sprintf("Backups are also encrypted for %d recovery keys:", len(rs)-1)))
			for _, r := range rs[1:] {
				rows = append(rows, value(r))
			}
		}
		rec := newDlgEntry(k)
		rec.SetPlaceHolder("age1…")
		var add *dlgButton
		add = newDlgButton("Add", k, func() {
			r := rec.Text
			act(add, func() (string, error) {
				if err := st.AddRecipient(r); err != nil {
					return "", err
				}
				return "Backups from now on are also encrypted for that key; tapes made before are not.", nil
			})
		})
		rows = append(rows, group("Recovery key",
			wrappedNote("A key kept offline that can read every backup made from now on."),
			form(fieldLabel("Public key:"), rec), container.NewHBox(add)))
		if !st.WriteOnly() {
			path := newDlgEntry(k)
			path.SetPlaceHolder("/media/usb/console-key.age")
			var exp *dlgButton
			exp = newDlgButton("Export", k, func() {
				p := strings.TrimSpace(path.Text)
				if p == "" {
					errLine.set("Enter the file to export the key to.")
					return
				}
				act(exp, func() (string, error) { return exportKey(st, p) })
			})
			rows = append(rows, group("Export the key",
				wrappedNote("The key, still under its pass phrase: restore --identity FILE reads tapes with it on any console."),
				form(fieldLabel("File:"), path), container.NewHBox(exp)))
		}
	}
	content := container.New(&wrapLayout{width: keysWidth}, container.NewVBox(append(rows, doneLine, errLine.Label)...))
	m = c.newModal("Encryption Keys", content, k, closeBtn)
	m.focus = closeBtn
	return m
}

func exportKey(st *keys.Store, path string) (string, error) {
	var buf bytes.Buffer
	if err := st.Export(&buf); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("exporting the key: %w", err)
	}
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("exporting the key to %s: %w", path, err)
	}
	return "The key is exported to " + path + ".", nil
}

// encryptedSet reports whether the catalog lists set number (any set when
// 0) of the tape as encrypted.
func (c *Console) encryptedSet(tapeName string, number int) bool {
	for _, t := range c.tapes.model.tapes {
		if t.tape.Name != tapeName {
			continue
		}
		for _, s := range c.tapes.model.sets[t.tape.ID] {
			if s.set.Encrypted && (number == 0 || s.set.Number == number) {
				return true
			}
		}
	}
	return false
}

// withKey hands then the key for encrypted sets: the one unlocked earlier
// in the session, or one the pass phrase dialog unlocks now.
func (c *Console) withKey(what string, then func(tape.KeyProvider)) {
	if c.sessionKey != nil {
		then(c.sessionKey)
		return
	}
	c.passphraseDialog(what, then).show()
}

func (c *Console) passphraseDialog(what string, then func(tape.KeyProvider)) *modal {
	st := c.keyStore()
	k := &dlgKeys{}
	var m *modal
	pass := newDlgPassword(k)
	file := newDlgEntry(k)
	file.SetPlaceHolder("an exported key, or a recovery key (optional)")
	errLine := newErrorLine()
	why := what + " Enter the pass phrase of the console's key."
	switch {
	case st == nil || !st.Exists():
		why = what + " This console has no key: give a key file (an exported key, with its pass phrase, or a recovery key)."
	case st.WriteOnly():
		why = what + " This console holds only the public key: give a key file (an exported key, with its pass phrase, or a recovery key)."
	}
	var ok *dlgButton
	ok = newDlgButton("Unlock", k, func() {
		p, f := pass.Text, strings.TrimSpace(file.Text)
		ok.Disable()
		errLine.set("")
		c.goDo(func() {
			kp, err := unlock(st, p, f)
			c.do(func() {
				ok.Enable()
				if err != nil {
					errLine.set(oneLine(err))
					return
				}
				c.sessionKey = kp
				m.hide()
				then(kp)
			})
		})
	})
	ok.Importance = widget.HighImportance
	cancel := newDlgButton("Cancel", k, func() { m.hide() })
	k.ok, k.cancel = ok.OnTapped, cancel.OnTapped
	content := container.New(&wrapLayout{width: 440}, container.NewVBox(
		wrappedNote(why),
		form(fieldLabel("Pass phrase:"), pass, fieldLabel("Key file:"), file),
		wrappedNote("The unlocked key is kept in memory until the console closes."),
		errLine.Label))
	m = c.newModal("Pass Phrase", content, k, cancel, ok)
	m.focus = pass
	return m
}

// unlock opens the console's key with the pass phrase, or the key file.
func unlock(st *keys.Store, pass, file string) (tape.KeyProvider, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("the key file: %w", err)
		}
		defer f.Close()
		id, err := keys.UnlockFile(f, pass)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return tape.Identities{id}, nil
	}
	if st == nil {
		return nil, keys.ErrNoStore
	}
	id, err := st.Unlock(pass)
	if err != nil {
		return nil, err
	}
	return tape.Identities{id}, nil
}

// restoreKey asks for the key when a set of the restore is encrypted.
func (c *Console) restoreKey(req engine.RestoreRequest, then func(engine.RestoreRequest)) bool {
	if req.Keys != nil {
		return false
	}
	for _, s := range req.Sets {
		if c.encryptedSet(s.Tape, s.Set) {
			c.withKey(fmt.Sprintf("Set %d of tape \"%s\" is encrypted.", s.Set, s.Tape), func(kp tape.KeyProvider) {
				req.Keys = kp
				then(req)
			})
			return true
		}
	}
	return false
}

// verifyKey asks for the key when a set to verify is encrypted; Cancel
// starts nothing (the command line's verify without a key checks what it
// can).
func (c *Console) verifyKey(reqs []engine.VerifyRequest, then func([]engine.VerifyRequest)) bool {
	if len(reqs) == 0 || reqs[0].Keys != nil {
		return false
	}
	for _, r := range reqs {
		if c.encryptedSet(r.Tape, r.Set) {
			c.withKey(fmt.Sprintf("Tape \"%s\" holds encrypted sets.", r.Tape), func(kp tape.KeyProvider) {
				for i := range reqs {
					reqs[i].Keys = kp
				}
				then(reqs)
			})
			return true
		}
	}
	return false
}

// forgetKeyOn drops the session's key when a job found it cannot open a
// set (another console's tape, say): the next try asks again. It may be
// called off the UI goroutine.
func (c *Console) forgetKeyOn(err error) {
	if engine.IsKeyError(err) {
		c.do(func() { c.sessionKey = nil })
	}
}
