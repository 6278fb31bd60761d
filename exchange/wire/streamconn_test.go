package wire

import (
	"bytes"
	"io"
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
	sc := NewStreamConn(raw)

	sc.Write([]byte("straight through"))
	if w, _ := raw.counts(); w != 1 {
		t.Fatalf("a write while not held made %d writes", w)
	}
	const record = 16<<10 + 22 // a full TLS 1.3 record
	sc.Hold()
	var sent int
	for sent+record <= len(data) {
		sc.Write(data[sent : sent+record])
		sent += record
	}
	held, _ := raw.counts()
	if err := sc.Release(); err != nil {
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

// readerFunc adapts a function to io.Reader.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
