package mail

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

func TestThrottleDoublesAndForgets(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	th := &Throttle{Base: time.Second, Max: 8 * time.Second, Forget: time.Hour, now: func() time.Time { return now }}
	if d := th.Delay("10.0.0.1"); d != 0 {
		t.Fatalf("a fresh address waits %v", d)
	}
	var got []time.Duration
	for range 6 {
		th.Fail("10.0.0.1")
		got = append(got, th.Delay("10.0.0.1"))
	}
	if fmt.Sprint(got) != "[1s 2s 4s 8s 8s 8s]" {
		t.Fatalf("delays %v", got)
	}
	if d := th.Delay("10.0.0.2"); d != 0 {
		t.Fatalf("another address waits %v", d)
	}
	now = now.Add(2 * time.Hour)
	if d := th.Delay("10.0.0.1"); d != 0 {
		t.Fatalf("after a quiet hour the address still waits %v", d)
	}
	th.Fail("10.0.0.1")
	th.Succeed("10.0.0.1")
	if d := th.Delay("10.0.0.1"); d != 0 {
		t.Fatalf("a right password left %v", d)
	}
}

func TestThrottleSummary(t *testing.T) {
	th := NewThrottle()
	for range 3 {
		th.Fail("192.0.2.7")
	}
	th.Fail("198.51.100.1")
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	th.LogSummary(log, "imap")
	out := buf.String()
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "refused=4 addresses=2 top1.addr=192.0.2.7 top1.refused=3") {
		t.Fatalf("summary %q", out)
	}
	buf.Reset()
	th.LogSummary(log, "imap")
	if buf.Len() != 0 {
		t.Fatalf("a quiet period logged %q", buf.String())
	}
}

func TestThrottleMemoryBounded(t *testing.T) {
	th := NewThrottle()
	for i := range maxTracked + 10 {
		th.Fail(fmt.Sprintf("a%d", i))
	}
	if n := len(th.addrs); n > maxTracked {
		t.Fatalf("%d addresses tracked", n)
	}
}

func TestLimitListenerRefusesOverLimit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := LimitListener(ln, 1, func(c net.Conn) { fmt.Fprint(c, "BUSY\r\n") })
	defer l.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	c1, _ := net.Dial("tcp", ln.Addr().String())
	defer c1.Close()
	first := <-accepted
	c2, _ := net.Dial("tcp", ln.Addr().String())
	defer c2.Close()
	if line, err := bufio.NewReader(c2).ReadString('\n'); err != nil || line != "BUSY\r\n" {
		t.Fatalf("over the limit: %q %v", line, err)
	}
	first.Close() // frees the slot
	first.Close() // twice must not free two
	c3, _ := net.Dial("tcp", ln.Addr().String())
	defer c3.Close()
	third := <-accepted
	c4, _ := net.Dial("tcp", ln.Addr().String())
	defer c4.Close()
	if line, _ := bufio.NewReader(c4).ReadString('\n'); line != "BUSY\r\n" {
		t.Fatalf("a double Close freed two slots: %q", line)
	}
	third.Close()
}
