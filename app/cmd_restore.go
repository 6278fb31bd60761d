package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"exbackup/engine"
)

const restoreUsage = "exbackup restore --tape NAME --set N[,N…] [--dest NAME] [--erase] [--private] [--public] [--start] [--verify]\n                 [--passphrase-file FILE | --identity FILE] [--wait]\n" + itemsUsage + "\n" + extractUsage + "\n" +
	`exbackup restore --cancel DS|IS \\NAME      drop a staged restore`

func (c *cli) restore(ctx context.Context, args []string) error {
	if hasFlag(args, "item", "export") || wantsExtract(args) {
		// The set's kind decides: items of a store set (cmd_items.go), or
		// files of a file set into a folder (cmd_extract.go).
		store, err := c.storeSet(args)
		if err != nil {
			return err
		}
		if store != "" && hasFlag(args, "item", "export") {
			return c.restoreItems(ctx, args)
		}
		if wantsExtract(args) {
			return c.extract(ctx, args)
		}
		if store == "" && flagArg(args, "tape") != "" {
			return fmt.Errorf("tape %q, set %s is a backup of files: extract with --to DIR (--item chooses its folders and files)", flagArg(args, "tape"), flagArg(args, "set"))
		}
	}
	fs := newFlags("restore")
	tapeName := fs.String("tape", "", "tape name")
	setList := fs.String("set", "", "set number, or numbers of a chain: 1,2,3")
	dest := fs.String("dest", "", "destination server (Information Store only)")
	erase := fs.Bool("erase", false, "Erase all existing data")
	private := fs.Bool("private", false, "restore the private information store")
	public := fs.Bool("public", false, "restore the public information store")
	start := fs.Bool("start", false, "Start Service After Restore")
	verify := fs.Bool("verify", false, "Verify After Restore")
	cancel := fs.Bool("cancel", false, "drop the staged restore of DS|IS \\\\NAME")
	wait := fs.Bool("wait", false, "when a backup keeps the service from stopping, wait for it to end")
	kf := addKeyFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *cancel {
		return c.cancelRestore(ctx, pos)
	}
	if len(pos) > 0 || *tapeName == "" || *setList == "" {
		return errors.New("usage: " + restoreUsage)
	}
	if !*private && !*public {
		*private, *public = true, true // as the dialog's defaults
	}
	var req engine.RestoreRequest
	if req.Keys, err = c.provider(kf); err != nil {
		return err
	}
	for _, f := range strings.Split(*setList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("--set %q: give set numbers such as 1 or 1,2,3", *setList)
		}
		req.Sets = append(req.Sets, engine.RestoreSet{Tape: *tapeName, Set: n, Destination: *dest, Erase: *erase,
			Private: *private, Public: *public, Start: *start, Verify: *verify})
	}
	if *wait {
		req.OnBackupStreaming = func(_ context.Context, busy *engine.BackupStreamingError) bool {
			fmt.Fprintln(c.stdout, busy.Waiting())
			return true
		}
	}
	d, err := ensureOrg(ctx, c.eng, false)
	if err != nil {
		return err
	}
	defer d.stop()
	warnings, err := c.eng.CheckRestore(req)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(c.stderr, "warning: %s\n", w)
	}
	p := engine.NewProgress("Restore")
	stopBar := c.progressLine(p)
	res, err := c.eng.Restore(ctx, req, p)
	stopBar()
	for _, m := range res.Messages {
		fmt.Fprintln(c.stdout, m)
	}
	var busy *engine.BackupStreamingError
	if errors.As(err, &busy) {
		return withWaitHint(err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "restored %s, %s, %s bytes in %s seconds\n", engine.Plural(res.Sets, "set", "sets"), engine.Plural(res.Files, "file", "files"),
		engine.Thousands(res.Bytes), engine.Seconds(res.Elapsed))
	return warned(res.Warnings)
}

func (c *cli) cancelRestore(ctx context.Context, pos []string) error {
	if len(pos) != 2 {
		return errors.New(`usage: exbackup restore --cancel DS|IS \\NAME`)
	}
	store, server, err := storeArg(pos[0], pos[1])
	if err != nil {
		return err
	}
	d, err := ensureOrg(ctx, c.eng, false)
	if err != nil {
		return err
	}
	defer d.stop()
	res, err := c.eng.CancelRestore(ctx, server, store)
	if err != nil {
		return err
	}
	for _, m := range res.Messages {
		fmt.Fprintln(c.stdout, m)
	}
	return nil
}
