package app_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"exbackup/tape"
)

// console is another console home connected to the same organization.
func (o *org) console(name string) *org {
	o.t.Helper()
	c := &org{t: o.t, home: filepath.Join(o.t.TempDir(), name), key: o.key, servers: o.servers}
	s := o.servers["EXCH01"]
	c.ok("connect", s.addr, "--key", o.key, "--fingerprint", s.fp)
	return c
}

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func tapeFile(o *org, name string) string { return filepath.Join(o.home, "tapes", name+".bkf") }

// plaintext is what the server's store holds of the messages loaded: their
// sender and the words of their bodies.
var plaintext = []string{"loadgen@EXCH01", "Test User", "quarterly", "shipment", "invoice"}

func TestEncryptedBackupAndRestore(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	o.load("EXCH01", 100)
	dir := t.TempDir()
	pass := writeFile(t, filepath.Join(dir, "pass"), "correct horse battery\n")
	wrong := writeFile(t, filepath.Join(dir, "wrong"), "incorrect horse battery\n")

	t.Log(o.fails("no key", "backup", "IS", `\\EXCH01`, "/encrypt", "/tape:Secret"))
	if _, err := os.Stat(tapeFile(o, "Secret")); err == nil {
		t.Fatal("a refused /encrypt backup left a tape")
	}
	o.ok("backup", "IS", `\\EXCH01`, "/tape:Plain")
	o.ok("keys", "init", "--passphrase-file", pass, "--work-factor", "12")
	pub := strings.TrimSpace(o.ok("keys", "show"))
	if !strings.HasPrefix(pub, "age1") {
		t.Fatalf("keys show: %q", pub)
	}
	recovery, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	recoveryFile := writeFile(t, filepath.Join(dir, "recovery.txt"), recovery.String()+"\n")
	o.ok("keys", "add-recipient", recovery.Recipient().String())
	if out := o.ok("backup", "IS", `\\EXCH01`, "/encrypt", "/tape:Secret"); !strings.Contains(out, "(encrypted)") {
		t.Fatalf("backup /encrypt: %s", out)
	}
	atBackup := o.digest("EXCH01")

	// The plain tape holds the mail; the encrypted one none of it.
	plain, _ := os.ReadFile(tapeFile(o, "Plain"))
	secret, _ := os.ReadFile(tapeFile(o, "Secret"))
	for _, s := range plaintext {
		if !bytes.Contains(plain, []byte(s)) {
			t.Fatalf("the plain tape lacks %q: the check below would prove nothing", s)
		}
		if bytes.Contains(secret, []byte(s)) {
			t.Fatalf("the encrypted tape holds %q in plain text", s)
		}
	}
	if tapes := o.ok("tapes"); !regexpLine(tapes, "set 1 ", "encrypted") || strings.Count(tapes, "encrypted") != 1 {
		t.Fatalf("tapes does not mark the encrypted set, and only it:\n%s", tapes)
	}
	// Any reader walks the set without a key: a console with none lists it.
	stranger := &org{t: t, home: filepath.Join(t.TempDir(), "stranger")}
	if out := stranger.ok("catalog", "--tape", tapeFile(o, "Secret")); !strings.Contains(out, "Set 1: Normal") {
		t.Fatalf("a console without keys does not catalog the encrypted set:\n%s", out)
	}
	if out := stranger.ok("tapes"); !strings.Contains(out, "set 1 ") || !strings.Contains(out, "encrypted") {
		t.Fatalf("a console without keys does not list the encrypted set:\n%s", out)
	}

	// Without the pass phrase, or with a wrong one, nothing is touched.
	o.load("EXCH01", 20)
	present := o.digest("EXCH01")
	t.Log(o.fails("needs the pass phrase", "restore", "--tape", "Secret", "--set", "1", "--erase", "--start"))
	t.Log(o.fails("wrong pass phrase", "restore", "--tape", "Secret", "--set", "1", "--erase", "--start", "--passphrase-file", wrong))
	if d := o.digest("EXCH01"); d != present {
		t.Fatalf("a refused restore changed the store:\n%s\nwas %s", d, present)
	}
	if out := o.ok("org"); !strings.Contains(out, "Information Store running") {
		t.Fatalf("a refused restore stopped the service:\n%s", out)
	}
	o.ok("restore", "--tape", "Secret", "--set", "1", "--erase", "--start", "--passphrase-file", pass)
	if d := o.digest("EXCH01"); part(d) != part(atBackup) {
		t.Fatalf("restore of the encrypted set:\n%s\nwant %s", d, atBackup)
	}

	// Verify without the key checks what it can and marks nothing verified.
	t.Log(o.fails("not their contents", "verify", "--tape", "Secret"))
	if tapes := o.ok("tapes"); regexpLine(tapes, "encrypted", "verified") {
		t.Fatalf("a verify without the key marked the set verified:\n%s", tapes)
	}
	o.ok("verify", "--tape", "Secret", "--passphrase-file", pass)
	if tapes := o.ok("tapes"); !regexpLine(tapes, "encrypted", "verified") {
		t.Fatalf("a verify with the key did not mark the set verified:\n%s", tapes)
	}

	// A write-only console backs up for the reading console's key and the
	// recovery key, and cannot read its own tape.
	w := o.console("writeonly")
	w.ok("keys", "import-public", pub)
	w.ok("keys", "add-recipient", recovery.Recipient().String())
	w.ok("backup", "IS", `\\EXCH01`, "/encrypt", "/tape:Remote")
	atRemote := o.digest("EXCH01")
	o.load("EXCH01", 20)
	present = o.digest("EXCH01")
	t.Log(w.fails("this console holds only the public key", "restore", "--tape", "Remote", "--set", "1", "--erase", "--start"))
	if d := o.digest("EXCH01"); d != present {
		t.Fatalf("the write-only console's refused restore changed the store")
	}
	// Its tape restores on the console that holds the private key…
	remote, _ := os.ReadFile(tapeFile(w, "Remote"))
	writeFile(t, tapeFile(o, "Remote"), string(remote))
	o.ok("restore", "--tape", "Remote", "--set", "1", "--erase", "--start", "--passphrase-file", pass)
	if d := o.digest("EXCH01"); part(d) != part(atRemote) {
		t.Fatalf("restore of the write-only console's tape:\n%s\nwant %s", d, atRemote)
	}
	// …and on a new console with the recovery key alone, or the export.
	o.load("EXCH01", 20)
	fresh := o.console("fresh")
	os.MkdirAll(filepath.Join(fresh.home, "tapes"), 0o700)
	writeFile(t, tapeFile(fresh, "Remote"), string(remote))
	t.Log(fresh.fails("no key", "restore", "--tape", "Remote", "--set", "1", "--erase", "--start"))
	fresh.ok("restore", "--tape", "Remote", "--set", "1", "--erase", "--start", "--identity", recoveryFile)
	if d := o.digest("EXCH01"); part(d) != part(atRemote) {
		t.Fatalf("restore with the recovery key:\n%s\nwant %s", d, atRemote)
	}
	exported := filepath.Join(dir, "console.age")
	o.ok("keys", "export", exported)
	o.load("EXCH01", 20)
	fresh.fails("wrong pass phrase", "restore", "--tape", "Remote", "--set", "1", "--erase", "--start", "--identity", exported, "--passphrase-file", wrong)
	fresh.ok("restore", "--tape", "Remote", "--set", "1", "--erase", "--start", "--identity", exported, "--passphrase-file", pass)
	if d := o.digest("EXCH01"); part(d) != part(atRemote) {
		t.Fatalf("restore with the exported key:\n%s\nwant %s", d, atRemote)
	}
}

