package client

import (
	"context"
	"net"
)

// RawDialer opens the TCP connection under a file stream's TLS.
type RawDialer = func(ctx context.Context, network, addr string) (net.Conn, error)

// WrapRawDial lets a test see the connections file streams travel over.
func (c *Client) WrapRawDial(wrap func(RawDialer) RawDialer) { c.dialRaw = wrap(c.dialRaw) }
