package wire

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"exbackup/exchange"
)

// Lengths of the text a request may carry.
const (
	MaxName = 255  // a name: file, session, server, site, alias
	MaxText = 1024 // a line of text: subject, display name, signature
)

// CheckName accepts a file or session name taken from a path: one plain
// component, never a way out of the folder it names a file in.
func CheckName(what, s string) error {
	switch {
	case s == "":
		return exchange.Errorf(exchange.CodeBadRequest, "%s is empty", what)
	case len(s) > MaxName:
		return exchange.Errorf(exchange.CodeBadRequest, "%s is longer than %d bytes", what, MaxName)
	case s == "." || s == "..":
		return exchange.Errorf(exchange.CodeBadRequest, "%s %q is not a file name", what, s)
	case strings.ContainsAny(s, `/\:`):
		return exchange.Errorf(exchange.CodeBadRequest, "%s %q contains a path separator", what, s)
	}
	return CheckText(what, s, true, MaxName)
}

// CheckText accepts a one-line text field: valid UTF-8, no control
// characters, not too long.
func CheckText(what, s string, required bool, max int) error {
	if s == "" {
		if required {
			return exchange.Errorf(exchange.CodeBadRequest, "%s is required", what)
		}
		return nil
	}
	if len(s) > max {
		return exchange.Errorf(exchange.CodeBadRequest, "%s is longer than %d bytes", what, max)
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == '\uFFFD' {
			return exchange.Errorf(exchange.CodeBadRequest, "%s %q contains a control or invalid character", what, s)
		}
	}
	return nil
}

// CheckAddr accepts host:port with a port number.
func CheckAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q is not host:port", addr)
	}
	if host == "" {
		return fmt.Errorf("address %q has no host", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("address %q has no valid port", addr)
	}
	return CheckText("address", addr, true, MaxName)
}