// regexpLine reports whether one line of out holds all of want.
func regexpLine(out string, want ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		all := true
		for _, w := range want {
			all = all && strings.Contains(l, w)
		}
		if all {
			return true
		}
	}
	return false
}

func TestEncryptedVerifyFindsFlippedByte(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	o.load("EXCH01", 100)
	pass := writeFile(t, filepath.Join(t.TempDir(), "pass"), "correct horse battery\n")
	o.ok("keys", "init", "--passphrase-file", pass, "--work-factor", "12")
	o.ok("backup", "IS", `\\EXCH01`, "/encrypt", "/tape:Secret")
	path := tapeFile(o, "Secret")
	tp, err := tape.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tp.Set(1)
	if err != nil {
		t.Fatal(err)
	}
	big := s.Entries[0]
	for _, e := range s.Entries {
		if e.Size > big.Size {
			big = e
		}
	}
	data, _ := os.ReadFile(path)
	data[big.Offset+4096+big.Size/2] ^= 0x01
	writeFile(t, path, string(data))
	last := o.fails("set 1", "verify", "--tape", "Secret", "--passphrase-file", pass)
	if !strings.Contains(last, big.Path) {
		t.Fatalf("verify does not name %s: %s", big.Path, last)
	}
	if tapes := o.ok("tapes"); !strings.Contains(tapes, "damaged") {
		t.Fatalf("the damaged encrypted set is not marked damaged:\n%s", tapes)
	}
}
