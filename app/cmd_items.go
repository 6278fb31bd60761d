package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"exbackup/engine"
)

// Item-level recovery on the command line: browse, restore and export
// the mailboxes, folders and messages of a set of an Information Store.

const itemsUsage = "exbackup restore --tape NAME --set N --item PATH [--item PATH]… [--to ALIAS] [--recovered] [--recreate] [--server NAME]\n" +
	"                 items of a store set into its running store; --to names a mailbox (alias) here, not a folder\n" +
	"exbackup restore --tape NAME --set N --item PATH [--item PATH]… --export DIR [--format eml|mbox]\n" +
	"                 [--passphrase-file FILE | --identity FILE]   an encrypted set's key, for both"

const browseItemsUsage = "exbackup browse  --tape NAME --set N [PATH] [--search TEXT] [--from TEXT] [--subject TEXT] [--since DATE] [--before DATE]\n" +
	"                 [--passphrase-file FILE | --identity FILE]   a store set: PATH is Mailboxes, Mailboxes/ALIAS,\n" +
	"                 Mailboxes/ALIAS/FOLDER…, Public Folders/FOLDER; a message is FOLDER-PATH/#UID\n" +
	"exbackup browse  --clean                     remove the copies of store sets staged for browsing"

// flagArg finds the value of a flag in raw arguments, before they are
// parsed by the flag set of the command that takes them.
func flagArg(args []string, name string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		for _, pre := range []string{"-" + name, "--" + name} {
			if a == pre && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, pre+"="); ok {
				return v
			}
		}
	}
	return ""
}

func hasFlag(args []string, names ...string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		for _, n := range names {
			if a == "-"+n || a == "--"+n || strings.HasPrefix(a, "-"+n+"=") || strings.HasPrefix(a, "--"+n+"=") {
				return true
			}
		}
	}
	return false
}

// storeSet tells whether the set the arguments name is a backup of a
// store ("IS", "DS"), or "" for a file set or when they name none.
func (c *cli) storeSet(args []string) (string, error) {
	name, num := flagArg(args, "tape"), flagArg(args, "set")
	n, err := strconv.Atoi(num)
	if name == "" || err != nil || n < 1 {
		return "", nil
	}
	return c.eng.TapeSetStore(name, n)
}

// parseDay reads a --since or --before date: YYYY-MM-DD, local time.
func parseDay(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, time.Local)
	if err != nil {
		return t, fmt.Errorf("--%s %q: give a date as YYYY-MM-DD", flagName, s)
	}
	return t, nil
}

// stagingLine is what browse says on stderr of the staged copy.
func stagingLine(it *engine.Items) string {
	if it.Cached {
		return fmt.Sprintf("Using the copy staged at %s (%s)", it.Dir, engine.FormatBytes(it.Bytes))
	}
	what := fmt.Sprintf("set %d", it.Set)
	if len(it.Chain) > 1 {
		what += " and its chain"
	}
	return fmt.Sprintf("Read %s (%s) into %s in %s s; recovered in %s s", what, engine.FormatBytes(it.Bytes), it.Dir,
		engine.Seconds(it.ReadTime), engine.Seconds(it.RecoverTime))
}

// browseItems lists or searches a store set.
func (c *cli) browseItems(ctx context.Context, tapeName string, set int, path string, f engine.ItemFilter, search bool, kf *keyFlags) error {
	kp, err := c.provider(kf)
	if err != nil {
		return err
	}
	p := engine.NewProgress("Browse")
	stopBar := c.progressLine(p)
	it, err := c.eng.OpenItemsWith(ctx, engine.ItemOpenRequest{Tape: tapeName, Set: set, Keys: kp}, p)
	stopBar()
	if err != nil {
		return err
	}
	defer it.Close()
	fmt.Fprintln(c.stderr, stagingLine(it))
	var nodes []engine.ItemNode
	if search {
		f.Under = path
		nodes, err = it.Search(f)
	} else {
		nodes, err = it.Browse(path)
	}
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if search {
			fmt.Fprintf(c.stdout, "%s  %s\n", n.String(), n.Path)
			continue
		}
		fmt.Fprintln(c.stdout, n.String())
	}
	if search {
		fmt.Fprintf(c.stderr, "%s found\n", engine.Plural(len(nodes), "item", "items"))
	}
	return nil
}

func (c *cli) cleanItems() error {
	freed, err := c.eng.CleanItems()
	fmt.Fprintf(c.stdout, "removed the staged copies of store sets: %s freed\n", engine.FormatBytes(freed))
	return err
}

// restoreItems is restore --item on a store set: into the live store, or
// with --export into a folder.
func (c *cli) restoreItems(ctx context.Context, args []string) error {
	fs := newFlags("restore")
	tapeName := fs.String("tape", "", "tape name")
	set := fs.Int("set", 0, "set number")
	var items members
	fs.Var(&items, "item", "a mailbox, folder or message (repeatable)")
	to := fs.String("to", "", "another mailbox (alias)")
	recovered := fs.Bool("recovered", false, `into "Recovered Items DATE" of the mailbox`)
	recreate := fs.Bool("recreate", false, "recreate a deleted mailbox from the set")
	server := fs.String("server", "", "destination server")
	export := fs.String("export", "", "write the items into this folder instead")
	format := fs.String("format", "eml", "eml or mbox (with --export)")
	kf := addKeyFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *tapeName == "" || *set < 1 || len(items) == 0 {
		return errors.New("usage: " + itemsUsage)
	}
	kp, err := c.provider(kf)
	if err != nil {
		return err
	}
	if *export != "" {
		if *to != "" || *recovered || *recreate || *server != "" {
			return errors.New("--export writes files: --to, --recovered, --recreate and --server apply to a restore into a store")
		}
		p := engine.NewProgress("Export")
		stopBar := c.progressLine(p)
		res, err := c.eng.ExportItems(ctx, engine.ItemExportRequest{Tape: *tapeName, Set: *set, Items: items, Dir: *export, Format: *format, Keys: kp}, p)
		stopBar()
		for _, r := range res.Renamed {
			fmt.Fprintln(c.stdout, r)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "exported %s into %s (%s, %s)\n", engine.Plural(res.Messages, "message", "messages"), *export,
			engine.Plural(res.Files, "file", "files"), engine.FormatBytes(res.Bytes))
		return nil
	}
	if flagArg(args, "format") != "" {
		return errors.New("--format applies to --export")
	}
	d, err := ensureOrg(ctx, c.eng, false)
	if err != nil {
		return err
	}
	defer d.stop()
	p := engine.NewProgress("Restore")
	stopBar := c.progressLine(p)
	res, err := c.eng.RestoreItems(ctx, engine.ItemRestoreRequest{Tape: *tapeName, Set: *set, Items: items, Server: *server,
		To: *to, Recovered: *recovered, Recreate: *recreate, Keys: kp}, p)
	stopBar()
	for _, l := range p.Lines() {
		if strings.HasPrefix(l, "Restored ") && strings.Contains(l, " into ") || strings.HasPrefix(l, "Created ") {
			fmt.Fprintln(c.stdout, l)
		}
	}
	for _, m := range res.Messages {
		fmt.Fprintln(c.stdout, m)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "restored %s, %d already there, in %s seconds\n", engine.Plural(res.Imported, "item", "items"), res.Duplicates, engine.Seconds(res.Elapsed))
	return nil
}
