package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
	"golang.org/x/term"

	"exbackup/internal/keys"
	"exbackup/tape"
)

const keysUsage = `exbackup keys init [--passphrase-file FILE]  create the console's key (asks twice on a terminal)
exbackup keys show                          the console's public key (age1…)
exbackup keys import-public age1…           a write-only console: encrypt for that key only
exbackup keys add-recipient age1…           also encrypt for a recovery key
exbackup keys export [FILE]                 the console's key, still under its pass phrase`

func (c *cli) keys(_ context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: exbackup keys init|show|import-public|add-recipient|export")
	}
	home := c.eng.Home()
	st := keys.Open(home)
	switch args[0] {
	case "init":
		fs := newFlags("keys init")
		passFile := fs.String("passphrase-file", "", "file whose first line is the pass phrase")
		work := fs.Int("work-factor", keys.DefaultWorkFactor, "scrypt work factor (2^N), lower on slow machines")
		if pos, err := parse(fs, args[1:]); err != nil || len(pos) > 0 {
			return errors.New("usage: exbackup keys init [--passphrase-file FILE]")
		}
		if st.Exists() {
			return fmt.Errorf("%w (%s): its tapes need it; nothing was changed", keys.ErrExists, home)
		}
		pass, err := c.newPassphrase(*passFile)
		if err != nil {
			return err
		}
		s, err := keys.InitWorkFactor(home, pass, *work)
		if err != nil {
			return err
		}
		pub, _ := s.Show()
		fmt.Fprintln(c.stdout, pub)
		fmt.Fprintln(c.stderr, "The console's key is made. Keep the pass phrase, and an export of the key (exbackup keys export FILE), apart from this machine: encrypted tapes cannot be read without them.")
		return nil
	case "show":
		if len(args) > 1 {
			return errors.New("usage: exbackup keys show")
		}
		rs, err := st.RecipientKeys()
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, rs[0])
		if st.WriteOnly() {
			fmt.Fprintln(c.stderr, "This console holds only the public key: it makes encrypted backups and cannot read them.")
		}
		for _, r := range rs[1:] {
			fmt.Fprintf(c.stderr, "also encrypted for the recovery key %s\n", r)
		}
		return nil
	case "import-public":
		if len(args) != 2 {
			return errors.New("usage: exbackup keys import-public age1…")
		}
		if _, err := keys.ImportPublic(home, args[1]); err != nil {
			if errors.Is(err, keys.ErrExists) {
				return fmt.Errorf("%w (%s): nothing was changed", err, home)
			}
			return err
		}
		fmt.Fprintln(c.stdout, "This console now encrypts its backups for that key, and cannot read them itself.")
		return nil
	case "add-recipient":
		if len(args) != 2 {
			return errors.New("usage: exbackup keys add-recipient age1…")
		}
		if err := st.AddRecipient(args[1]); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, "Backups from now on are also encrypted for that key; tapes made before are not.")
		return nil
	case "export":
		if len(args) > 2 {
			return errors.New("usage: exbackup keys export [FILE]")
		}
		var buf bytes.Buffer
		if err := st.Export(&buf); err != nil {
			return err
		}
		if len(args) == 1 {
			_, err := c.stdout.Write(buf.Bytes())
			return err
		}
		f, err := os.OpenFile(args[1], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("exporting the key: %w", err)
		}
		if _, err := f.Write(buf.Bytes()); err != nil {
			f.Close()
			return fmt.Errorf("exporting the key to %s: %w", args[1], err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("exporting the key to %s: %w", args[1], err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("exporting the key to %s: %w", args[1], err)
		}
		fmt.Fprintf(c.stderr, "The key is in %s, still under its pass phrase: restore --identity %s reads tapes with it on any console.\n", args[1], args[1])
		return nil
	}
	return fmt.Errorf("unknown keys command %q (init, show, import-public, add-recipient, export)", args[0])
}

// terminal returns the terminal stdin is, if it is one.
func (c *cli) terminal() (int, bool) {
	f, ok := c.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

func (c *cli) ask(fd int, prompt string) (string, error) {
	fmt.Fprint(c.stderr, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(c.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the pass phrase: %w", err)
	}
	return string(b), nil
}

// newPassphrase is a new key's pass phrase: from the file, or asked twice.
func (c *cli) newPassphrase(file string) (string, error) {
	if file != "" {
		return readPassphraseFile(file)
	}
	fd, ok := c.terminal()
	if !ok {
		return "", errors.New("no terminal to ask the pass phrase on: give --passphrase-file FILE")
	}
	p1, err := c.ask(fd, "New pass phrase for the console's key: ")
	if err != nil {
		return "", err
	}
	p2, err := c.ask(fd, "The same pass phrase again: ")
	if err != nil {
		return "", err
	}
	if p1 != p2 {
		return "", errors.New("the two pass phrases differ: nothing was changed")
	}
	return p1, nil
}

func readPassphraseFile(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading the pass phrase: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimRight(line, "\r"), nil
}

// keyFlags are the flags of the commands that read encrypted sets.
type keyFlags struct {
	passFile string
	identity string
}

func addKeyFlags(fs *flag.FlagSet) *keyFlags {
	k := &keyFlags{}
	fs.StringVar(&k.passFile, "passphrase-file", "", "file whose first line is the pass phrase of the key")
	fs.StringVar(&k.identity, "identity", "", "an exported key, or a file of an AGE-SECRET-KEY-1… recovery key")
	return k
}

// provider hands encrypted sets the console's key, unlocked with the pass
// phrase (from the file, or asked on the terminal when a set needs it), or
// the key of --identity in its stead.
func (c *cli) provider(k *keyFlags) (tape.KeyProvider, error) {
	pass := func() (string, error) {
		if k.passFile != "" {
			return readPassphraseFile(k.passFile)
		}
		fd, ok := c.terminal()
		if !ok {
			return "", fmt.Errorf("%w: give --passphrase-file FILE or --identity FILE, or run it on a terminal to be asked", keys.ErrLocked)
		}
		return c.ask(fd, "Pass phrase for the console's key: ")
	}
	if k.identity == "" {
		return &keys.Provider{Store: keys.Open(c.eng.Home()), Passphrase: pass}, nil
	}
	data, err := os.ReadFile(k.identity)
	if err != nil {
		return nil, fmt.Errorf("--identity: %w", err)
	}
	p := ""
	if !bytes.Contains(data, []byte("AGE-SECRET-KEY-1")) {
		if p, err = pass(); err != nil {
			return nil, err
		}
	}
	id, err := keys.UnlockFile(bytes.NewReader(data), p)
	if err != nil {
		return nil, fmt.Errorf("--identity %s: %w", k.identity, err)
	}
	return &keys.Provider{Extra: []age.Identity{id}}, nil
}
