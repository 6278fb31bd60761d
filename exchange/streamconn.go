package exchange

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"sync"
)

// streamConnBuffer is the size of a connection's read buffer and of the
// batch its writes gather while a stream holds it.
const streamConnBuffer = 256 << 10

// streamConn is a TCP connection under TLS that reads and, while a file
// stream holds it, writes in large pieces. TLS moves at most 16 KiB per
// record and reads or writes the socket once per record; a file of 1 GiB
// would take 65,000 system calls each way, and on loopback every one of
// them also runs the other side's network stack and wakes its reader.
// Reads go through a buffer that takes whatever the socket holds in one
// call; writes, while held, gather whole records and leave in batches.
type streamConn struct {
	net.Conn
	r *bufio.Reader

	mu   sync.Mutex
	held bool
	buf  []byte
}

func newStreamConn(c net.Conn) *streamConn {
	return &streamConn{Conn: c, r: bufio.NewReaderSize(c, streamConnBuffer)}
}

func (c *streamConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *streamConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.held || len(c.buf)+len(p) > streamConnBuffer {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	if !c.held || len(p) >= streamConnBuffer {
		return c.Conn.Write(p)
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

// hold gathers writes until release; a full batch still leaves at once.
func (c *streamConn) hold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil {
		c.buf = make([]byte, 0, streamConnBuffer)
	}
	c.held = true
}

// release sends what was gathered and writes straight through again.
func (c *streamConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = false
	return c.flushLocked()
}

func (c *streamConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}

// streamListener accepts streamConns.
type streamListener struct{ net.Listener }

func (l streamListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newStreamConn(c), nil
}

type streamConnKey struct{}

// withStreamConn is an http.Server's ConnContext: it lets a handler find
// the streamConn under its request's TLS connection.
func withStreamConn(ctx context.Context, c net.Conn) context.Context {
	if sc := streamConnUnder(c); sc != nil {
		return context.WithValue(ctx, streamConnKey{}, sc)
	}
	return ctx
}

// streamConnUnder returns the streamConn under a TLS connection, or nil.
func streamConnUnder(c net.Conn) *streamConn {
	if tc, ok := c.(*tls.Conn); ok {
		sc, _ := tc.NetConn().(*streamConn)
		return sc
	}
	return nil
}

// streamConnOf returns the streamConn a request arrived on, or nil.
func streamConnOf(ctx context.Context) *streamConn {
	sc, _ := ctx.Value(streamConnKey{}).(*streamConn)
	return sc
}
