package engine

import (
	"context"
	"fmt"
	"strings"

	"exbackup/exchange"
)

// Service control, as the console's Operations > Start Service and Stop
// Service, and exbackup service, give it.

// StartService starts a store's service on a server of the organization.
// A store whose restore is staged first runs the chain's recovery; the
// result says what it did (replayed through which LSN, rolled forward or
// not), and its Warnings what the administrator must act on.
func (e *Engine) StartService(ctx context.Context, server string, id exchange.StoreID) (exchange.RestoreResult, error) {
	c, err := e.client(ctx, server)
	if err != nil {
		return exchange.RestoreResult{}, err
	}
	if id == exchange.StoreIS {
		// The Information Store needs its Directory.
		if st, err := c.Status(ctx); err == nil && st.DS != exchange.Running {
			if res, err := c.StartService(ctx, exchange.StoreDS); err != nil {
				return res, err
			}
		}
	}
	return c.StartService(ctx, id)
}

// StopService stops a store's service. The server refuses while a backup
// of the store streams, naming it; stopping the Directory stops the
// Information Store with it.
func (e *Engine) StopService(ctx context.Context, server string, id exchange.StoreID) error {
	c, err := e.client(ctx, server)
	if err != nil {
		return err
	}
	return c.StopService(ctx, id)
}

// CancelRestore drops the staged restore of a store (and a set being
// received): the service then starts on the data it had before.
func (e *Engine) CancelRestore(ctx context.Context, server string, id exchange.StoreID) (exchange.RestoreResult, error) {
	c, err := e.client(ctx, server)
	if err != nil {
		return exchange.RestoreResult{}, err
	}
	return c.CancelRestore(ctx, id)
}

// StagedText says in a line what a store's staged restore holds, for the
// organization tree and exbackup org.
func StagedText(r exchange.StagedRestore) string {
	var b strings.Builder
	b.WriteString(r.Store.ServiceName())
	switch n := len(r.Sets); n {
	case 0:
		b.WriteString(": a set is being restored")
	case 1:
		b.WriteString(": 1 set staged (")
	default:
		fmt.Fprintf(&b, ": %d sets staged (", n)
	}
	for i, s := range r.Sets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s of %s", TypeTitle(s.Type), s.Created.Local().Format("1/2/2006 3:04 PM"))
	}
	if len(r.Sets) > 0 {
		b.WriteString(")")
		if r.Receiving {
			b.WriteString(", another being restored")
		}
		b.WriteString("; recovery runs when the service starts")
	}
	if r.Error != "" {
		b.WriteString("; the last start could not recover it: " + r.Error)
	}
	return b.String()
}
