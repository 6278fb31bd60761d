package server

import (
	"log/slog"
	"math"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// What keeps a client without the key from wearing the server down: every
// failed attempt costs a token of its address's bucket, an address whose
// bucket is empty is answered 429 without its key being looked at, and the
// refusals are logged in summary, one line per address per interval.

// Limits are the bounds the HTTPS server keeps to. The defaults suit a
// server of an organization on a LAN or WAN; tests shorten them.
type Limits struct {
	// AuthFailBurst failed attempts an address may make at once, after
	// which it gets one more every AuthFailEvery.
	AuthFailBurst int
	AuthFailEvery time.Duration
	// LogInterval is how often refusals are summed up in the log.
	LogInterval time.Duration
	// AuthWithin bounds how long a connection may stay open without an
	// authenticated request: TLS handshake, headers and all.
	AuthWithin time.Duration
	// PendingPerAddr and PendingTotal bound the connections that have not
	// yet authenticated, per client address and in all; MaxConns bounds
	// all connections. Zero MaxConns takes it from the file limit.
	PendingPerAddr int
	PendingTotal   int
	MaxConns       int
	// ReadHeader bounds the time to read a request's headers (and the TLS
	// handshake). A body must bring at least BodyMinBytes in every
	// BodyWindow the server spends waiting for it: a minimum rate, not a
	// total, so a database of any size can stream.
	ReadHeader   time.Duration
	BodyWindow   time.Duration
	BodyMinBytes int64
	Idle         time.Duration
}

// DefaultLimits returns the limits a server serves with.
func DefaultLimits() Limits {
	return Limits{
		AuthFailBurst:  10,
		AuthFailEvery:  2 * time.Second,
		LogInterval:    time.Minute,
		AuthWithin:     15 * time.Second,
		PendingPerAddr: 16,
		ReadHeader:     10 * time.Second,
		BodyWindow:     20 * time.Second,
		BodyMinBytes:   16 << 10,
		Idle:           2 * time.Minute,
	}
}

// withConns fills in the connection bounds from the file limit: a quarter
// of the descriptors (at least 64) stays for the stores, logs and peers,
// and at most half of the connections may be unauthenticated, so that
// consoles holding the key always find room.
func (l Limits) withConns(nofile uint64) Limits {
	if l.MaxConns == 0 {
		reserve := max(nofile/4, 64)
		n := uint64(4096)
		if nofile > reserve {
			n = min(n, nofile-reserve)
		} else {
			n = 16
		}
		l.MaxConns = int(max(n, 16))
	}
	if l.PendingTotal == 0 {
		l.PendingTotal = max(l.MaxConns/2, 1)
	}
	if l.PendingPerAddr == 0 {
		l.PendingPerAddr = l.PendingTotal
	}
	return l
}

// clientKey is the address limits are counted by: the IP, and for IPv6 its
// /64, which one client usually holds whole.
func clientKey(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		host, _, _ := net.SplitHostPort(remote)
		a, _ := netip.ParseAddr(host)
		return a
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		a = p.Addr()
	}
	return a
}

// refusalLog sums refusals up: the first of an address is logged at once,
// the rest once per interval with their count while they go on.
type refusalLog struct {
	log      *slog.Logger
	interval time.Duration
	msg      string

	mu      sync.Mutex
	pending map[refusalKey]*refusalCount
}

type refusalKey struct {
	addr netip.Addr
	why  string
}

type refusalCount struct {
	n     int
	since time.Time
}

func newRefusalLog(log *slog.Logger, interval time.Duration, msg string) *refusalLog {
	return &refusalLog{log: log, interval: interval, msg: msg, pending: map[refusalKey]*refusalCount{}}
}

// note counts one refusal; attrs describe the first of an interval.
func (l *refusalLog) note(addr netip.Addr, why string, attrs ...any) {
	k := refusalKey{addr, why}
	l.mu.Lock()
	if c := l.pending[k]; c != nil {
		c.n++
		l.mu.Unlock()
		return
	}
	l.pending[k] = &refusalCount{since: time.Now()}
	l.mu.Unlock()
	l.log.Warn(l.msg, append([]any{"remote", addr.String(), "reason", why}, attrs...)...)
	time.AfterFunc(l.interval, func() { l.flush(k) })
}

func (l *refusalLog) flush(k refusalKey) {
	l.mu.Lock()
	c := l.pending[k]
	if c == nil {
		l.mu.Unlock()
		return
	}
	if c.n == 0 {
		delete(l.pending, k)
		l.mu.Unlock()
		return
	}
	n, since := c.n, c.since
	l.pending[k] = &refusalCount{since: time.Now()}
	l.mu.Unlock()
	l.log.Warn(l.msg, "remote", k.addr.String(), "reason", k.why, "count", n, "over", time.Since(since).Round(time.Second))
	time.AfterFunc(l.interval, func() { l.flush(k) })
}

// authThrottle is a token bucket of failed attempts per address.
type authThrottle struct {
	burst float64
	every time.Duration

	mu        sync.Mutex
	buckets   map[netip.Addr]*authBucket
	lastSweep time.Time
}

type authBucket struct {
	tokens float64
	at     time.Time
}

// authMaxAddrs bounds the addresses remembered; past it, new addresses
// share one bucket, so a flood from many addresses throttles itself.
const authMaxAddrs = 1 << 16

func newAuthThrottle(burst int, every time.Duration) *authThrottle {
	return &authThrottle{burst: float64(max(burst, 1)), every: every, buckets: map[netip.Addr]*authBucket{}}
}

// bucket returns addr's bucket refilled to now; mu is held.
func (t *authThrottle) bucket(addr netip.Addr, now time.Time) *authBucket {
	if now.Sub(t.lastSweep) > time.Minute {
		t.lastSweep = now
		for a, b := range t.buckets {
			if b.tokens+float64(now.Sub(b.at))/float64(t.every) >= t.burst {
				delete(t.buckets, a)
			}
		}
	}
	b := t.buckets[addr]
	if b == nil && len(t.buckets) >= authMaxAddrs {
		addr = netip.Addr{}
		b = t.buckets[addr]
	}
	if b == nil {
		b = &authBucket{tokens: t.burst, at: now}
		t.buckets[addr] = b
		return b
	}
	b.tokens = min(t.burst, b.tokens+float64(now.Sub(b.at))/float64(t.every))
	b.at = now
	return b
}

// wait returns how long addr must wait before its next attempt, zero when
// it may try now.
func (t *authThrottle) wait(addr netip.Addr, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucket(addr, now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(t.every))
}

// fail takes a token for a failed attempt.
func (t *authThrottle) fail(addr netip.Addr, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bucket(addr, now).tokens--
}

// retryAfter is a wait in whole seconds, as Retry-After gives it.
func retryAfter(d time.Duration) int {
	return int(math.Max(1, math.Ceil(d.Seconds())))
}

// errorLog is net/http's error log: each TLS handshake that fails (a
// connection closed by the limiter, a client that never finished) is
// summed up with the other refusals of its address; the rest is logged as
// it comes.
type errorLog struct {
	log     *slog.Logger
	refused *refusalLog
}

func (e errorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if rest, ok := strings.CutPrefix(msg, "http: TLS handshake error from "); ok {
		remote, _, _ := strings.Cut(rest, ": ")
		e.refused.note(clientKey(remote), "TLS handshake failed")
		return len(p), nil
	}
	e.log.Warn(msg)
	return len(p), nil
}
