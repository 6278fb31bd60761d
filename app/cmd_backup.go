package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"exbackup/engine"
	"exbackup/exchange"
)

const backupUsage = `exbackup backup DS \\NAME IS \\NAME [/t normal|copy|incremental|differential] [/a] [/v] [/r]
                [/d "text"] [/l FILE] [/e] [/hc:on|off] [/tape:NAME] [/encrypt]`

// backupArgs parses ntbackup's syntax: stores as "DS \\NAME IS \\NAME",
// switches /t TYPE (or /t:TYPE), /a, /v, /r, /d "text", /l FILE, /e,
// /hc:on|off, /tape:NAME, /encrypt.
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
			t, err := engine.ParseBackupType(v)
			if err != nil {
				return req, fmt.Errorf("/t %s: the backup type is normal, copy, incremental or differential", v)
			}
			req.Type = t
		case low == "/a":
			req.Append = true
		case low == "/v":
			req.Verify = true
		case low == "/r":
			req.Restrict = true
		case low == "/e":
			req.Log.ExceptionsOnly = true
		case low == "/encrypt":
			req.Encrypt = true
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
	if why := c.eng.EncryptUnavailable(); req.Encrypt && why != "" {
		return errors.New("/encrypt: " + why + ": run exbackup keys init, or exbackup keys import-public age1… on a write-only console")
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
	word := "sets"
	if len(sets) == 1 {
		word = "set"
	}
	fmt.Fprintf(c.stdout, "backed up %s, %s bytes in %s seconds onto tape %q, %s %s%s%s\n",
		engine.Plural(res.Files, "file", "files"), engine.Thousands(res.Bytes), engine.Seconds(res.Elapsed), res.Tape, word, strings.Join(sets, ", "),
		map[bool]string{true: " (verified)"}[res.Verified], map[bool]string{true: " (encrypted)"}[res.Encrypted])
	return nil
}
