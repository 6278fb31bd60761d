package wire

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

// StreamConn is a TCP connection under TLS that reads and, while a file
// stream holds it, writes in large pieces. TLS moves at most 16 KiB per
// record and reads or writes the socket once per record; a file of 1 GiB
// would take 65,000 system calls each way, and on loopback every one of
// them also runs the other side's network stack and wakes its reader.
// Reads go through a buffer that takes whatever the socket holds in one
// call; writes, while held, gather whole records and leave in batches.
type StreamConn struct {
	net.Conn
	r *bufio.Reader

	mu   sync.Mutex
	held bool
	buf  []byte
}

func NewStreamConn(c net.Conn) *StreamConn {
	return &StreamConn{Conn: c, r: bufio.NewReaderSize(c, streamConnBuffer)}
}

func (c *StreamConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *StreamConn) Write(p []byte) (int, error) {
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

// Hold gathers writes until Release; a full batch still leaves at once.
func (c *StreamConn) Hold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil {
		c.buf = make([]byte, 0, streamConnBuffer)
	}
	c.held = true
}

// Release sends what was gathered and writes straight through again.
func (c *StreamConn) Release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = false
	return c.flushLocked()
}

func (c *StreamConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}

// StreamListener accepts streamConns.
type StreamListener struct{ net.Listener }

func (l StreamListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return NewStreamConn(c), nil
}

type streamConnKey struct{}

// WithStreamConn is an http.Server's ConnContext: it lets a handler find
// the StreamConn under its request's TLS connection.
func WithStreamConn(ctx context.Context, c net.Conn) context.Context {
	if sc := StreamConnUnder(c); sc != nil {
		return context.WithValue(ctx, streamConnKey{}, sc)
	}
	return ctx
}

// StreamConnUnder returns the StreamConn under a TLS connection, or nil.
func StreamConnUnder(c net.Conn) *StreamConn {
	if tc, ok := c.(*tls.Conn); ok {
		sc, _ := tc.NetConn().(*StreamConn)
		return sc
	}
	return nil
}

// StreamConnOf returns the StreamConn a request arrived on, or nil.
func StreamConnOf(ctx context.Context) *StreamConn {
	sc, _ := ctx.Value(streamConnKey{}).(*StreamConn)
	return sc
}
