package client_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"sync"
	"testing"

	"exbackup/exchange/client"
	"exbackup/exchange/internal/apitest"
	"exbackup/exchange/server"
	"exbackup/exchange/wire"
)

// countConn is a connection that counts the writes that reach it.
type countConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
}

func (c *countConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countConn) counts() (writes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// countListener wraps the connections it accepts in countConns.
type countListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*countConn
}

func (l *countListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countConn{Conn: c}
	l.mu.Lock()
	l.conns = append(l.conns, cc)
	l.mu.Unlock()
	return cc, nil
}

func (l *countListener) writes() (n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		w := c.counts()
		n += w
	}
	return n
}

// A file stream leaves the server in batches of TLS records, and a
// restore upload leaves the client so: 4 MiB is 256 records, one system
// call each without batching.
func TestFileStreamsTravelInBatches(t *testing.T) {
	fake := apitest.NewFake()
	const size = 4 << 20
	fake.Files["priv.edb"] = apitest.Data(size, 72)
	cert, fp := apiTestCert(t)
	key := server.NewKey()
	srv := server.NewHTTPServer("127.0.0.1:0", cert, server.NewHandler(fake, key, nil))
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countListener{Listener: ln}
	go srv.ServeTLS(wire.StreamListener{Listener: cl}, "", "")
	defer srv.Close()
	ctx := context.Background()
	c, err := client.Dial(ctx, ln.Addr().String(), key, fp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var clientConns []*countConn
	var mu sync.Mutex
	c.WrapRawDial(func(dial client.RawDialer) client.RawDialer {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			cc := &countConn{Conn: conn}
			mu.Lock()
			clientConns = append(clientConns, cc)
			mu.Unlock()
			return cc, nil
		}
	})
	clientWrites := func() (n int) {
		mu.Lock()
		defer mu.Unlock()
		for _, cc := range clientConns {
			w := cc.counts()
			n += w
		}
		return n
	}

	before := cl.writes()
	rc, err := c.BackupRead(ctx, "s-1", "priv.edb")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, rc); err != nil || n != size {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	rc.Close()
	if n := cl.writes() - before; n > 64 {
		t.Errorf("the server sent %d bytes in %d writes", size, n)
	}

	before = clientWrites()
	if err := c.RestoreWrite(ctx, "r-1", "priv.edb", bytes.NewReader(fake.Files["priv.edb"])); err != nil {
		t.Fatal(err)
	}
	if n := clientWrites() - before; n > 64 {
		t.Errorf("the client sent %d bytes in %d writes", size, n)
	}
}
