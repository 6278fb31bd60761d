package server

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/client"

	bolt "go.etcd.io/bbolt"
)

// The organization as this server's Directory holds it, and the mail
// its Information Store takes.

// Topology implements Node.
func (s *Server) Topology(ctx context.Context) (exchange.Topology, error) {
	topo := exchange.Topology{Organization: s.cfg.Organization}
	err := s.ds.view(dirEDB, func(tx *bolt.Tx) error {
		if b := tx.Bucket(bOrg); b != nil {
			if v := b.Get(kName); v != nil {
				topo.Organization = string(v)
			}
		}
		sites := tx.Bucket(bSites)
		if sites == nil {
			return nil
		}
		return sites.ForEachBucket(func(k []byte) error {
			site := exchange.Site{Name: string(k)}
			err := sites.Bucket(k).ForEach(func(_, v []byte) error {
				var si exchange.ServerInfo
				if err := json.Unmarshal(v, &si); err != nil {
					return err
				}
				site.Servers = append(site.Servers, si)
				return nil
			})
			topo.Sites = append(topo.Sites, site)
			return err
		})
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if errors.Is(err, exchange.ErrNotRunning) && len(s.topo.Sites) > 0 {
			return s.topo, nil
		}
		if errors.Is(err, exchange.ErrNotRunning) {
			// Never read: answer this server alone.
			return exchange.Topology{Organization: s.cfg.Organization, Sites: []exchange.Site{{Name: s.cfg.Site,
				Servers: []exchange.ServerInfo{{Name: s.cfg.Name, Site: s.cfg.Site, Address: s.address, Fingerprint: s.fingerprint}}}}}, nil
		}
		return exchange.Topology{}, err
	}
	sort.Slice(topo.Sites, func(i, j int) bool { return topo.Sites[i].Name < topo.Sites[j].Name })
	s.topo = topo
	return topo, nil
}

// Join implements Node: it records the new server and passes it on.
func (s *Server) Join(ctx context.Context, in exchange.ServerInfo) (exchange.Topology, error) {
	if err := validName("server", in.Name); err != nil {
		return exchange.Topology{}, exchange.Errorf(exchange.CodeBadRequest, "%v", err)
	}
	if err := validName("site", in.Site); err != nil {
		return exchange.Topology{}, exchange.Errorf(exchange.CodeBadRequest, "%v", err)
	}
	topo, err := s.Topology(ctx)
	if err != nil {
		return exchange.Topology{}, err
	}
	if old, ok := topo.Find(in.Name); ok && (old.Site != in.Site || (old.Fingerprint != "" && old.Fingerprint != in.Fingerprint)) {
		return exchange.Topology{}, exchange.Errorf(exchange.CodeConflict, "the organization already has a server named %s (site %s)", in.Name, old.Site)
	}
	if err := s.UpdateServer(ctx, in); err != nil {
		return exchange.Topology{}, err
	}
	s.passOn(topo, in)
	return s.Topology(ctx)
}

// UpdateServer implements Node.
func (s *Server) UpdateServer(ctx context.Context, in exchange.ServerInfo) error {
	if err := validName("server", in.Name); err != nil {
		return exchange.Errorf(exchange.CodeBadRequest, "%v", err)
	}
	if err := validName("site", in.Site); err != nil {
		return exchange.Errorf(exchange.CodeBadRequest, "%v", err)
	}
	if in.Name == s.cfg.Name && in.Fingerprint != s.fingerprint {
		return exchange.Errorf(exchange.CodeConflict, "%s is this server: another server cannot take its name", in.Name)
	}
	return s.ds.commit(&op{Kind: opPutServer, DB: dirEDB, Server: &in})
}

// passOn sends a server object to the other servers of the organization, in
// the background: a server that is down learns it when the new one
// announces its address.
func (s *Server) passOn(topo exchange.Topology, in exchange.ServerInfo) {
	for _, site := range topo.Sites {
		for _, peer := range site.Servers {
			if peer.Name == s.cfg.Name || peer.Name == in.Name || peer.Address == "" {
				continue
			}
			go func(peer exchange.ServerInfo) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err := s.peer(ctx, peer)
				if err == nil {
					err = c.UpdateServer(ctx, in)
				}
				if err != nil {
					s.log.Warn("could not pass a server object on", "to", peer.Name, "server", in.Name, "err", err)
				}
			}(peer)
		}
	}
}

