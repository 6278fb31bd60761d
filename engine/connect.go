package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"exbackup/exchange/client"
)

// This file is the only one that knows the concrete exchange client: the
// rest of the engine speaks to a Server.

// dialExchange dials the real server over HTTPS.
func dialExchange(ctx context.Context, addr, key, fingerprint string) (Server, error) {
	c, err := client.Dial(ctx, addr, key, fingerprint)
	if err != nil {
		return nil, err
	}
	return c, nil
}

var _ Server = (*client.Client)(nil)

// named makes a failed dial name the server it was for, once: the client
// knows a server's name only after it answered.
func named(err error, server string) error {
	var ce *client.CallError
	if errors.As(err, &ce) {
		if ce.Name == "" {
			ce.Name = server
		}
		return err
	}
	if server == "" || strings.Contains(err.Error(), "server "+server) {
		return err
	}
	return fmt.Errorf("server %s: %w", server, err)
}

// FetchFingerprint reads a server's certificate fingerprint, to be shown and
// confirmed before it is pinned.
func (e *Engine) FetchFingerprint(ctx context.Context, addr string) (string, error) {
	return client.FetchFingerprint(ctx, addr)
}

// Connect connects to an organization through one of its servers, whose
// fingerprint the administrator confirmed, and records every server of the
// topology with the fingerprint the directory holds for it.
func (e *Engine) Connect(ctx context.Context, addr, key, fingerprint string) error {
	return e.connect(ctx, addr, key, fingerprint, false)
}

// ConnectDemo is Connect for the built-in demo organization.
func (e *Engine) ConnectDemo(ctx context.Context, addr, key, fingerprint string) error {
	return e.connect(ctx, addr, key, fingerprint, true)
}

func (e *Engine) connect(ctx context.Context, addr, key, fingerprint string, demo bool) error {
	// The address is recorded as it is dialled: "EXCH01" is EXCH01:7401.
	addr, err := client.Address(addr)
	if err != nil {
		return err
	}
	c, err := e.dial(ctx, addr, key, fingerprint)
	if err != nil {
		return err
	}
	defer c.Close()
	topo, err := c.Topology(ctx)
	if err != nil {
		return err
	}
	st := e.Settings()
	st.Organization, st.Key, st.Entry, st.Demo = topo.Organization, key, addr, demo
	st.Servers = map[string]ServerConn{}
	for _, site := range topo.Sites {
		for _, srv := range site.Servers {
			st.Servers[srv.Name] = ServerConn{Address: srv.Address, Fingerprint: srv.Fingerprint}
		}
	}
	if status, err := c.Status(ctx); err == nil {
		st.Servers[status.Name] = ServerConn{Address: addr, Fingerprint: fingerprint}
	}
	return e.SaveSettings(st)
}

// client returns a connection to the named server.
func (e *Engine) client(ctx context.Context, server string) (Server, error) {
	e.mu.Lock()
	c := e.clients[server]
	st := e.settings
	e.mu.Unlock()
	if c != nil {
		return c, nil
	}
	if !st.Connected() {
		return nil, errors.New("not connected to an organization: use Operations > Microsoft Exchange… or exbackup connect")
	}
	conn, ok := st.Servers[server]
	if !ok || conn.Address == "" {
		if err := e.refresh(ctx); err != nil {
			return nil, err
		}
		st = e.Settings()
		if conn, ok = st.Servers[server]; !ok {
			return nil, fmt.Errorf("server %s is not in organization %s", server, st.Organization)
		}
		if conn.Address == "" {
			return nil, fmt.Errorf("server %s has never announced its address", server)
		}
	}
	c, err := e.dial(ctx, conn.Address, st.Key, conn.Fingerprint)
	if err != nil {
		return nil, named(err, server)
	}
	e.mu.Lock()
	if old := e.clients[server]; old != nil {
		c.Close()
		c = old
	} else {
		e.clients[server] = c
	}
	e.mu.Unlock()
	return c, nil
}

// refresh reads the topology again through the entry server and records
// addresses that changed (fingerprints pinned earlier never change).
func (e *Engine) refresh(ctx context.Context) error {
	st := e.Settings()
	entry := ""
	var fp string
	for _, conn := range st.Servers {
		if conn.Address == st.Entry {
			entry, fp = conn.Address, conn.Fingerprint
		}
	}
	if entry == "" {
		return fmt.Errorf("the entry server %s is unknown: connect again", st.Entry)
	}
	c, err := e.dial(ctx, entry, st.Key, fp)
	if err != nil {
		return named(err, e.entryName())
	}
	defer c.Close()
	topo, err := c.Topology(ctx)
	if err != nil {
		return err
	}
	changed := false
	for _, site := range topo.Sites {
		for _, srv := range site.Servers {
			old, ok := st.Servers[srv.Name]
			if ok && old.Fingerprint != "" && srv.Fingerprint != "" && old.Fingerprint != srv.Fingerprint {
				return fmt.Errorf("server %s now presents certificate %s, not the pinned %s: refusing it", srv.Name, srv.Fingerprint, old.Fingerprint)
			}
			if !ok || old.Address != srv.Address {
				if st.Servers == nil {
					st.Servers = map[string]ServerConn{}
				}
				st.Servers[srv.Name] = ServerConn{Address: srv.Address, Fingerprint: firstNonEmpty(old.Fingerprint, srv.Fingerprint)}
				changed = true
			}
		}
	}
	if changed {
		return e.SaveSettings(st)
	}
	return nil
}

// reason is why a server failed, for a list that names each server: the
// failure in words, without the server's name in front.
func reason(err error, server string) string {
	var ce *client.CallError
	if errors.As(err, &ce) {
		return ce.Reason()
	}
	return strings.TrimPrefix(err.Error(), "server "+server+": ")
}

// ServerAddress is a server address as an administrator typed it, as the
// console dials it: host:port, with the default port when none is given.
func ServerAddress(addr string) (string, error) { return client.Address(addr) }
