package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"exbackup/exchange/client"
	"exbackup/exchange/server"
)

func cmdInit(args []string) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	var o server.InitOptions
	fs.StringVar(&o.Dir, "data", "", "data folder of the new server")
	fs.StringVar(&o.Organization, "org", "", "organization name")
	fs.StringVar(&o.Site, "site", "", "site name")
	fs.StringVar(&o.Name, "name", "", "server name")
	fs.StringVar(&o.Key, "key", "", "the organization's access key: at least 128 bits, e.g. 22 random base64 characters (made when creating an organization without one)")
	fs.StringVar(&o.Join, "join", "", "HOST:PORT of a running server of the organization to join")
	fs.StringVar(&o.JoinFingerprint, "join-fingerprint", "", "pinned certificate fingerprint of the server to join (shown and trusted on first use when empty)")
	fs.StringVar(&o.Domain, "domain", "", "the organization's mail domain (default: its name in lower case + .local)")
	fs.BoolVar(&o.CircularLogging, "circular-logging", false, "delete logs once checkpointed (no incremental or differential backups)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if o.Join != "" && o.JoinFingerprint == "" {
		fp, err := client.FetchFingerprint(ctx, o.Join)
		if err != nil {
			return err
		}
		fmt.Printf("trusting %s with certificate %s\n", o.Join, fp)
		o.JoinFingerprint = fp
	}
	cfg, err := server.Init(ctx, o)
	if err != nil {
		return err
	}
	fmt.Printf("initialized %s in site %s of organization %s\n", cfg.Name, cfg.Site, cfg.Organization)
	domain := o.Domain
	if domain == "" {
		domain = server.DefaultDomain(cfg.Organization)
	}
	fmt.Printf("mail domain: %s\n", domain)
	if o.Key == "" {
		fmt.Printf("access key: %s\n", cfg.Key)
	}
	return nil
}
