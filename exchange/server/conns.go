package server

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"exbackup/exchange/wire"
)

// connLimiter is a listener that bounds connections: all of them, and
// those that have not yet made an authenticated request, in all and per
// client address. A connection over a bound is closed as soon as it is
// accepted, before any TLS work; one that has not authenticated within
// AuthWithin is closed however far it got (handshake, headers, a body
// trickling in), so a client without the key holds a descriptor for
// seconds at most.
type connLimiter struct {
	net.Listener
	lim     Limits
	refused *refusalLog

	mu      sync.Mutex
	open    int
	pending int
	perAddr map[netip.Addr]int
}

func newConnLimiter(ln net.Listener, lim Limits, refused *refusalLog) *connLimiter {
	return &connLimiter{Listener: ln, lim: lim, refused: refused, perAddr: map[netip.Addr]int{}}
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := clientKey(c.RemoteAddr().String())
		why := ""
		l.mu.Lock()
		switch {
		case l.open >= l.lim.MaxConns:
			why = "too many connections"
		case l.pending >= l.lim.PendingTotal:
			why = "too many connections not yet authenticated"
		case l.perAddr[addr] >= l.lim.PendingPerAddr:
			why = "too many connections not yet authenticated from this address"
		default:
			l.open++
			l.pending++
			l.perAddr[addr]++
		}
		l.mu.Unlock()
		if why != "" {
			c.Close()
			l.refused.note(addr, why)
			continue
		}
		tc := &trackedConn{Conn: c, l: l, addr: addr}
		tc.timer = time.AfterFunc(l.lim.AuthWithin, tc.expire)
		return tc, nil
	}
}

// trackedConn is a connection the limiter counts.
type trackedConn struct {
	net.Conn
	l     *connLimiter
	addr  netip.Addr
	timer *time.Timer

	mu     sync.Mutex
	authed bool
	closed bool
}

// authenticate marks the connection as having made an authenticated
// request: it no longer counts as pending, nor has a time limit.
func (c *trackedConn) authenticate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.authed || c.closed {
		return
	}
	c.authed = true
	c.timer.Stop()
	c.l.release(c.addr, true)
}

func (c *trackedConn) authenticated() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.authed
}

func (c *trackedConn) expire() {
	c.mu.Lock()
	authed := c.authed
	c.mu.Unlock()
	if !authed {
		c.l.refused.note(c.addr, "no authenticated request in time")
		c.Close()
	}
}

func (c *trackedConn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		c.timer.Stop()
		c.l.release(c.addr, !c.authed)
		c.l.mu.Lock()
		c.l.open--
		c.l.mu.Unlock()
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// release ends a connection's pending count.
func (l *connLimiter) release(addr netip.Addr, pending bool) {
	if !pending {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending--
	if l.perAddr[addr]--; l.perAddr[addr] <= 0 {
		delete(l.perAddr, addr)
	}
}

type trackedConnKey struct{}

// connContext is the server's ConnContext: handlers find the StreamConn and
// the trackedConn their request arrived on.
func connContext(ctx context.Context, c net.Conn) context.Context {
	ctx = wire.WithStreamConn(ctx, c)
	if sc := wire.StreamConnUnder(c); sc != nil {
		if tc, ok := sc.Conn.(*trackedConn); ok {
			ctx = context.WithValue(ctx, trackedConnKey{}, tc)
		}
	}
	return ctx
}

func trackedConnOf(ctx context.Context) *trackedConn {
	tc, _ := ctx.Value(trackedConnKey{}).(*trackedConn)
	return tc
}
