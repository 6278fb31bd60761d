package app

import (
	"context"
	"errors"
	"fmt"

	"exbackup/engine"
)

const catalogUsage = "exbackup catalog --tape NAME|FILE.bkf [--member FILE.bkf]…"

func (c *cli) catalog(ctx context.Context, args []string) error {
	fs := newFlags("catalog")
	tapeName := fs.String("tape", "", "tape name or .bkf file")
	var mem members
	fs.Var(&mem, "member", "another .bkf file of the tape's media family, cataloged with it")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *tapeName == "" {
		return errors.New("usage: " + catalogUsage)
	}
	p := engine.NewProgress("Catalog")
	if err := c.eng.CatalogFamily(ctx, *tapeName, mem, p); err != nil {
		return err
	}
	for _, l := range p.Lines() {
		fmt.Fprintln(c.stdout, l)
	}
	return nil
}
