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
  exbackup connect HOST:PORT --key KEY [--fingerprint sha256:…]
  exbackup org                                the organization tree with service states
  exbackup backup DS \\NAME IS \\NAME [/t normal|copy|incremental|differential] [/a] [/v] [/r]
                  [/d "text"] [/l FILE] [/e] [/hc:on|off] [/tape:NAME]
  exbackup tapes                              tapes and their sets
  exbackup browse  --tape NAME|FILE.bkf --set N [--member FILE.bkf]… [PATH]
  exbackup restore --tape NAME --set N[,N…] [--dest NAME] [--erase] [--private] [--public] [--start] [--verify]
  exbackup restore --tape NAME|FILE.bkf --set N --to DIR [--item PATH]… [--existing skip|overwrite|keep-both] [--streams] [--member FILE.bkf]…
  exbackup verify  --tape NAME [--set N]
  exbackup catalog --tape NAME|FILE.bkf
  exbackup erase   --tape NAME
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
