package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"exbackup/engine"
	"exbackup/exchange"
	"exbackup/tape"
)

const browseUsage = "exbackup browse  --tape NAME|FILE.bkf --set N [--member FILE.bkf]… [PATH]\n" + browseItemsUsage

// members is a repeatable --member flag: the other .bkf files of a media
// family.
type members []string

func (m *members) String() string { return strings.Join(*m, ",") }
func (m *members) Set(s string) error {
	*m = append(*m, s)
	return nil
}

func (c *cli) browse(ctx context.Context, args []string) error {
	fs := newFlags("browse")
	tapeName := fs.String("tape", "", "tape name or .bkf file")
	set := fs.Int("set", 0, "set number")
	var mem members
	fs.Var(&mem, "member", "another .bkf file of the tape's media family")
	clean := fs.Bool("clean", false, "remove the staged copies of store sets")
	var f engine.ItemFilter
	fs.StringVar(&f.Text, "search", "", "messages whose sender, recipients or subject hold TEXT")
	fs.StringVar(&f.From, "from", "", "messages whose sender holds TEXT")
	fs.StringVar(&f.Subject, "subject", "", "messages whose subject holds TEXT")
	since := fs.String("since", "", "messages dated on or after YYYY-MM-DD")
	before := fs.String("before", "", "messages dated before YYYY-MM-DD")
	kf := addKeyFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *clean {
		if len(pos) > 0 || *tapeName != "" {
			return errors.New("usage: exbackup browse --clean")
		}
		return c.cleanItems()
	}
	if len(pos) > 1 || *tapeName == "" || *set < 1 {
		return errors.New("usage: " + browseUsage)
	}
	path := ""
	if len(pos) == 1 {
		path = pos[0]
	}
	if f.Since, err = parseDay("since", *since); err != nil {
		return err
	}
	if f.Before, err = parseDay("before", *before); err != nil {
		return err
	}
	search := f != (engine.ItemFilter{})
	store, err := c.eng.TapeSetStore(*tapeName, *set)
	if err != nil {
		return err
	}
	switch {
	case store == string(exchange.StoreDS):
		return fmt.Errorf("tape %q, set %d is a backup of the %s: it holds no mailboxes (browse a set of the Information Store, or restore this one with exbackup restore --tape NAME --set N)",
			*tapeName, *set, exchange.StoreID(store).ServiceName())
	case store != "":
		if len(mem) > 0 {
			return errors.New("--member applies to file sets: the sets of a store chain are found through the catalog")
		}
		return c.browseItems(ctx, *tapeName, *set, path, f, search, kf)
	case search:
		return errors.New("--search, --from, --subject, --since and --before apply to sets of an Information Store")
	}
	tr, err := c.eng.BrowseSet(*tapeName, *set, mem...)
	if err != nil {
		return err
	}
	children, err := tr.Browse(path)
	if err != nil {
		return err
	}
	for _, ch := range children {
		fmt.Fprintln(c.stdout, ch.String())
	}
	for _, p := range tr.Problems {
		if me := (*tape.MemberError)(nil); errors.As(p, &me) {
			p = fmt.Errorf("%w; the listing holds what this tape has of the set", memberHint(me))
		}
		fmt.Fprintf(c.stderr, "warning: %s\n", oneLine(p))
	}
	if !tr.Complete && len(tr.Problems) == 0 {
		fmt.Fprintf(c.stderr, "warning: tape %q, set %d has no end of set on tape: the listing holds what was written before the backup stopped\n", *tapeName, *set)
	}
	return nil
}
