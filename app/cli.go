package app

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"exbackup/engine"
	"exbackup/exchange"
)

const usage = `usage:
  exbackup                                    the console (GUI)
  exbackup connect HOST:PORT --key KEY [--fingerprint sha256:…]
  exbackup org                                the organization tree with service states
  exbackup backup DS \\NAME IS \\NAME [/t normal|copy|incremental|differential] [/a] [/v] [/r]
                  [/d "text"] [/l FILE] [/e] [/hc:on|off] [/tape:NAME]
  exbackup tapes                              tapes and their sets
  exbackup restore --tape NAME --set N[,N…] [--dest NAME] [--erase] [--private] [--public] [--start] [--verify]
  exbackup verify  --tape NAME [--set N]
  exbackup catalog --tape NAME|FILE.bkf
  exbackup erase   --tape NAME
  exbackup --version
`

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
	switch args[0] {
	case "connect":
		return c.connect(ctx, args[1:])
	case "org":
		return c.org(ctx, args[1:])
	case "backup":
		return c.backup(ctx, args[1:])
	case "tapes":
		return c.tapes(args[1:])
	case "restore":
		return c.restore(ctx, args[1:])
	case "verify":
		return c.verify(ctx, args[1:])
	case "catalog":
		return c.catalog(ctx, args[1:])
	case "erase":
		return c.erase(ctx, args[1:])
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

func (c *cli) connect(ctx context.Context, args []string) error {
	fs := newFlags("connect")
	key := fs.String("key", "", "the organization's access key")
	fp := fs.String("fingerprint", "", "the server's certificate fingerprint")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *key == "" {
		return errors.New("usage: exbackup connect HOST:PORT --key KEY [--fingerprint sha256:…]")
	}
	addr := pos[0]
	if *fp == "" {
		got, err := c.eng.FetchFingerprint(ctx, addr)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s presents certificate %s\nTrust it? [y/N] ", addr, got)
		line, _ := bufio.NewReader(c.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return errors.New("certificate not trusted: nothing changed (give --fingerprint to pin it without asking)")
		}
		*fp = got
	}
	if err := c.eng.Connect(ctx, addr, *key, *fp); err != nil {
		return err
	}
	st := c.eng.Settings()
	fmt.Fprintf(c.stdout, "connected to organization %s through %s (%d servers)\n", st.Organization, addr, len(st.Servers))
	return nil
}

func (c *cli) org(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return errors.New("org takes no arguments")
	}
	d, err := ensureOrg(ctx, c.eng, false)
	if err != nil {
		return err
	}
	defer d.stop()
	org, err := c.eng.Organization(ctx)
	if err != nil {
		return err
	}
	title := org.Topology.Organization
	if org.Demo {
		title += "  (demo organization)"
	}
	fmt.Fprintln(c.stdout, title)
	for _, site := range org.Topology.Sites {
		fmt.Fprintf(c.stdout, "  %s\n", site.Name)
		servers := append([]exchange.ServerInfo(nil), site.Servers...)
		sort.Slice(servers, func(i, j int) bool { return servers[i].Name < servers[j].Name })
		for _, srv := range servers {
			st, ok := org.Status[srv.Name]
			if !ok {
				fmt.Fprintf(c.stdout, "    %-10s unreachable: %s\n", srv.Name, org.Unreachable[srv.Name])
				continue
			}
			fmt.Fprintf(c.stdout, "    %-10s Directory %s, Information Store %s\n", srv.Name, st.DS, st.IS)
		}
	}
	return nil
}