func (s *Server) peer(ctx context.Context, p exchange.ServerInfo) (*client.Client, error) {
	s.mu.Lock()
	c := s.peers[p.Name]
	s.mu.Unlock()
	if c != nil && c.Addr() == p.Address {
		return c, nil
	}
	c, err := client.Dial(ctx, p.Address, s.cfg.Key, p.Fingerprint)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if old := s.peers[p.Name]; old != nil {
		old.Close()
	}
	s.peers[p.Name] = c
	s.mu.Unlock()
	return c, nil
}

// announce records this server's address in its directory and tells the
// other servers.
func (s *Server) announce(addr string) {
	s.mu.Lock()
	s.address = addr
	s.mu.Unlock()
	me := exchange.ServerInfo{Name: s.cfg.Name, Site: s.cfg.Site, Address: addr, Fingerprint: s.fingerprint}
	if err := s.ds.commit(&op{Kind: opPutServer, DB: dirEDB, Server: &me}); err != nil {
		s.log.Warn("could not record the address", "err", err)
	}
	topo, err := s.Topology(context.Background())
	if err == nil {
		s.passOn(topo, me)
	}
}

// Recipients implements Node.
func (s *Server) Recipients(ctx context.Context) ([]exchange.Recipient, error) {
	var out []exchange.Recipient
	err := s.ds.view(dirEDB, func(tx *bolt.Tx) error {
		b := tx.Bucket(bRecipients)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var r exchange.Recipient
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}

// CreateMailbox implements Node: a recipient in the Directory and a mailbox
// with its default folders in the private store.
func (s *Server) CreateMailbox(ctx context.Context, r exchange.Recipient) error {
	if r.Alias == "" {
		return exchange.Errorf(exchange.CodeBadRequest, "a mailbox needs an alias")
	}
	if r.HomeServer == "" {
		r.HomeServer = s.cfg.Name
	}
	if r.HomeServer != s.cfg.Name {
		return exchange.Errorf(exchange.CodeBadRequest, "mailbox %s has home server %s, not %s", r.Alias, r.HomeServer, s.cfg.Name)
	}
	if r.DisplayName == "" {
		r.DisplayName = r.Alias
	}
	if !s.is.isRunning() {
		return exchange.Errorf(exchange.CodeNotRunning, "the Microsoft Information Store on %s is not running", s.cfg.Name)
	}
	if err := s.ds.commit(&op{Kind: opPutRecipient, DB: dirEDB, Recipient: &r}); err != nil {
		return err
	}
	return s.is.commit(&op{Kind: opMailbox, DB: privEDB, Recipient: &r})
}

// Deliver implements Node.
func (s *Server) Deliver(ctx context.Context, m exchange.Message) error {
	if err := normalizeMessage(&m); err != nil {
		return err
	}
	var exists bool
	check := func(tx *bolt.Tx) error {
		if mbs := tx.Bucket(bMailboxes); mbs != nil {
			exists = mbs.Bucket([]byte(m.Mailbox)) != nil
		}
		return nil
	}
	// Mailboxes are never removed: one already applied needs no wait; one
	// not found yet may have been acknowledged a moment ago.
	err := s.is.viewApplied(privEDB, check)
	if err == nil && !exists {
		err = s.is.view(privEDB, check)
	}
	if err != nil {
		return err
	}
	if !exists {
		return exchange.Errorf(exchange.CodeNotFound, "there is no mailbox %q on %s", m.Mailbox, s.cfg.Name)
	}
	if err := s.is.commit(&op{Kind: opDeliver, DB: privEDB, Message: &m}); err != nil {
		return err
	}
	s.notifyDelivered(m.Mailbox, m.Folder)
	return nil
}

// Post implements Node.
func (s *Server) Post(ctx context.Context, p exchange.Post) error {
	if err := normalizePost(&p); err != nil {
		return err
	}
	if err := s.is.commit(&op{Kind: opPost, DB: pubEDB, Post: &p}); err != nil {
		return err
	}
	s.notifyDelivered("", p.Folder) // IMAP sessions on the public folder
	return nil
}
