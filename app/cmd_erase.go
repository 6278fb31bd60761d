package app

import (
	"context"
	"errors"
	"fmt"
)

const eraseUsage = "exbackup erase   --tape NAME"

func (c *cli) erase(ctx context.Context, args []string) error {
	fs := newFlags("erase")
	tapeName := fs.String("tape", "", "tape name")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *tapeName == "" {
		return errors.New("usage: exbackup erase --tape NAME")
	}
	if err := c.eng.Erase(ctx, *tapeName); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "erased tape %q\n", *tapeName)
	return nil
}
