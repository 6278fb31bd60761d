package client

import (
	"net"
	"strconv"
	"strings"

	"exbackup/exchange"
	"exbackup/exchange/wire"
)

// DefaultPort is the port a server address without one means: the port
// exserver is shown listening on.
const DefaultPort = 7401

// Address checks a server address as an administrator types it and
// returns it as host:port: a name or an IP address alone ("EXCH01",
// "10.0.0.5", "[::1]", "::1") means DefaultPort, and an "https://" prefix
// as exserver prints it is accepted.
func Address(addr string) (string, error) {
	a := strings.TrimSpace(addr)
	if rest, ok := strings.CutPrefix(a, "https://"); ok {
		a = strings.TrimSuffix(rest, "/")
	}
	a = withDefaultPort(a)
	if err := wire.CheckAddr(a); err != nil {
		return "", exchange.Errorf(exchange.CodeBadRequest, "server address %q: %v", addr, err)
	}
	return a, nil
}

func withDefaultPort(a string) string {
	if _, _, err := net.SplitHostPort(a); err == nil || a == "" {
		return a
	}
	port := strconv.Itoa(DefaultPort)
	switch {
	case strings.HasPrefix(a, "[") && strings.HasSuffix(a, "]"):
		return a + ":" + port
	case strings.Count(a, ":") >= 2 && net.ParseIP(a) != nil:
		return net.JoinHostPort(a, port)
	case !strings.ContainsAny(a, ":[]/"):
		return net.JoinHostPort(a, port)
	}
	return a
}

func clientAddr(addr string) (string, error) { return Address(addr) }
