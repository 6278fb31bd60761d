package mail

import (
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"
)

// LimitListener bounds the connections open at once. A connection over the
// limit is handed to busy (which writes the protocol's "try later" line) and
// closed, rather than left waiting in the backlog for a greeting that does
// not come.
func LimitListener(ln net.Listener, max int, busy func(net.Conn)) net.Listener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, max), busy: busy}
}

type limitListener struct {
	net.Listener
	sem  chan struct{}
	busy func(net.Conn)
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
		default:
			go func() {
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if l.busy != nil {
					l.busy(c)
				}
				c.Close()
			}()
		}
	}
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// Throttle slows down password guessing: every wrong password from an
// address doubles the wait before that address's next attempt is checked,
// from Base up to Max; a right one clears it, and an address quiet for
// Forget starts afresh. Refusals are counted for a periodic summary instead
// of one log line each, so a guessing attack cannot flood the log.
type Throttle struct {
	Base, Max, Forget time.Duration
	now               func() time.Time

	mu      sync.Mutex
	addrs   map[string]*throttled
	refused Tally
}

type throttled struct {
	fails int
	last  time.Time
}

// maxTracked bounds the addresses a Throttle remembers.
const maxTracked = 1 << 16

// NewThrottle makes a Throttle with the usual settings: 250 ms doubling up
// to 30 s, forgotten after 15 minutes.
func NewThrottle() *Throttle {
	return &Throttle{Base: 250 * time.Millisecond, Max: 30 * time.Second, Forget: 15 * time.Minute}
}

func (t *Throttle) clock() time.Time {
	if t.now != nil {
		return t.now()
	}
	return time.Now()
}

// Delay is how long to wait before checking a password from addr.
func (t *Throttle) Delay(addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.addrs[addr]
	if e == nil || e.fails == 0 {
		return 0
	}
	if t.clock().Sub(e.last) > t.Forget {
		delete(t.addrs, addr)
		return 0
	}
	d := t.Base
	for i := 1; i < e.fails && d < t.Max; i++ {
		d *= 2
	}
	return min(d, t.Max)
}

// Fail records a wrong password from addr.
func (t *Throttle) Fail(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock()
	if t.addrs == nil {
		t.addrs = map[string]*throttled{}
	}
	e := t.addrs[addr]
	if e == nil {
		if len(t.addrs) >= maxTracked {
			t.pruneLocked(now)
		}
		e = &throttled{}
		t.addrs[addr] = e
	}
	if now.Sub(e.last) > t.Forget {
		e.fails = 0
	}
	e.fails++
	e.last = now
	t.refused.Add(addr)
}

// Succeed clears addr's failures.
func (t *Throttle) Succeed(addr string) {
	t.mu.Lock()
	delete(t.addrs, addr)
	t.mu.Unlock()
}

// pruneLocked forgets quiet addresses, and if all are busy, the oldest half.
func (t *Throttle) pruneLocked(now time.Time) {
	for a, e := range t.addrs {
		if now.Sub(e.last) > t.Forget {
			delete(t.addrs, a)
		}
	}
	if len(t.addrs) < maxTracked {
		return
	}
	lasts := make([]time.Time, 0, len(t.addrs))
	for _, e := range t.addrs {
		lasts = append(lasts, e.last)
	}
	sort.Slice(lasts, func(i, j int) bool { return lasts[i].Before(lasts[j]) })
	cut := lasts[len(lasts)/2]
	for a, e := range t.addrs {
		if e.last.Before(cut) {
			delete(t.addrs, a)
		}
	}
}

// LogSummary logs the wrong passwords since the last summary, if any, as
// one line naming the addresses refused most, and starts counting anew.
func (t *Throttle) LogSummary(log *slog.Logger, service string) {
	t.refused.LogSummary(log, "wrong passwords refused", service)
}

// Tally counts refusals by client address for a periodic summary line, so
// that an attack shows in the log without flooding it.
type Tally struct {
	mu sync.Mutex
	n  int
	by map[string]int
}

// Add counts one refusal of addr.
func (t *Tally) Add(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.by == nil {
		t.by = map[string]int{}
	}
	t.n++
	if len(t.by) < maxTracked || t.by[addr] > 0 {
		t.by[addr]++
	}
}

// LogSummary logs what was counted since the last summary, if anything, as
// one line with the three addresses refused most, and starts anew.
func (t *Tally) LogSummary(log *slog.Logger, msg, service string) {
	t.mu.Lock()
	n, by := t.n, t.by
	t.n, t.by = 0, nil
	t.mu.Unlock()
	if n == 0 {
		return
	}
	type count struct {
		addr string
		n    int
	}
	top := make([]count, 0, len(by))
	for a, c := range by {
		top = append(top, count{a, c})
	}
	sort.Slice(top, func(i, j int) bool {
		if top[i].n != top[j].n {
			return top[i].n > top[j].n
		}
		return top[i].addr < top[j].addr
	})
	args := []any{"service", service, "refused", n, "addresses", len(top)}
	for i, c := range top[:min(3, len(top))] {
		args = append(args, slog.Group("top"+string(rune('1'+i)), "addr", c.addr, "refused", c.n))
	}
	log.Warn(msg, args...)
}

// Summarize calls LogSummary every period until stop is closed.
func (t *Throttle) Summarize(log *slog.Logger, service string, period time.Duration, stop <-chan struct{}) {
	tk := time.NewTicker(period)
	defer tk.Stop()
	for {
		select {
		case <-tk.C:
			t.LogSummary(log, service)
		case <-stop:
			t.LogSummary(log, service)
			return
		}
	}
}

// HostOf is the address part of a remote address, the key a Throttle counts
// by: every port of one host shares its budget.
func HostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
