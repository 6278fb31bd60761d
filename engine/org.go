package engine

import (
	"context"
	"sort"
	"sync"
	"time"

	"exbackup/exchange"
)

// Organization answers the topology and each server's status. Servers that
// do not answer within a few seconds are listed as unreachable.
func (e *Engine) Organization(ctx context.Context) (Org, error) {
	if err := e.refresh(ctx); err != nil {
		return Org{}, err
	}
	st := e.Settings()
	c, err := e.client(ctx, e.entryName())
	if err != nil {
		return Org{}, err
	}
	topo, err := c.Topology(ctx)
	if err != nil {
		return Org{}, err
	}
	org := Org{Topology: topo, Status: map[string]exchange.Status{}, Unreachable: map[string]string{}, Demo: st.Demo}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, site := range topo.Sites {
		for _, srv := range site.Servers {
			wg.Add(1)
			go func(name string) {
				defer wg.Done()
				sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				var status exchange.Status
				c, err := e.client(sctx, name)
				if err == nil {
					status, err = c.Status(sctx)
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					org.Unreachable[name] = reason(err, name)
					return
				}
				org.Status[name] = status
			}(srv.Name)
		}
	}
	wg.Wait()
	return org, nil
}

func (e *Engine) entryName() string {
	st := e.Settings()
	names := make([]string, 0, len(st.Servers))
	for name, conn := range st.Servers {
		if conn.Address == st.Entry {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}
