package main

import (
	"context"
	"flag"
	"fmt"

	"exbackup/exchange/client"
	"exbackup/exchange/server"
)

// target is how an admin command reaches a server: its data folder, or an
// address with the key and pinned fingerprint.
type target struct {
	data, addr, key, fingerprint string
}

func (t *target) flags(fs *flag.FlagSet) {
	fs.StringVar(&t.data, "data", "", "data folder of a local running server (finds address, key and fingerprint)")
	fs.StringVar(&t.addr, "addr", "", "HOST:PORT of the server")
	fs.StringVar(&t.key, "key", "", "the organization's access key")
	fs.StringVar(&t.fingerprint, "fingerprint", "", "the server's certificate fingerprint (sha256:…)")
}

func (t *target) dial(ctx context.Context) (*client.Client, error) {
	if t.data != "" {
		cfg, err := server.LoadConfig(t.data)
		if err != nil {
			return nil, err
		}
		ri, err := server.LoadRunInfo(t.data)
		if err != nil {
			return nil, err
		}
		t.addr, t.key, t.fingerprint = ri.Address, cfg.Key, ri.Fingerprint
	}
	if t.addr == "" || t.key == "" || t.fingerprint == "" {
		return nil, fmt.Errorf("give --data DIR, or --addr, --key and --fingerprint")
	}
	return client.Dial(ctx, t.addr, t.key, t.fingerprint)
}
