package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"exbackup/engine"
)

const connectUsage = "exbackup connect HOST[:PORT] --key KEY [--fingerprint sha256:…]"

func (c *cli) connect(ctx context.Context, args []string) error {
	fs := newFlags("connect")
	key := fs.String("key", "", "the organization's access key")
	fp := fs.String("fingerprint", "", "the server's certificate fingerprint")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *key == "" {
		return errors.New("usage: " + connectUsage)
	}
	addr, err := engine.ServerAddress(pos[0])
	if err != nil {
		return err
	}
	if *fp == "" {
		got, err := c.eng.FetchFingerprint(ctx, addr)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s presents certificate %s\nTrust it? [y/N] ", addr, got)
		line, _ := bufio.NewReader(c.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return errors.New("certificate not trusted: nothing changed (give --fingerprint to pin it without asking)")
		}
		*fp = got
	}
	if err := c.eng.Connect(ctx, addr, *key, *fp); err != nil {
		return err
	}
	st := c.eng.Settings()
	fmt.Fprintf(c.stdout, "connected to organization %s through %s (%d servers)\n", st.Organization, addr, len(st.Servers))
	return nil
}
