package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"exbackup/engine"
	"exbackup/exchange"
)

const orgUsage = "exbackup org                                the organization tree with service states"

func (c *cli) org(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return errors.New("org takes no arguments")
	}
	d, err := ensureOrg(ctx, c.eng, false)
	if err != nil {
		return err
	}
	defer d.stop()
	org, err := c.eng.Organization(ctx)
	if err != nil {
		return err
	}
	title := org.Topology.Organization
	if org.Demo {
		title += "  (demo organization)"
	}
	fmt.Fprintln(c.stdout, title)
	var down []string
	for _, site := range org.Topology.Sites {
		fmt.Fprintf(c.stdout, "  %s\n", site.Name)
		servers := append([]exchange.ServerInfo(nil), site.Servers...)
		sort.Slice(servers, func(i, j int) bool { return servers[i].Name < servers[j].Name })
		for _, srv := range servers {
			st, ok := org.Status[srv.Name]
			if !ok {
				why := org.Unreachable[srv.Name]
				if why == "" {
					why = "it did not answer"
				}
				fmt.Fprintf(c.stdout, "    %-10s not reachable: %s\n", srv.Name, why)
				down = append(down, srv.Name)
				continue
			}
			fmt.Fprintf(c.stdout, "    %-10s Directory %s, Information Store %s\n", srv.Name, st.DS, st.IS)
			for _, r := range st.Restores {
				fmt.Fprintf(c.stdout, "               %s\n", engine.StagedText(r))
			}
			for _, b := range st.Backups {
				fmt.Fprintf(c.stdout, "               %s: %s backup streaming since %s\n", b.Store.ServiceName(), engine.TypeTitle(b.Type), b.Started.Local().Format("3:04 PM"))
			}
		}
	}
	switch len(down) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("server %s is not reachable", down[0])
	}
	return fmt.Errorf("servers %s are not reachable", strings.Join(down, ", "))
}
