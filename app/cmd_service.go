package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"exbackup/exchange"
)

const serviceUsage = `exbackup service start|stop DS|IS \\NAME    start runs a staged restore's recovery`

// service starts or stops a server's Directory or Information Store.
// Starting a store whose restore is staged runs the chain's recovery and
// says what it did; stopping a store whose backup streams is refused.
func (c *cli) service(ctx context.Context, args []string) error {
	if len(args) != 3 || (args[0] != "start" && args[0] != "stop") {
		return errors.New("usage: " + serviceUsage)
	}
	store, server, err := storeArg(args[1], args[2])
	if err != nil {
		return err
	}
	d, err := ensureOrg(ctx, c.eng, false)
	if err != nil {
		return err
	}
	defer d.stop()
	if args[0] == "stop" {
		if err := c.eng.StopService(ctx, server, store); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "The %s on %s is stopped.\n", store.ServiceName(), server)
		return nil
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
