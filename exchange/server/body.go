package server

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"exbackup/exchange"
)

// bodyDeadline reads a request body under a minimum rate: in every
// lim.BodyWindow spent waiting for it, at least lim.BodyMinBytes must
// arrive, or the read fails and the connection is given up. Only the time
// spent waiting counts: while the handler writes what it read (a restore
// staging a file, fsyncs and all), the client is not to blame. A body of
// any size streams as long as it keeps coming; one trickling in a byte at
// a time is cut off within a window. Once the body is read, the deadline is
// lifted, so that a long call after it (a restore's recovery) runs as long
// as it needs.
type bodyDeadline struct {
	body     io.ReadCloser
	rc       *http.ResponseController
	window   time.Duration
	minBytes int64

	budget   time.Duration // waiting time left in the current window
	got      int64         // bytes arrived in the current window
	deadline time.Time
	done     bool
	err      error
}

func newBodyDeadline(w http.ResponseWriter, r *http.Request, lim Limits) io.ReadCloser {
	if r.Body == nil || r.Body == http.NoBody || lim.BodyWindow <= 0 {
		return r.Body
	}
	b := &bodyDeadline{body: r.Body, rc: http.NewResponseController(w), window: lim.BodyWindow,
		minBytes: lim.BodyMinBytes, budget: lim.BodyWindow}
	// Set now, so that a body the handler never reads is bounded too while
	// net/http drains it after the answer.
	if !b.setDeadline(time.Now().Add(b.window)) {
		return r.Body // a ResponseWriter without deadlines (a test's recorder)
	}
	return b
}

func (b *bodyDeadline) setDeadline(t time.Time) bool {
	if t.Equal(b.deadline) {
		return true
	}
	b.deadline = t
	return b.rc.SetReadDeadline(t) == nil
}

func (b *bodyDeadline) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return b.body.Read(p)
	}
	if b.got >= b.minBytes {
		b.budget, b.got = b.window, 0
	}
	start := time.Now()
	b.setDeadline(start.Add(b.budget))
	n, err := b.body.Read(p)
	b.budget -= time.Since(start)
	b.got += int64(n)
	switch {
	case err == io.EOF:
		b.done = true
		b.setDeadline(time.Time{})
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		b.err = exchange.Errorf(exchange.CodeBadRequest, "the request body arrived slower than %d bytes in %s: given up", b.minBytes, b.window)
		err = b.err
	}
	return n, err
}

func (b *bodyDeadline) Close() error { return b.body.Close() }
