package server

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/mail"
	"exbackup/exchange/mail/mailtest"
)

// The store's Backend keeps the contract the front ends rely on, on real
// files.
func TestMailBackendContract(t *testing.T) {
	mailtest.Run(t, func(t *testing.T) mailtest.Org {
		s := newTestServer(t, "Contoso Ltd", "Redmond", "EXCH01", false)
		for _, a := range []string{"alice", "bob"} {
			if err := s.CreateMailbox(bg, exchange.Recipient{Alias: a}); err != nil {
				t.Fatal(err)
			}
			if err := s.SetPassword(bg, a, a+"-pw"); err != nil {
				t.Fatal(err)
			}
			// The contract's organization has three default folders;
			// Exchange's mailboxes have three more.
			for _, f := range []string{"Outbox", "Calendar", "Contacts"} {
				if err := s.Mail().DeleteFolder(bg, a, f); err != nil {
					t.Fatal(err)
				}
			}
		}
		return mailtest.Org{Backend: s.Mail(), Domain: "contoso-ltd.local", Alice: "alice", AlicePass: "alice-pw",
			Bob: "bob", BobPass: "bob-pw", OtherDomainAddress: "carol@elsewhere.net"}
	})
}

// mailView is what an IMAP client sees of every mailbox of a server:
// folders with UIDVALIDITY, messages with UID, flags, date and bytes.
func mailView(t *testing.T, s *Server, boxes ...string) string {
	t.Helper()
	var b strings.Builder
	be := s.Mail()
	for _, box := range boxes {
		fs, err := be.Folders(bg, box)
		if err != nil {
			t.Fatal(err)
		}
		for _, fi := range fs {
			f, err := be.Folder(bg, box, fi.Name)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s/%s validity=%d next=%d\n", box, f.Name, f.UIDValidity, f.UIDNext)
			for _, m := range f.List {
				raw, err := be.Message(bg, box, f.Name, m.UID)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "  %d %v %s %x\n", m.UID, m.Flags, m.InternalDate.Format(time.RFC3339Nano), sha256.Sum256(raw))
			}
		}
	}
	return b.String()
}

