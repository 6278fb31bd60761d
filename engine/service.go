package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
// of the store streams, and the error is then a *BackupStreamingError
// naming it; stopping the Directory stops the Information Store with it.
func (e *Engine) StopService(ctx context.Context, server string, id exchange.StoreID) error {
	c, err := e.client(ctx, server)
	if err != nil {
		return err
	}
	return e.stopService(ctx, c, server, id)
}

// StopServiceAfterBackup stops a store's service once no backup of it
// streams: while the server refuses for a backup, it polls the server's
// status until the backup has ended, then asks again. It gives up when
// ctx ends or the server stops answering.
func (e *Engine) StopServiceAfterBackup(ctx context.Context, server string, id exchange.StoreID) error {
	c, err := e.client(ctx, server)
	if err != nil {
		return err
	}
	return e.stopAfterBackup(ctx, c, server, id)
}

// BackupStreamingError is a stop the server refused because a backup is
// streaming: of the store itself or, when the Directory is to stop, of
// the Information Store that stops with it.
type BackupStreamingError struct {
	Server string
	Backup exchange.BackupInProgress // the backup in the way
	Err    error                     // the server's refusal
}

func (e *BackupStreamingError) Error() string { return e.Err.Error() }
func (e *BackupStreamingError) Unwrap() error { return e.Err }

// Waiting is what the console says while it waits for the backup.
func (e *BackupStreamingError) Waiting() string {
	return fmt.Sprintf("Waiting for the backup of the %s on %s to finish…", e.Backup.Store.Title(), e.Server)
}

// How the console waits for a backup to end: the server's status is read
// every backupPoll (a backup ends within a poll of when it does, and a
// status costs the server a map lookup); a server that fails
// serverGoneAfter reads in a row has gone away.
const (
	backupPoll      = 500 * time.Millisecond
	serverGoneAfter = 3
	statusTimeout   = 15 * time.Second
)

// streamingBackup returns the backup that keeps the store's service from
// stopping, if one streams.
func streamingBackup(st exchange.Status, id exchange.StoreID) (exchange.BackupInProgress, bool) {
	for _, b := range st.Backups {
		if b.Store == id || id == exchange.StoreDS {
			return b, true
		}
	}
	return exchange.BackupInProgress{}, false
}

// stopService asks the server once to stop a service; a refusal for a
// streaming backup becomes a *BackupStreamingError. The server reads its
// backup sessions under a lock its status does not wait for, so a
// refusal whose backup the status does not show is asked again, a poll
// later, before it is given up.
func (e *Engine) stopService(ctx context.Context, c Server, server string, id exchange.StoreID) error {
	var err error
	for try := 0; try < 3; try++ {
		if try > 0 {
			if werr := sleepCtx(ctx, e.backupPoll); werr != nil {
				return err
			}
		}
		err = c.StopService(ctx, id)
		if err == nil || !errors.Is(err, exchange.ErrConflict) {
			return err
		}
		st, serr := c.Status(ctx)
		if serr != nil {
			return err
		}
		if b, ok := streamingBackup(st, id); ok {
			return &BackupStreamingError{Server: server, Backup: b, Err: err}
		}
	}
	return err
}

// stopAfterBackup stops a service, waiting out each backup that refuses
// it (another may begin while the first ends).
func (e *Engine) stopAfterBackup(ctx context.Context, c Server, server string, id exchange.StoreID) error {
	for {
		err := e.stopService(ctx, c, server, id)
		var busy *BackupStreamingError
		if !errors.As(err, &busy) {
			return err
		}
		if err := e.awaitBackupEnd(ctx, c, busy, id); err != nil {
			return err
		}
	}
}

// awaitBackupEnd polls the server's status until no backup keeps the
// service from stopping.
func (e *Engine) awaitBackupEnd(ctx context.Context, c Server, busy *BackupStreamingError, id exchange.StoreID) error {
	what := fmt.Sprintf("the backup of the %s on %s", busy.Backup.Store.Title(), busy.Server)
	fails := 0
	for {
		if err := sleepCtx(ctx, e.backupPoll); err != nil {
			return fmt.Errorf("stopped waiting for %s to finish: %w", what, err)
		}
		sctx, cancel := context.WithTimeout(ctx, statusTimeout)
		st, err := c.Status(sctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				continue // said at the top
			}
			if fails++; fails >= serverGoneAfter {
				return fmt.Errorf("server %s stopped answering while the console waited for %s to finish: %w", busy.Server, what, err)
			}
			continue
		}
		fails = 0
		if _, ok := streamingBackup(st, id); !ok {
			return nil
		}
	}
}

// sleepCtx sleeps for d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
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
