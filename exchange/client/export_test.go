package client

import (
	"context"
	"net"
	"net/http"
)

// RawDialer opens the TCP connection under a file stream's TLS.
type RawDialer = func(ctx context.Context, network, addr string) (net.Conn, error)

// WrapRawDial lets a test see the connections file streams travel over.
func (c *Client) WrapRawDial(wrap func(RawDialer) RawDialer) { c.dialRaw = wrap(c.dialRaw) }

// WrapTransports lets a test stand between the client and its HTTP
// transports, calls' and file streams' alike.
func (c *Client) WrapTransports(wrap func(http.RoundTripper) http.RoundTripper) {
	c.hc.Transport = wrap(c.hc.Transport)
	c.shc.Transport = wrap(c.shc.Transport)
}
