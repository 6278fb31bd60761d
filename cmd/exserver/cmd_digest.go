package main

import (
	"context"
	"flag"
	"fmt"
	"time"
)

func cmdDigest(args []string) error {
	fs := flag.NewFlagSet("digest", flag.ContinueOnError)
	var t target
	t.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := t.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	d, err := c.Digest(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("ds=%s priv=%s pub=%s\n", d.DS, d.Priv, d.Pub)
	return nil
}
