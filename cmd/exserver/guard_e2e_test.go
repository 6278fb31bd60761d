package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/client"
	"exbackup/exchange/server"
)

// A client without the key, sending its body a byte at a time, is
// answered and closed: it does not hold the server's descriptors, and
// consoles holding the key are served meanwhile.
func TestSlowClientsWithoutTheKeyAreClosed(t *testing.T) {
	data := filepath.Join(t.TempDir(), "EXCH01")
	exs(t, "init", "--data", data, "--org", "First Organization", "--site", "Redmond", "--name", "EXCH01")
	p := runServer(t, data, "127.0.0.1:0")

	stop := make(chan struct{})
	defer close(stop)
	const dribblers, silent = 200, 100
	results := make(chan error, dribblers+silent)
	var wg sync.WaitGroup
	for i := 0; i < dribblers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- dribble(p.addr, "127.0.0.2", stop)
		}()
	}
	for i := 0; i < silent; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- silentConn(p.addr, "127.0.0.3")
		}()
	}

	// A console with the key is answered while they are at it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := dial(t, p, key(t, data)).Status(ctx)
	if err != nil || st.Name != "EXCH01" {
		t.Fatalf("status while slow clients hold on: %+v, %v", st, err)
	}

	wg.Wait()
	close(results)
	held := 0
	for err := range results {
		if err != nil {
			held++
			if held <= 3 {
				t.Error(err)
			}
		}
	}
	if held > 0 {
		t.Fatalf("%d of %d slow connections were still held open", held, dribblers+silent)
	}
}

// testHold is how long a test connection waits for the server to close it:
// far beyond any bound the server keeps, so that only a connection held
// without end fails.
const testHold = 90 * time.Second

// dribble sends an unauthenticated POST announcing 200,000 bytes and then
// a byte every second, and reads until the server closes the connection.
func dribble(addr, from string, stop <-chan struct{}) error {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(testHold))
	c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err := c.Handshake(); err != nil {
		return closedOrHeld(err) // refused at the door: closed
	}
	if _, err := io.WriteString(c, "POST /v1/messages HTTP/1.1\r\nHost: exserver\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{"); err != nil {
		return closedOrHeld(err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-done:
				return
			case <-tick.C:
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	_, err = io.Copy(io.Discard, c)
	return closedOrHeld(err)
}

// silentConn connects and sends nothing at all.
func silentConn(addr, from string) error {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testHold))
	_, err = io.Copy(io.Discard, c)
	return closedOrHeld(err)
}

// closedOrHeld is nil for a connection the server closed (EOF, reset) and
// an error for one still open when the test gave up on it.
func closedOrHeld(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errors.New("connection still open after " + testHold.String())
	}
	return nil
}

func TestInitRefusesAWeakKey(t *testing.T) {
	for _, k := range []string{"12345678", "0123456789abcdef0123456789abcdef", strings.Repeat("a", 40)} {
		out, err := execExserver("init", "--data", t.TempDir(), "--org", "O", "--site", "S", "--name", "EX1", "--key", k)
		if err == nil {
			t.Fatalf("init accepted the key %q", k)
		}
		if !strings.HasPrefix(out, "exserver init: ") || strings.Count(out, "\n") != 1 || !strings.Contains(out, "128 bits") {
			t.Fatalf("init with key %q: %q", k, out)
		}
	}
	out := exs(t, "init", "--data", t.TempDir(), "--org", "O", "--site", "S", "--name", "EX1", "--key", "3f9c1a7e5b20d84c6e1f0a9b7d3c5e28")
	if !strings.Contains(out, "initialized EX1") {
		t.Fatalf("init with a strong key: %q", out)
	}
}

func execExserver(args ...string) (string, error) {
	out, err := exec.Command(exserverBin, args...).CombinedOutput()
	return string(out), err
}

func TestWrongKeyIsRefusedThenThrottled(t *testing.T) {
	data := filepath.Join(t.TempDir(), "EXCH01")
	exs(t, "init", "--data", data, "--org", "First Organization", "--site", "Redmond", "--name", "EXCH01")
	p := runServer(t, data, "127.0.0.1:0")
	ctx := context.Background()
	wrong := server.NewKey()
	_, err := client.Dial(ctx, p.addr, wrong, p.fp)
	if !errors.Is(err, exchange.ErrUnauthorized) || !strings.HasSuffix(err.Error(), "server EXCH01 refused the access key") {
		t.Fatalf("wrong key: %v", err)
	}
	for i := 0; i < 20 && !errors.Is(err, exchange.ErrRateLimited); i++ {
		_, err = client.Dial(ctx, p.addr, wrong, p.fp)
	}
	if !errors.Is(err, exchange.ErrRateLimited) || !regexp.MustCompile(`too many failed attempts from this address; try again in \d+ s$`).MatchString(err.Error()) {
		t.Fatalf("after many wrong keys: %v", err)
	}
}