// backupArgs parses ntbackup's syntax: stores as "DS \\NAME IS \\NAME",
// switches /t TYPE (or /t:TYPE), /a, /v, /r, /d "text", /l FILE, /e,
// /hc:on|off, /tape:NAME.
func backupArgs(args []string) (engine.BackupRequest, error) {
	var req engine.BackupRequest
	req.Type = exchange.Normal
	value := func(i *int, sw string) (string, error) {
		if *i+1 >= len(args) {
			return "", fmt.Errorf("%s needs a value", sw)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		low := strings.ToLower(a)
		switch {
		case strings.EqualFold(a, "DS") || strings.EqualFold(a, "IS"):
			if i+1 >= len(args) {
				return req, fmt.Errorf("%s needs a server: %s \\\\NAME", a, strings.ToUpper(a))
			}
			i++
			name := strings.TrimLeft(args[i], `\/`)
			if name == "" || strings.HasPrefix(name, "/") {
				return req, fmt.Errorf("%s needs a server: %s \\\\NAME", a, strings.ToUpper(a))
			}
			req.Stores = append(req.Stores, engine.StoreRef{Server: name, Store: exchange.StoreID(strings.ToUpper(a))})
		case low == "/t" || strings.HasPrefix(low, "/t:"):
			v, found := strings.CutPrefix(low, "/t:")
			if !found {
				s, err := value(&i, "/t")
				if err != nil {
					return req, err
				}
				v = strings.ToLower(s)
			}
			req.Type = exchange.BackupType(v)
			if !req.Type.Valid() {
				return req, fmt.Errorf("/t %s: the backup type is normal, copy, incremental or differential", v)
			}
		case low == "/a":
			req.Append = true
		case low == "/v":
			req.Verify = true
		case low == "/r":
			req.Restrict = true
		case low == "/e":
			req.Log.ExceptionsOnly = true
		case low == "/d":
			s, err := value(&i, "/d")
			if err != nil {
				return req, err
			}
			req.Description = s
		case strings.HasPrefix(low, "/d:"):
			req.Description = a[3:]
		case low == "/l" || strings.HasPrefix(low, "/l:"):
			v := ""
			if low == "/l" {
				s, err := value(&i, "/l")
				if err != nil {
					return req, err
				}
				v = s
			} else {
				v = a[3:]
			}
			req.Log.Path = v
		case low == "/hc:on":
			req.HardwareCompression = true
		case low == "/hc:off":
			req.HardwareCompression = false
		case strings.HasPrefix(low, "/tape:"):
			req.TapeName = a[len("/tape:"):]
			if req.TapeName == "" {
				return req, errors.New("/tape: needs a tape name")
			}
		default:
			return req, fmt.Errorf("unknown argument %q", a)
		}
	}
	if len(req.Stores) == 0 {
		return req, errors.New(`name what to back up: DS \\NAME and/or IS \\NAME`)
	}
	return req, nil
}

func (c *cli) backup(ctx context.Context, args []string) error {
	req, err := backupArgs(args)
	if err != nil {
		return err
	}
	d, err := ensureOrg(ctx, c.eng, false)
	if err != nil {
		return err
	}
	defer d.stop()
	p := engine.NewProgress("Backup")
	stopBar := c.progressLine(p)
	res, err := c.eng.Backup(ctx, req, p)
	stopBar()
	if err != nil {
		return err
	}
	sets := make([]string, len(res.Sets))
	for i, n := range res.Sets {
		sets[i] = strconv.Itoa(n)
	}
	fmt.Fprintf(c.stdout, "backed up %d files, %s bytes in %.1f s onto tape %q, sets %s%s\n",
		res.Files, engine.Thousands(res.Bytes), res.Elapsed.Seconds(), res.Tape, strings.Join(sets, ", "), map[bool]string{true: " (verified)"}[res.Verified])
	return nil
}

func (c *cli) tapes(args []string) error {
	if len(args) > 0 {
		return errors.New("tapes takes no arguments")
	}
	tapes, err := c.eng.Tapes()
	if err != nil {
		return err
	}
	if len(tapes) == 0 {
		fmt.Fprintln(c.stdout, "no tapes in the catalog")
		return nil
	}
	for _, t := range tapes {
		sets, err := c.eng.Sets(t.ID)
		if err != nil {
			return err
		}
		state := "present"
		if !c.eng.TapePresent(t) {
			state = "missing"
		}
		fmt.Fprintf(c.stdout, "%q  family %08X  %d sets  created %s  %s  %s\n", t.Name, t.FamilyID, len(sets),
			t.Created.Local().Format("1/2/2006 3:04 PM"), t.Location, state)
		for _, s := range sets {
			what := strings.Join(s.Stores, ",")
			if s.Server != "" && !s.Foreign {
				what += ` \\` + s.Server
			}
			line := fmt.Sprintf("  set %-3d %-12s %s  %-16s %s", s.Number, orDash(s.Type), s.Created.Local().Format("1/2/2006 3:04 PM"), what, s.State)
			if s.Description != "" {
				line += fmt.Sprintf("  %q", s.Description)
			}
			if s.Owner != "" {
				line += "  " + s.Owner
			}
			if !s.Verified.IsZero() {
				line += "  verified"
			}
			fmt.Fprintln(c.stdout, line)
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *cli) restore(ctx context.Context, args []string) error {
	fs := newFlags("restore")
	tapeName := fs.String("tape", "", "tape name")
	setList := fs.String("set", "", "set number, or numbers of a chain: 1,2,3")
	dest := fs.String("dest", "", "destination server (Information Store only)")
	erase := fs.Bool("erase", false, "Erase all existing data")
	private := fs.Bool("private", false, "restore the private information store")
	public := fs.Bool("public", false, "restore the public information store")
	start := fs.Bool("start", false, "Start Service After Restore")
	verify := fs.Bool("verify", false, "Verify After Restore")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *tapeName == "" || *setList == "" {
		return errors.New("usage: exbackup restore --tape NAME --set N[,N…] [--dest NAME] [--erase] [--private] [--public] [--start] [--verify]")
	}
	if !*private && !*public {
		*private, *public = true, true // as the dialog's defaults
	}
	var req engine.RestoreRequest
	for _, f := range strings.Split(*setList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("--set %q: give set numbers such as 1 or 1,2,3", *setList)
		}
		req.Sets = append(req.Sets, engine.RestoreSet{Tape: *tapeName, Set: n, Destination: *dest, Erase: *erase,
			Private: *private, Public: *public, Start: *start, Verify: *verify})
	}
	d, err := ensureOrg(ctx, c.eng, false)
	if err != nil {
		return err
	}
	defer d.stop()
	warnings, err := c.eng.CheckRestore(req)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(c.stderr, "warning: %s\n", w)
	}
	p := engine.NewProgress("Restore")
	stopBar := c.progressLine(p)
	res, err := c.eng.Restore(ctx, req, p)
	stopBar()
	for _, m := range res.Messages {
		fmt.Fprintln(c.stdout, m)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "restored %d sets, %d files, %s bytes in %.1f s\n", res.Sets, res.Files, engine.Thousands(res.Bytes), res.Elapsed.Seconds())
	return nil
}

func (c *cli) verify(ctx context.Context, args []string) error {
	fs := newFlags("verify")
	tapeName := fs.String("tape", "", "tape name")
	set := fs.Int("set", 0, "set number (all sets when omitted)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *tapeName == "" {
		return errors.New("usage: exbackup verify --tape NAME [--set N]")
	}
	p := engine.NewProgress("Verify")
	stopBar := c.progressLine(p)
	res, err := c.eng.Verify(ctx, engine.VerifyRequest{Tape: *tapeName, Set: *set}, p)
	stopBar()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "verified %d sets, %d files, %s bytes: no differences\n", res.Sets, res.Files, engine.Thousands(res.Bytes))
	return nil
}

