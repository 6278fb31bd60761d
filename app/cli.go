package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"exbackup/engine"
)

// command is one command of the command line, in a cmd_NAME.go of its
// own. A new command is that file and one line of commands.
type command struct {
	name string
	// help is its lines in exbackup --help, without the indent.
	help string
	run  func(c *cli, ctx context.Context, args []string) error
}

// commands in the order exbackup --help lists them.
var commands = []command{
	{"connect", connectUsage, (*cli).connect},
	{"org", orgUsage, (*cli).org},
	{"backup", backupUsage, (*cli).backup},
	{"tapes", tapesUsage, (*cli).tapes},
	{"browse", browseUsage, (*cli).browse},
	{"restore", restoreUsage, (*cli).restore},
	{"service", serviceUsage, (*cli).service},
	{"verify", verifyUsage, (*cli).verify},
	{"catalog", catalogUsage, (*cli).catalog},
	{"erase", eraseUsage, (*cli).erase},
	{"keys", keysUsage, (*cli).keys},
}

// usage is what exbackup --help prints.
func usage() string {
	var b strings.Builder
	b.WriteString("usage:\n  exbackup                                    the console (GUI)\n")
	for _, cmd := range commands {
		for _, l := range strings.Split(cmd.help, "\n") {
			b.WriteString("  " + l + "\n")
		}
	}
	b.WriteString("  exbackup --version\n")
	return b.String()
}

type cli struct {
	eng    *engine.Engine
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func (c *cli) run(ctx context.Context, args []string) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, cmd := range commands {
		if cmd.name == args[0] {
			return cmd.run(c, ctx, args[1:])
		}
	}
	return fmt.Errorf("unknown command %q (exbackup --help lists them)", args[0])
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
