package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"exbackup/exchange"
	"exbackup/tape"
)

const browseUsage = "exbackup browse  --tape NAME|FILE.bkf --set N [--member FILE.bkf]… [PATH]"

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
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 || *tapeName == "" || *set < 1 {
		return errors.New("usage: " + browseUsage)
	}
	path := ""
	if len(pos) == 1 {
		path = pos[0]
	}
	store, err := c.eng.TapeSetStore(*tapeName, *set)
	if err != nil {
		return err
	}
	if store != "" {
		// Its files are the store's databases and logs: listing them as
		// if they were the backup's contents would mislead; its mailboxes
		// are what an administrator looks for.
		return fmt.Errorf("tape %q, set %d is a backup of the %s: browsing the mailboxes of a store set is not available yet (restore it to a server with exbackup restore --tape NAME --set N)",
			*tapeName, *set, exchange.StoreID(store).ServiceName())
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
