// Command exserver runs an Exchange-style server of an organization and
// offers its admin commands: init, run, mailbox, load, digest.
package main

import (
	"fmt"
	"os"
)

const usage = `usage:
  exserver init    --data DIR --org ORG --site SITE --name NAME [--domain DOMAIN] [--key KEY] [--join HOST:PORT [--join-fingerprint sha256:…]] [--circular-logging]
  exserver run     --data DIR [--listen HOST:PORT] [--smtp HOST:PORT|off] [--imap HOST:PORT|off]
  exserver mailbox (--data DIR | --addr A --key K --fingerprint F) [--alias ALIAS [--name "Display Name"] [--password PW]]
  exserver load    (--data DIR | --addr A --key K --fingerprint F) --mailboxes N --messages M [--size BYTES] [--public P] [--senders S] [--via smtp|api]
  exserver digest (--data DIR | --addr A --key K --fingerprint F)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "init":
		err = cmdInit(os.Args[2:])
	case "run":
		err = cmdRun(os.Args[2:])
	case "load":
		err = cmdLoad(os.Args[2:])
	case "mailbox":
		err = cmdMailbox(os.Args[2:])
	case "digest":
		err = cmdDigest(os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		err = fmt.Errorf("unknown command %q\n%s", os.Args[1], usage)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "exserver %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
