package exchange

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"sync"
	"testing"
)

// countConn is a connection that counts the writes and reads that reach
// it.
type countConn struct {
	net.Conn
	mu            sync.Mutex
	writes, reads int
	written       bytes.Buffer // only when Conn is nil
	input         io.Reader    // only when Conn is nil
}

func (c *countConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	if c.Conn == nil {
		return c.written.Write(p)
	}
	return c.Conn.Write(p)
}

func (c *countConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	if c.Conn == nil {
		return c.input.Read(p)
	}
	return c.Conn.Read(p)
}

func (c *countConn) counts() (writes, reads int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes, c.reads
}

func TestStreamConnBatchesWhileHeld(t *testing.T) {
	data := frameTestData(4<<20, 71)
	raw := &countConn{input: bytes.NewReader(data)}
	sc := newStreamConn(raw)

	sc.Write([]byte("straight through"))
	if w, _ := raw.counts(); w != 1 {
		t.Fatalf("a write while not held made %d writes", w)
	}
	const record = 16<<10 + 22 // a full TLS 1.3 record
	sc.hold()
	var sent int
	for sent+record <= len(data) {
		sc.Write(data[sent : sent+record])
		sent += record
	}
	held, _ := raw.counts()
	if err := sc.release(); err != nil {
		t.Fatal(err)
	}
	sc.Write([]byte("after"))
	writes, _ := raw.counts()
	want := append(append([]byte("straight through"), data[:sent]...), "after"...)
	if !bytes.Equal(raw.written.Bytes(), want) {
		t.Fatal("the bytes that left differ from the bytes written, or their order")
	}
	records := sent / record
	if max := 1 + sent/streamConnBuffer + 1; held > max || writes > held+2 {
		t.Errorf("%d records left in %d writes while held, %d in all; want at most %d", records, held-1, writes, max)
	}

	// Reads take what the connection holds in one call.
	got, err := io.ReadAll(io.LimitReader(readerFunc(func(p []byte) (int, error) {
		return sc.Read(p[:min(len(p), record)])
	}), int64(len(data))))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if _, reads := raw.counts(); reads > len(data)/streamConnBuffer+2 {
		t.Errorf("%d bytes read in %d reads of the connection", len(data), reads)
	}
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
		w, _ := c.counts()
		n += w
	}
	return n
}

// A file stream leaves the server in batches of TLS records, and a
// restore upload leaves the client so: 4 MiB is 256 records, one system
// call each without batching.
func TestFileStreamsTravelInBatches(t *testing.T) {
	fake := newAPIFake()
	const size = 4 << 20
	fake.files["priv.edb"] = frameTestData(size, 72)
	cert, fp := apiTestCert(t)
	key := NewKey()
	srv := NewServer("127.0.0.1:0", cert, NewHandler(fake, key, nil))
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countListener{Listener: ln}
	go srv.ServeTLS(streamListener{cl}, "", "")
	defer srv.Close()
	ctx := context.Background()
	c, err := Dial(ctx, ln.Addr().String(), key, fp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var client []*countConn
	var mu sync.Mutex
	dial := c.dialRaw
	c.dialRaw = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cc := &countConn{Conn: conn}
		mu.Lock()
		client = append(client, cc)
		mu.Unlock()
		return cc, nil
	}
	clientWrites := func() (n int) {
		mu.Lock()
		defer mu.Unlock()
		for _, cc := range client {
			w, _ := cc.counts()
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
	if err := c.RestoreWrite(ctx, "r-1", "priv.edb", bytes.NewReader(fake.files["priv.edb"])); err != nil {
		t.Fatal(err)
	}
	if n := clientWrites() - before; n > 64 {
		t.Errorf("the client sent %d bytes in %d writes", size, n)
	}
}
