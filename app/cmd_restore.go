package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"exbackup/engine"
)

const restoreUsage = "exbackup restore --tape NAME --set N[,N…] [--dest NAME] [--erase] [--private] [--public] [--start] [--verify]\n" + extractUsage

func (c *cli) restore(ctx context.Context, args []string) error {
	if wantsExtract(args) {
		return c.extract(ctx, args) // files into a folder: cmd_extract.go
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
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *tapeName == "" || *setList == "" {
		return errors.New("usage: " + restoreUsage)
	}
	if !*private && !*public {
		*private, *public = true, true // as the dialog's defaults
	}
	var req engine.RestoreRequest
	for _, f := range strings.Split(*setList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("--set %q: give set numbers such as 1 or 1,2,3", *setList)
		}
		req.Sets = append(req.Sets, engine.RestoreSet{Tape: *tapeName, Set: n, Destination: *dest, Erase: *erase,
			Private: *private, Public: *public, Start: *start, Verify: *verify})
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
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "restored %d sets, %d files, %s bytes in %.1f s\n", res.Sets, res.Files, engine.Thousands(res.Bytes), res.Elapsed.Seconds())
	return nil
}
