package app

import (
	"context"
	"io"
	"strings"
	"testing"
)

// exbackup --help reads as it always has, one command a line or two.
func TestUsage(t *testing.T) {
	want := `usage:
  exbackup                                    the console (GUI)
  exbackup connect HOST[:PORT] --key KEY [--fingerprint sha256:…]
  exbackup org                                the organization tree with service states
  exbackup backup DS \\NAME IS \\NAME [/t normal|copy|incremental|differential] [/a] [/v] [/r]
                  [/d "text"] [/l FILE] [/e] [/hc:on|off] [/tape:NAME] [/encrypt]
  exbackup tapes                              tapes and their sets
  exbackup browse  --tape NAME|FILE.bkf --set N [--member FILE.bkf]… [PATH]
  exbackup browse  --tape NAME --set N [PATH] [--search TEXT] [--from TEXT] [--subject TEXT] [--since DATE] [--before DATE]
                   [--passphrase-file FILE | --identity FILE]   a store set: PATH is Mailboxes, Mailboxes/ALIAS,
                   Mailboxes/ALIAS/FOLDER…, Public Folders/FOLDER; a message is FOLDER-PATH/#UID
  exbackup browse  --clean                     remove the copies of store sets staged for browsing
  exbackup restore --tape NAME --set N[,N…] [--dest NAME] [--erase] [--private] [--public] [--start] [--verify]
                   [--passphrase-file FILE | --identity FILE] [--wait]
  exbackup restore --tape NAME --set N --item PATH [--item PATH]… [--to ALIAS] [--recovered] [--recreate] [--server NAME]
                   items of a store set into its running store; --to names a mailbox (alias) here, not a folder
  exbackup restore --tape NAME --set N --item PATH [--item PATH]… --export DIR [--format eml|mbox]
                   [--passphrase-file FILE | --identity FILE]   an encrypted set's key, for both
  exbackup restore --tape NAME|FILE.bkf --set N --to DIR [--item PATH]… [--existing skip|overwrite|keep-both] [--streams] [--member FILE.bkf]…
  exbackup restore --cancel DS|IS \\NAME      drop a staged restore
  exbackup service start|stop DS|IS \\NAME    start runs a staged restore's recovery
                   [--wait]                   stop: wait for a backup of the store to end first
  exbackup verify  --tape NAME [--set N] [--passphrase-file FILE | --identity FILE]
  exbackup catalog --tape NAME|FILE.bkf [--member FILE.bkf]…
  exbackup erase   --tape NAME
  exbackup keys init [--passphrase-file FILE]  create the console's key (asks twice on a terminal)
  exbackup keys show                          the console's public key (age1…)
  exbackup keys import-public age1…           a write-only console: encrypt for that key only
  exbackup keys add-recipient age1…           also encrypt for a recovery key
  exbackup keys export [FILE]                 the console's key, still under its pass phrase
  exbackup --version
`
	if got := usage(); got != want {
		t.Fatalf("usage:\n%s\nwant:\n%s", got, want)
	}
	for _, cmd := range commands {
		if !strings.HasPrefix(cmd.help, "exbackup "+cmd.name+" ") {
			t.Errorf("the help of %s is %q", cmd.name, cmd.help)
		}
	}
}

// Each name runs its own command (seen by the usage error each gives
// without arguments); another name is refused by name.
func TestRunDispatchesByName(t *testing.T) {
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	for name, want := range map[string]string{
		"connect": "usage: exbackup connect",
		"restore": "usage: exbackup restore",
		"browse":  "usage: exbackup browse",
		"verify":  "usage: exbackup verify",
		"catalog": "usage: exbackup catalog",
		"erase":   "usage: exbackup erase",
		"backup":  "name what to back up",
		"org":     "org takes no arguments",
		"tapes":   "tapes takes no arguments",
	} {
		args := []string{name}
		if name == "org" || name == "tapes" {
			args = append(args, "extra")
		}
		err := c.run(context.Background(), args)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	if err := c.run(context.Background(), []string{"format"}); err == nil || !strings.Contains(err.Error(), `unknown command "format"`) {
		t.Errorf("format: %v", err)
	}
}

// A long description folds at spaces into lines of the column's width,
// quoted as a whole; a word longer than the column is cut.
func TestFoldDescription(t *testing.T) {
	got := fold("Weekly full backup of every store before the migration to the new site", 24)
	want := []string{`"Weekly full backup of`, "every store before the", "migration to the new", `site"`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("fold = %q, want %q", got, want)
	}
	if got := fold("short", 24); len(got) != 1 || got[0] != `"short"` {
		t.Errorf("fold short = %q", got)
	}
	if got := fold(strings.Repeat("x", 30), 24); len(got) != 2 || len(got[0]) != 25 {
		t.Errorf("fold of a long word = %q", got)
	}
	if got := fold("", 24); got != nil {
		t.Errorf("fold empty = %q", got)
	}
}
