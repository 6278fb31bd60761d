package app

import (
	"context"
	"errors"
	"fmt"

	"exbackup/engine"
)

const verifyUsage = "exbackup verify  --tape NAME [--set N] [--passphrase-file FILE | --identity FILE]"

func (c *cli) verify(ctx context.Context, args []string) error {
	fs := newFlags("verify")
	tapeName := fs.String("tape", "", "tape name")
	set := fs.Int("set", 0, "set number (all sets when omitted)")
	kf := addKeyFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *tapeName == "" {
		return errors.New("usage: " + verifyUsage)
	}
	kp, err := c.provider(kf)
	if err != nil {
		return err
	}
	p := engine.NewProgress("Verify")
	stopBar := c.progressLine(p)
	res, err := c.eng.Verify(ctx, engine.VerifyRequest{Tape: *tapeName, Set: *set, Keys: kp}, p)
	stopBar()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "verified %s, %s, %s bytes: no differences\n", engine.Plural(res.Sets, "set", "sets"), engine.Plural(res.Files, "file", "files"),
		engine.Thousands(res.Bytes))
	return nil
}
