package app

import (
	"context"
	"errors"
	"fmt"

	"exbackup/engine"
)

const verifyUsage = "exbackup verify  --tape NAME [--set N]"

func (c *cli) verify(ctx context.Context, args []string) error {
	fs := newFlags("verify")
	tapeName := fs.String("tape", "", "tape name")
	set := fs.Int("set", 0, "set number (all sets when omitted)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *tapeName == "" {
		return errors.New("usage: exbackup verify --tape NAME [--set N]")
	}
	p := engine.NewProgress("Verify")
	stopBar := c.progressLine(p)
	res, err := c.eng.Verify(ctx, engine.VerifyRequest{Tape: *tapeName, Set: *set}, p)
	stopBar()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "verified %d sets, %d files, %s bytes: no differences\n", res.Sets, res.Files, engine.Thousands(res.Bytes))
	return nil
}
