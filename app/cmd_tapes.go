package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"exbackup/catalog"
	"exbackup/engine"
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
	for i, t := range tapes {
		sets, err := c.eng.Sets(t.ID)
		if err != nil {
			return err
		}
		state := "present"
		if !c.eng.TapePresent(t) {
			state = "missing"
		}
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		family := fmt.Sprintf("family %08X", t.FamilyID)
		if t.Sequence > 1 || slices.ContainsFunc(sets, catalog.Set.Spans) {
			family += fmt.Sprintf(" member %d", t.Sequence)
		}
		fmt.Fprintf(c.stdout, "%q  %s  %s  created %s  %s\n", t.Name, family, engine.Plural(len(sets), "set", "sets"),
			t.Created.Local().Format("1/2/2006 3:04 PM"), state)
		fmt.Fprintf(c.stdout, "  %s\n", t.Location)
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		for _, s := range sets {
			what := strings.Join(s.Stores, ",")
			if s.Server != "" && !s.Foreign {
				what += ` \\` + s.Server
			}
			desc := fold(s.Description, descWidth)
			first := ""
			if len(desc) > 0 {
				first = desc[0]
			}
			state := s.StateText()
			if s.Encrypted {
				state += ", encrypted"
			}
			if mt := s.MemberText(); mt != "" {
				state += ", " + mt
			}
			fmt.Fprintf(tw, "  set %d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Number, orDash(s.Type), s.Created.Local().Format("1/2/2006 3:04 PM"),
				orDash(what), state, orDash(s.Owner), first)
			for _, more := range desc[min(1, len(desc)):] {
				fmt.Fprintf(tw, "\t\t\t\t\t\t%s\n", more)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// descWidth is where a set's description folds onto a line of its own.
const descWidth = 40

// fold quotes a description and breaks it into lines of about width
// characters at spaces; a word longer than width is cut.
func fold(desc string, width int) []string {
	if desc == "" {
		return nil
	}
	var lines []string
	line := ""
	for _, w := range strings.Fields(desc) {
		for len([]rune(w)) > width {
			r := []rune(w)
			if line != "" {
				lines, line = append(lines, line), ""
			}
			lines, w = append(lines, string(r[:width])), string(r[width:])
		}
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) > width:
			lines, line = append(lines, line), w
		default:
			line += " " + w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	lines[0] = `"` + lines[0]
	lines[len(lines)-1] += `"`
	return lines
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
