package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"exbackup/engine"
	"exbackup/exchange"
)

const serviceUsage = `exbackup service start|stop DS|IS \\NAME    start runs a staged restore's recovery
                 [--wait]                   stop: wait for a backup of the store to end first`

// service starts or stops a server's Directory or Information Store.
// Starting a store whose restore is staged runs the chain's recovery and
// says what it did; stopping a store whose backup streams is refused, or
// with --wait done when the backup has ended.
func (c *cli) service(ctx context.Context, args []string) error {
	fs := newFlags("service")
	wait := fs.Bool("wait", false, "stop: wait for a backup of the store to end")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 || (pos[0] != "start" && pos[0] != "stop") {
		return errors.New("usage: " + serviceUsage)
	}
	store, server, err := storeArg(pos[1], pos[2])
	if err != nil {
		return err
	}
	d, err := ensureOrg(ctx, c.eng, false)
	if err != nil {
		return err
	}
	defer d.stop()
	if pos[0] == "stop" {
		if err := c.stopService(ctx, server, store, *wait); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "The %s on %s is stopped.\n", store.ServiceName(), server)
		return nil
	}
	if *wait {
		return errors.New("--wait is for stop: a start does not wait for a backup")
	}
	res, err := c.eng.StartService(ctx, server, store)
	for _, m := range res.Messages {
		fmt.Fprintln(c.stdout, m)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "The %s on %s is running.\n", store.ServiceName(), server)
	return warned(res.Warnings)
}

// stopService stops a service; a stop refused for a streaming backup
// waits for the backup to end when asked to, saying so in one line, and
// otherwise names --wait.
func (c *cli) stopService(ctx context.Context, server string, store exchange.StoreID, wait bool) error {
	err := c.eng.StopService(ctx, server, store)
	var busy *engine.BackupStreamingError
	if !errors.As(err, &busy) {
		return err
	}
	if !wait {
		return withWaitHint(err)
	}
	fmt.Fprintln(c.stdout, busy.Waiting())
	return c.eng.StopServiceAfterBackup(ctx, server, store)
}

// withWaitHint adds to a refusal for a streaming backup how to wait for it.
func withWaitHint(err error) error {
	return fmt.Errorf("%w, or run again with --wait to wait for it", err)
}

// storeArg reads "DS|IS" and "\\NAME", as the backup command takes them.
func storeArg(kind, name string) (exchange.StoreID, string, error) {
	var store exchange.StoreID
	switch strings.ToUpper(kind) {
	case "DS":
		store = exchange.StoreDS
	case "IS":
		store = exchange.StoreIS
	default:
		return "", "", fmt.Errorf("%q is not a store: give DS or IS", kind)
	}
	server := strings.TrimPrefix(name, `\\`)
	if server == "" || strings.ContainsAny(server, `\/`) {
		return "", "", fmt.Errorf("%q is not a server: give \\\\NAME", name)
	}
	return store, server, nil
}

// exitWarning is the exit status of a command that did its work but left
// something the administrator must act on: a restore whose roll-forward
// could not happen.
const exitWarning = 3

// warnedError carries such warnings to Main, which prints each and exits
// with exitWarning.
type warnedError struct{ warnings []string }

func (w *warnedError) Error() string { return strings.Join(w.warnings, " ") }

func warned(ws []string) error {
	if len(ws) == 0 {
		return nil
	}
	return &warnedError{ws}
}