// mailTraffic does one of everything a mail client does.
func mailTraffic(t *testing.T, s *Server, box string, n int) {
	t.Helper()
	be := s.Mail()
	for i := range n {
		data := fmt.Appendf(nil, "Subject: %s %d\r\n\r\nbody\r\n", box, i)
		meta, _ := mail.Parse(data)
		if err := be.Deliver(bg, mail.Delivery{Mailboxes: []string{box}, Data: data, Meta: meta, ReceivedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	name := fmt.Sprintf("Folder %d", time.Now().UnixNano())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(be.CreateFolder(bg, box, name))
	in, err := be.Folder(bg, box, mail.Inbox)
	must(err)
	u := in.List[len(in.List)-1].UID
	must(be.SetFlags(bg, box, mail.Inbox, []mail.UID{u}, mail.FlagsAdd, []string{mail.FlagSeen, "$Work"}))
	_, _, _, err = be.Copy(bg, box, mail.Inbox, []mail.UID{u}, name, false)
	must(err)
	_, _, _, err = be.Copy(bg, box, mail.Inbox, []mail.UID{in.List[0].UID}, "Deleted Items", true)
	must(err)
	_, _, err = be.Append(bg, box, "Sent Items", []byte("Subject: sent\r\n\r\nx\r\n"), []string{mail.FlagSeen}, time.Now())
	must(err)
	must(be.RenameFolder(bg, box, name, name+" renamed"))
	must(be.Expunge(bg, box, mail.Inbox, []mail.UID{in.List[1].UID}))
	if err := be.DeleteFolder(bg, box, "Outbox"); err != nil && !errors.Is(err, mail.ErrNoFolder) {
		t.Fatal(err)
	}
}

// Every mail change is logged: it survives a restart that replays the
// log, and the digest follows it.
func TestMailChangesReplay(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice"}); err != nil {
		t.Fatal(err)
	}
	mailTraffic(t, s, "alice", 5)
	want, d := mailView(t, s, "alice"), digest(t, s)
	be := s.Mail()
	in, _ := be.Folder(bg, "alice", mail.Inbox)
	if err := be.SetFlags(bg, "alice", mail.Inbox, []mail.UID{in.List[0].UID}, mail.FlagsAdd, []string{mail.FlagFlagged}); err != nil {
		t.Fatal(err)
	}
	if digest(t, s).Priv == d.Priv {
		t.Fatal("a flag change left the digest as it was")
	}
	if err := be.SetFlags(bg, "alice", mail.Inbox, []mail.UID{in.List[0].UID}, mail.FlagsRemove, []string{mail.FlagFlagged}); err != nil {
		t.Fatal(err)
	}
	dir := s.dir
	s.Close()
	// Replay everything from the start of the log into empty databases.
	for _, f := range []string{"priv.edb", "pub.edb", "edb.chk"} {
		os.Remove(filepath.Join(dir, "mdbdata", f))
	}
	s2 := openTestServer(t, dir)
	if got := mailView(t, s2, "alice"); got != want {
		t.Fatalf("after replay:\n%s\nwant:\n%s", got, want)
	}
	if digest(t, s2) != d {
		t.Fatal("digest changed across replay")
	}
}

// Backup, more mail changes, restore: rolled forward the IMAP view is the
// live one; with Erase it is the one at backup time.
func TestMailRestoreRollForwardAndErase(t *testing.T) {
	s := newTestServer(t, "Org", "Site", "EX1", false)
	if err := s.CreateMailbox(bg, exchange.Recipient{Alias: "alice"}); err != nil {
		t.Fatal(err)
	}
	mailTraffic(t, s, "alice", 4)
	full := takeBackup(t, s, exchange.StoreIS, exchange.Normal)
	atBackup := mailView(t, s, "alice")
	mailTraffic(t, s, "alice", 3)
	inc := takeBackup(t, s, exchange.StoreIS, exchange.Incremental)
	mailTraffic(t, s, "alice", 2)
	live := mailView(t, s, "alice")

	if _, err := restoreSet(s, full, exchange.RestoreRequest{Private: true, Public: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := restoreSet(s, inc, exchange.RestoreRequest{Last: true, Start: true}); err != nil {
		t.Fatal(err)
	}
	if got := mailView(t, s, "alice"); got != live {
		t.Fatalf("rolled forward:\n%s\nwant the live view:\n%s", got, live)
	}
	if _, err := restoreSet(s, full, exchange.RestoreRequest{Erase: true, Private: true, Public: true, Last: true, Start: true}); err != nil {
		t.Fatal(err)
	}
	// Clients have seen UIDs the restore took back: every folder gets a
	// new UIDVALIDITY, and is otherwise as it was at backup time.
	got := mailView(t, s, "alice")
	if noValidity(got) != noValidity(atBackup) {
		t.Fatalf("erased:\n%s\nwant the view at backup time:\n%s", got, atBackup)
	}
	if strings.Contains(got, "validity=1\n") || got == atBackup {
		t.Fatalf("folders kept their UIDVALIDITY across an Erase restore:\n%s", got)
	}
	// A restart does not revalidate again.
	s.StopService(bg, exchange.StoreIS)
	if _, err := s.StartService(bg, exchange.StoreIS); err != nil {
		t.Fatal(err)
	}
	if again := mailView(t, s, "alice"); again != got {
		t.Fatalf("a restart changed the view:\n%s\nwas:\n%s", again, got)
	}
}

var validityRE = regexp.MustCompile(` validity=\d+`)

func noValidity(view string) string { return validityRE.ReplaceAllString(view, "") }

// Every refused login runs the password check: an unknown alias and a
// mailbox without a password are checked against mail.DummyHash, so the
// refusal costs what a wrong password costs and its timing does not tell
// which aliases exist.
func TestRefusedLoginsRunTheVerifier(t *testing.T) {
	s := newTestServer(t, "Contoso Ltd", "Redmond", "EXCH01", false)
	for _, a := range []string{"alice", "nopass"} {
		if err := s.CreateMailbox(bg, exchange.Recipient{Alias: a}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetPassword(bg, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	var checked []string
	old := checkPassword
	checkPassword = func(hash, pw string) (bool, error) {
		if hash == mail.DummyHash {
			checked = append(checked, "dummy")
		} else {
			checked = append(checked, "stored")
		}
		return old(hash, pw)
	}
	defer func() { checkPassword = old }()
	for _, c := range []struct{ alias, pw, want string }{
		{"alice", "wrong", "stored"},
		{"nobody", "wrong", "dummy"},
		{"nopass", "", "dummy"},
		{"NOBODY", "alice-pw", "dummy"},
	} {
		checked = nil
		if _, err := s.Mail().Authenticate(bg, c.alias, c.pw); !errors.Is(err, mail.ErrAuthFailed) {
			t.Errorf("%s: %v, want ErrAuthFailed", c.alias, err)
		}
		if len(checked) != 1 || checked[0] != c.want {
			t.Errorf("%s: checked against %v, want [%s]", c.alias, checked, c.want)
		}
	}
	if got, err := s.Mail().Authenticate(bg, "ALICE", "alice-pw"); err != nil || got != "alice" {
		t.Fatalf("the right password: %q %v", got, err)
	}
}
