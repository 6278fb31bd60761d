package app

import (
	"context"
	"errors"
	"fmt"
	"sort"

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
	for _, site := range org.Topology.Sites {
		fmt.Fprintf(c.stdout, "  %s\n", site.Name)
		servers := append([]exchange.ServerInfo(nil), site.Servers...)
		sort.Slice(servers, func(i, j int) bool { return servers[i].Name < servers[j].Name })
		for _, srv := range servers {
			st, ok := org.Status[srv.Name]
			if !ok {
				fmt.Fprintf(c.stdout, "    %-10s unreachable: %s\n", srv.Name, org.Unreachable[srv.Name])
				continue
			}
			fmt.Fprintf(c.stdout, "    %-10s Directory %s, Information Store %s\n", srv.Name, st.DS, st.IS)
		}
	}
	return nil
}
