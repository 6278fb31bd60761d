package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"exbackup/engine"
	"exbackup/tape"
)

// restore --to DIR extracts a file set (another program's backup of
// folders) into a folder instead of restoring a store to a server.

const extractUsage = "exbackup restore --tape NAME|FILE.bkf --set N --to DIR [--item PATH]… [--existing skip|overwrite|keep-both] [--streams] [--member FILE.bkf]…"

// wantsExtract reports whether the restore arguments ask for a folder.
func wantsExtract(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-to" || a == "--to" || strings.HasPrefix(a, "-to=") || strings.HasPrefix(a, "--to=") {
			return true
		}
	}
	return false
}

// parseExisting reads --existing.
func parseExisting(s string) (tape.Existing, error) {
	switch strings.ToLower(s) {
	case "", "skip":
		return tape.SkipExisting, nil
	case "overwrite":
		return tape.Overwrite, nil
	case "keep-both", "keepboth", "both":
		return tape.KeepBoth, nil
	}
	return 0, fmt.Errorf("--existing %q: give skip, overwrite or keep-both", s)
}

func (c *cli) extract(ctx context.Context, args []string) error {
	fs := newFlags("restore")
	tapeName := fs.String("tape", "", "tape name or .bkf file")
	set := fs.Int("set", 0, "set number")
	dir := fs.String("to", "", "destination folder")
	existing := fs.String("existing", "skip", "skip, overwrite or keep-both")
	streams := fs.Bool("streams", false, "extract NTFS alternate data streams beside their files")
	var items, mem members
	fs.Var(&items, "item", "a folder or file of the set (repeatable); none = the whole set")
	fs.Var(&mem, "member", "another .bkf file of the tape's media family")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *tapeName == "" || *set < 1 || *dir == "" {
		return errors.New("usage: " + extractUsage)
	}
	ex, err := parseExisting(*existing)
	if err != nil {
		return err
	}
	store, err := c.eng.TapeSetStore(*tapeName, *set)
	if err != nil {
		return err
	}
	if store != "" {
		return fmt.Errorf("tape %q, set %d is a backup of a store, not of files: restore it to a server (exbackup restore --tape NAME --set N), or choose its mailboxes, folders or messages with --item PATH (--to then names a mailbox)", *tapeName, *set)
	}
	req := engine.ExtractRequest{Tape: *tapeName, Set: *set, Dir: *dir, Items: items, Existing: ex, AlternateStreams: *streams, Members: mem}
	p := engine.NewProgress("Restore")
	stopBar := c.progressLine(p)
	res, err := c.eng.ExtractFiles(ctx, req, p)
	stopBar()
	if me := (*tape.MemberError)(nil); errors.As(err, &me) {
		return memberHint(me)
	}
	for _, r := range res.Renamed {
		fmt.Fprintf(c.stdout, "%s -> %s (%s)\n", r.Path, r.Disk, r.Reason)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(c.stdout, "%s skipped: already there\n", s)
	}
	for _, f := range res.Failed {
		fmt.Fprintf(c.stdout, "not extracted: %s\n", oneLine(f))
	}
	for _, l := range res.Lost {
		fmt.Fprintf(c.stdout, "lost on tape: %s\n", oneLine(l))
	}
	fmt.Fprintf(c.stdout, "extracted %d files, %s bytes, %d folders into %s\n", res.Files, engine.Thousands(res.Bytes), res.Dirs, *dir)
	if err == nil && res.Incomplete {
		err = fmt.Errorf("tape %q, set %d: the extraction is incomplete", *tapeName, *set)
	}
	return err
}

// memberHint is a missing member of a media family as the command line
// asks for it: by sequence and family, and the flag that gives it.
func memberHint(me *tape.MemberError) error {
	return fmt.Errorf("%w: give it with --member FILE.bkf", me)
}