func (c *cli) catalog(ctx context.Context, args []string) error {
	fs := newFlags("catalog")
	tapeName := fs.String("tape", "", "tape name or .bkf file")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *tapeName == "" {
		return errors.New("usage: exbackup catalog --tape NAME|FILE.bkf")
	}
	p := engine.NewProgress("Catalog")
	if err := c.eng.CatalogTape(ctx, *tapeName, p); err != nil {
		return err
	}
	for _, l := range p.Lines() {
		fmt.Fprintln(c.stdout, l)
	}
	return nil
}

func (c *cli) erase(ctx context.Context, args []string) error {
	fs := newFlags("erase")
	tapeName := fs.String("tape", "", "tape name")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *tapeName == "" {
		return errors.New("usage: exbackup erase --tape NAME")
	}
	if err := c.eng.Erase(ctx, *tapeName); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "erased tape %q\n", *tapeName)
	return nil
}

// progressLine prints a progress line on a terminal, a few times a second;
// nothing when the output is piped.
func (c *cli) progressLine(p *engine.Progress) func() {
	f, ok := c.stderr.(*os.File)
	if !ok {
		return func() {}
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(f, "\r\033[K")
				return
			case <-t.C:
				s := p.Snapshot()
				pct := ""
				if fr := s.Fraction(); fr >= 0 {
					pct = fmt.Sprintf("%3.0f%% ", fr*100)
				}
				fmt.Fprintf(f, "\r\033[K%s%s  %s  %d files  %s  %.1f MB/s", pct, s.Set, s.Current, s.Files, engine.Thousands(s.Bytes), s.Rate()/1e6)
			}
		}
	}()
	return func() { close(done); <-finished }
}
