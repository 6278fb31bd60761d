package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/server"
)

// mailboxAdmin is what `exserver mailbox` needs of a server: the running
// one through the API, or a stopped one opened from its data folder.
type mailboxAdmin interface {
	Recipients(ctx context.Context) ([]exchange.Recipient, error)
	CreateMailbox(ctx context.Context, r exchange.Recipient) error
	SetPassword(ctx context.Context, alias, password string) error
}

func cmdMailbox(args []string) error {
	fs := flag.NewFlagSet("mailbox", flag.ContinueOnError)
	var t target
	t.flags(fs)
	alias := fs.String("alias", "", "the mailbox's alias (created when missing)")
	name := fs.String("name", "", "display name of a new mailbox")
	password := fs.String("password", "", "password for SMTP and IMAP (stored as an argon2id hash)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var adm mailboxAdmin
	if _, err := os.Stat(filepath.Join(t.data, "run.json")); t.data != "" && errors.Is(err, os.ErrNotExist) {
		// Not running: open the server's files for the command.
		s, err := server.Open(t.data, nil)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := s.StartServices(); err != nil {
			return err
		}
		adm = s
	} else {
		c, err := t.dial(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		adm = c
	}
	rs, err := adm.Recipients(ctx)
	if err != nil {
		return err
	}
	if *alias == "" {
		if *password != "" || *name != "" {
			return fmt.Errorf("--password and --name need --alias")
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].Alias < rs[j].Alias })
		for _, r := range rs {
			fmt.Printf("%-16s %-24s %s\n", r.Alias, r.DisplayName, r.HomeServer)
		}
		return nil
	}
	exists := false
	for _, r := range rs {
		exists = exists || r.Alias == *alias
	}
	if !exists {
		if err := adm.CreateMailbox(ctx, exchange.Recipient{Alias: *alias, DisplayName: *name}); err != nil {
			return err
		}
		fmt.Printf("created mailbox %s\n", *alias)
	}
	if *password != "" {
		if err := adm.SetPassword(ctx, *alias, *password); err != nil {
			return err
		}
		fmt.Printf("password of %s set\n", *alias)
	}
	return nil
}
