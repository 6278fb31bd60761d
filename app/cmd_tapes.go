package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

const tapesUsage = "exbackup tapes                              tapes and their sets"

func (c *cli) tapes(_ context.Context, args []string) error {
	if len(args) > 0 {
		return errors.New("tapes takes no arguments")
	}
	tapes, err := c.eng.Tapes()
	if err != nil {
		return err
	}
	if len(tapes) == 0 {
		fmt.Fprintln(c.stdout, "no tapes in the catalog")
		return nil
	}
	for _, t := range tapes {
		sets, err := c.eng.Sets(t.ID)
		if err != nil {
			return err
		}
		state := "present"
		if !c.eng.TapePresent(t) {
			state = "missing"
		}
		fmt.Fprintf(c.stdout, "%q  family %08X  %d sets  created %s  %s  %s\n", t.Name, t.FamilyID, len(sets),
			t.Created.Local().Format("1/2/2006 3:04 PM"), t.Location, state)
		for _, s := range sets {
			what := strings.Join(s.Stores, ",")
			if s.Server != "" && !s.Foreign {
				what += ` \\` + s.Server
			}
			line := fmt.Sprintf("  set %-3d %-12s %s  %-16s %s", s.Number, orDash(s.Type), s.Created.Local().Format("1/2/2006 3:04 PM"), what, s.State)
			if s.Description != "" {
				line += fmt.Sprintf("  %q", s.Description)
			}
			if s.Owner != "" {
				line += "  " + s.Owner
			}
			if !s.Verified.IsZero() {
				line += "  verified"
			}
			fmt.Fprintln(c.stdout, line)
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
