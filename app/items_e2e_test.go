package app_test

import (
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// End-to-end tests of item-level recovery: mail delivered over SMTP and
// changed over IMAP is browsed on tape, and single messages and folders
// go back into the running store, or out as .eml files.

func deliver(t *testing.T, s *server, to, subject, body string) {
	t.Helper()
	c, err := smtp.DialStartTLS(s.smtp, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Quit()
	msg := fmt.Sprintf("From: Carol <carol@fabrikam.com>\r\nTo: %s@first-organization.local\r\nSubject: %s\r\nMessage-ID: <%s.%d@fabrikam.com>\r\nDate: Mon, 30 Nov 2026 14:02:00 +0000\r\n\r\n%s\r\n",
		to, subject, strings.ReplaceAll(subject, " ", "-"), time.Now().UnixNano(), body)
	if err := c.SendMail("carol@fabrikam.com", []string{to + "@first-organization.local"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
}

func imapLogin(t *testing.T, s *server, user, pw string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(s.imap, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, pw).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// imapContents is what an IMAP client sees of a mailbox without UIDs:
// for each folder, its messages' flags and bytes, sorted. A message
// restored twice shows twice.
func imapContents(t *testing.T, s *server, user, pw string) string {
	t.Helper()
	c := imapLogin(t, s, user, pw)
	defer func() { c.Logout().Wait() }()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var names []string
	for _, l := range list {
		if !slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) { // Public Folders itself
			names = append(names, l.Mailbox)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		d, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s\n", name)
		if d.NumMessages == 0 {
			continue
		}
		msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, m := range msgs {
			var flags []string
			for _, f := range m.Flags {
				if f != "\\Recent" { // which session sees a message first
					flags = append(flags, string(f))
				}
			}
			sort.Strings(flags)
			lines = append(lines, fmt.Sprintf("  %v %q", flags, m.BodySection[0].Bytes))
		}
		sort.Strings(lines)
		b.WriteString(strings.Join(lines, "\n") + "\n")
	}
	return b.String()
}

// fetchBodies answers the bytes of a folder's messages by UID.
func fetchBodies(t *testing.T, c *imapclient.Client, folder string) map[imap.UID][]byte {
	t.Helper()
	d, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	out := map[imap.UID][]byte{}
	if d.NumMessages == 0 {
		return out
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		out[m.UID] = m.BodySection[0].Bytes
	}
	return out
}

func (o *org) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(bins.exbackup, args...)
	cmd.Env = append(os.Environ(), "EXBACKUP_HOME="+o.home)
	return cmd
}

// stdout runs exbackup and answers its standard output and error apart.
func (o *org) stdout(args ...string) (string, string) {
	o.t.Helper()
	var out, errb strings.Builder
	cmd := o.cmd(args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		o.t.Fatalf("exbackup %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

var stagedRE = regexp.MustCompile(`^Read set \d+( and its chain)? \(.*\) into .* in (less than )?[0-9.]+ s; recovered in (less than )?[0-9.]+ s$`)

func TestItemRestoreOverIMAP(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	s := o.servers["EXCH01"]
	o.exs("mailbox", "--data", s.data, "--alias", "alice", "--password", "alice-pw")
	o.exs("mailbox", "--data", s.data, "--alias", "bob", "--password", "bob-pw")
	for i := range 6 {
		deliver(t, s, "alice", fmt.Sprint("note ", i), fmt.Sprintf("body %d\r\nFrom the start", i))
	}
	for i := range 3 {
		deliver(t, s, "bob", fmt.Sprint("for bob ", i), "hello")
	}
	c := imapLogin(t, s, "alice", "alice-pw")
	if err := c.Create("Projects", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(1, 2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen, imap.FlagFlagged}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(5, 6), "Projects").Wait(); err != nil {
		t.Fatal(err)
	}
	o.ok("backup", "DS", `\\EXCH01`, "IS", `\\EXCH01`, "/tape:"+tapeName)
	atBackup := imapContents(t, s, "alice", "alice-pw")
	inboxAtBackup := fetchBodies(t, c, "INBOX")
	bobBefore := imapView(t, s, "bob", "bob-pw")

	// Over IMAP: messages 1 and 3 expunged, the folder Projects deleted.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(1, 3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("Projects").Wait(); err != nil {
		t.Fatal(err)
	}
	if imapContents(t, s, "alice", "alice-pw") == atBackup {
		t.Fatal("the changes over IMAP changed nothing")
	}
	// bob keeps a session open, idling, across the restore.
	bc := imapLogin(t, s, "bob", "bob-pw")
	if _, err := bc.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := bc.Idle()
	if err != nil {
		t.Fatal(err)
	}
	statusBefore := o.ok("org")
	if !strings.Contains(statusBefore, "Information Store running") {
		t.Fatalf("org before the restore:\n%s", statusBefore)
	}

	o.fails("holds no mailboxes", "browse", "--tape", tapeName, "--set", "1")
	out, errOut := o.stdout("browse", "--tape", tapeName, "--set", "2")
	if !strings.HasPrefix(out, "Mailboxes/  (") || !strings.Contains(out, "Public Folders/  (") || !stagedRE.MatchString(strings.TrimSpace(errOut)) {
		t.Fatalf("browse of the set:\n%s%s", out, errOut)
	}
	out, errOut = o.stdout("browse", "--tape", tapeName, "--set", "2", "Mailboxes")
	if !strings.Contains(out, "alice/  (") || !strings.Contains(out, "bob/  (") || !strings.HasPrefix(errOut, "Using the copy staged at ") {
		t.Fatalf("browse Mailboxes:\n%s%s", out, errOut)
	}
	out, _ = o.stdout("browse", "--tape", tapeName, "--set", "2", "Mailboxes/alice/Inbox")
	if !strings.Contains(out, "note 0") || !strings.Contains(out, "#1\n") || strings.Contains(out, "note 4") {
		t.Fatalf("browse alice's Inbox:\n%s", out)
	}
	out, _ = o.stdout("browse", "--tape", tapeName, "--set", "2", "Mailboxes/alice/Projects")
	if !strings.Contains(out, "note 4") || !strings.Contains(out, "note 5") {
		t.Fatalf("browse alice's Projects:\n%s", out)
	}
	out, _ = o.stdout("browse", "--tape", tapeName, "--set", "2", "--subject", "note 3")
	if !strings.Contains(out, "Mailboxes/alice/Inbox/#4") || strings.Count(out, "\n") != 1 {
		t.Fatalf("search:\n%s", out)
	}

	items := []string{"--item", "Mailboxes/alice/Inbox/#1", "--item", "Mailboxes/alice/Inbox/#3", "--item", "Mailboxes/alice/Projects"}
	out = o.ok(append([]string{"restore", "--tape", tapeName, "--set", "2"}, items...)...)
	if !strings.Contains(out, "Restored 2 messages into alice/Inbox") || !strings.Contains(out, "Restored 2 messages into alice/Projects") {
		t.Fatalf("restore says:\n%s", out)
	}
	if got := imapContents(t, s, "alice", "alice-pw"); got != atBackup {
		t.Fatalf("after the item restore alice sees:\n%s\nwant what she had at backup time:\n%s", got, atBackup)
	}
	out = o.ok(append([]string{"restore", "--tape", tapeName, "--set", "2"}, items...)...)
	if !strings.Contains(out, "Restored 0 messages into alice/Inbox; 2 already there") {
		t.Fatalf("the second restore says:\n%s", out)
	}
	if got := imapContents(t, s, "alice", "alice-pw"); got != atBackup {
		t.Fatalf("after restoring twice alice sees:\n%s\nwant no duplicates:\n%s", got, atBackup)
	}
	if got := imapView(t, s, "bob", "bob-pw"); got != bobBefore {
		t.Fatalf("bob's mailbox changed:\n%s\nwant\n%s", got, bobBefore)
	}
	// The service ran throughout: the same server process, the session
	// opened before still answers.
	if s.cmd.ProcessState != nil {
		t.Fatal("the server stopped")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatalf("bob's idle session across the restore: %v", err)
	}
	if err := bc.Noop().Wait(); err != nil {
		t.Fatalf("bob's session after the restore: %v", err)
	}
	if st := o.ok("org"); !strings.Contains(st, "Information Store running") || !strings.Contains(st, "Directory running") {
		t.Fatalf("org after the restore:\n%s", st)
	}

	// Export gives the bytes IMAP gave at backup time.
	dir := t.TempDir()
	o.ok("restore", "--tape", tapeName, "--set", "2", "--item", "Mailboxes/alice/Inbox", "--export", dir)
	for uid, want := range inboxAtBackup {
		matches, _ := filepath.Glob(filepath.Join(dir, "alice", "Inbox", fmt.Sprintf("*-%d.eml", uid)))
		if len(matches) != 1 {
			t.Fatalf("export of UID %d: %q", uid, matches)
		}
		got, err := os.ReadFile(matches[0])
		if err != nil || string(got) != string(want) {
			t.Fatalf("%s differs from the message over IMAP:\n%q\nwant\n%q", matches[0], got, want)
		}
	}
	o.ok("restore", "--tape", tapeName, "--set", "2", "--item", "Mailboxes/alice/Projects", "--export", dir, "--format", "mbox")
	mbox, err := os.ReadFile(filepath.Join(dir, "alice", "Projects.mbox"))
	if err != nil || strings.Count(string(mbox), "\nFrom ") != 1 || !strings.HasPrefix(string(mbox), "From carol@fabrikam.com ") || !strings.Contains(string(mbox), "\n>From the start") {
		t.Fatalf("mbox: %v\n%s", err, mbox)
	}

	// A deleted mailbox is named, and recreated when asked.
	o.fails(`mailbox "carol" does not exist on EXCH01`, "restore", "--tape", tapeName, "--set", "2", "--item", "Mailboxes/alice/Inbox/#2", "--to", "carol")
	out = o.ok("browse", "--clean")
	if !strings.Contains(out, "freed") {
		t.Fatalf("browse --clean says %q", out)
	}
	if des, _ := os.ReadDir(filepath.Join(o.home, "items")); len(des) != 0 {
		t.Fatalf("staged copies left after --clean: %d", len(des))
	}
}

// The chain case: a message delivered after the full backup on tape A
// and before the incremental on tape B, then expunged, comes back from
// the incremental.
func TestItemRestoreFromIncrementalOnAnotherTape(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	s := o.servers["EXCH01"]
	o.exs("mailbox", "--data", s.data, "--alias", "alice", "--password", "alice-pw")
	deliver(t, s, "alice", "before the full", "one")
	o.ok("backup", "IS", `\\EXCH01`, "/tape:TapeA")
	deliver(t, s, "alice", "between the backups", "two")
	o.ok("backup", "IS", `\\EXCH01`, "/t", "incremental", "/tape:TapeB")
	atInc := imapContents(t, s, "alice", "alice-pw")
	c := imapLogin(t, s, "alice", "alice-pw")
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	out, errOut := o.stdout("browse", "--tape", "TapeB", "--set", "1", "Mailboxes/alice/Inbox")
	if !strings.Contains(out, "between the backups") || !strings.Contains(errOut, "and its chain") {
		t.Fatalf("browse of the incremental:\n%s%s", out, errOut)
	}
	out = o.ok("restore", "--tape", "TapeB", "--set", "1", "--item", "Mailboxes/alice/Inbox/#2")
	if !strings.Contains(out, "Restored 1 message into alice/Inbox") {
		t.Fatalf("restore says:\n%s", out)
	}
	if got := imapContents(t, s, "alice", "alice-pw"); got != atInc {
		t.Fatalf("after the restore from the incremental:\n%s\nwant\n%s", got, atInc)
	}
}

// Items restored onto another server whose store lacks the mailbox: the
// restore names it, and with --recreate makes it from the set's entry.
func TestItemRestoreRecreatesTheMailboxElsewhere(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond", "EXCH02/Redmond")
	s1, s2 := o.servers["EXCH01"], o.servers["EXCH02"]
	o.exs("mailbox", "--data", s1.data, "--alias", "alice", "--name", "Alice Liddell", "--password", "alice-pw")
	for i := range 3 {
		deliver(t, s1, "alice", fmt.Sprint("kept ", i), "body")
	}
	o.ok("backup", "IS", `\\EXCH01`, "/tape:"+tapeName)
	inbox := fetchBodies(t, imapLogin(t, s1, "alice", "alice-pw"), "INBOX")
	o.fails(`mailbox "alice" no longer exists on EXCH02`, "restore", "--tape", tapeName, "--set", "1", "--item", "Mailboxes/alice/Inbox", "--server", "EXCH02")
	out := o.ok("restore", "--tape", tapeName, "--set", "1", "--item", "Mailboxes/alice/Inbox", "--server", "EXCH02", "--recreate")
	if !strings.Contains(out, "Created mailbox alice") || !strings.Contains(out, "Restored 3 messages into alice/Inbox") {
		t.Fatalf("restore with --recreate says:\n%s", out)
	}
	o.exs("mailbox", "--data", s2.data, "--alias", "alice", "--password", "new-pw")
	got := fetchBodies(t, imapLogin(t, s2, "alice", "new-pw"), "INBOX")
	if len(got) != len(inbox) {
		t.Fatalf("alice on EXCH02 has %d messages, want %d", len(got), len(inbox))
	}
	for uid, want := range inbox {
		if string(got[uid]) != string(want) {
			t.Fatalf("message %d on EXCH02 differs:\n%q\nwant\n%q", uid, got[uid], want)
		}
	}
}

// An encrypted set opens for browsing only with the key, even once a copy
// of it is staged.
func TestEncryptedItemsNeedTheKey(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	o.load("EXCH01", 20)
	pass := writeFile(t, filepath.Join(t.TempDir(), "pass"), "correct horse battery\n")
	o.ok("keys", "init", "--passphrase-file", pass, "--work-factor", "12")
	o.ok("backup", "IS", `\\EXCH01`, "/encrypt", "/tape:Secret")
	o.fails("needs the pass phrase", "browse", "--tape", "Secret", "--set", "1")
	if out := o.ok("browse", "--tape", "Secret", "--set", "1", "Mailboxes", "--passphrase-file", pass); !strings.Contains(out, "user0001/") {
		t.Fatalf("browse with the key:\n%s", out)
	}
	o.fails("needs the pass phrase", "browse", "--tape", "Secret", "--set", "1", "Mailboxes")
	o.fails("needs the pass phrase", "restore", "--tape", "Secret", "--set", "1", "--item", "Mailboxes/user0001", "--export", t.TempDir())
}

// Public folders browse down to their posts; a post still there is not
// posted twice, and exports as a message.
func TestItemPublicFolders(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	o.exs("load", "--data", o.servers["EXCH01"].data, "--mailboxes", "2", "--messages", "4", "--public", "5", "--senders", "1")
	o.ok("backup", "IS", `\\EXCH01`, "/tape:"+tapeName)
	if out, _ := o.stdout("browse", "--tape", tapeName, "--set", "1", "Public Folders"); !strings.HasPrefix(out, "General/  (") {
		t.Fatalf("browse Public Folders:\n%s", out)
	}
	out, _ := o.stdout("browse", "--tape", tapeName, "--set", "1", "Public Folders/General/Topic 1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	f := strings.Fields(lines[0])
	id := f[len(f)-1]
	if len(lines) != 1 || !strings.HasPrefix(id, "#") || !strings.Contains(lines[0], "loadgen@EXCH01") {
		t.Fatalf("browse of a public folder:\n%s", out)
	}
	post := "Public Folders/General/Topic 1/" + id
	if out := o.ok("restore", "--tape", tapeName, "--set", "1", "--item", post); !strings.Contains(out, "Restored 0 posts into Public Folders/General/Topic 1; 1 already there") {
		t.Fatalf("restore of a post still there:\n%s", out)
	}
	dir := t.TempDir()
	o.ok("restore", "--tape", tapeName, "--set", "1", "--item", post, "--export", dir)
	b, err := os.ReadFile(filepath.Join(dir, "Public Folders", "General", "Topic 1", "1-"+id[1:]+".eml"))
	if err != nil || !strings.Contains(string(b), "Subject: load ") {
		t.Fatalf("exported post: %v\n%s", err, b)
	}
}
