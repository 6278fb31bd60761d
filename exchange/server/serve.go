package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"exbackup/exchange/wire"
)

// Serve starts the services, listens on addr (host:port; port 0 picks one)
// and serves the API until ctx is done, then shuts down cleanly: requests
// finish, the services stop and write their checkpoints. ready is called
// once the server accepts connections.
func (s *Server) Serve(ctx context.Context, addr string, ready func(name, url, fingerprint string)) error {
	if addr == "" {
		addr = s.cfg.Listen
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := s.StartServices(); err != nil {
		s.log.Warn("starting services", "err", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.Close()
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	if err := CheckKey(s.cfg.Key); err != nil {
		s.log.Warn("the organization's access key is weak: make a new one and give it to every server and console", "err", err)
	}
	bound := ln.Addr().String()
	lim := s.limits.withConns(fileLimit())
	closed := newRefusalLog(s.log, lim.LogInterval, "api: closed connections")
	hs := newHTTPServer(bound, s.cert, newHandler(s, s.cfg.Key, s.log, lim), lim, closed)
	limited := newConnLimiter(ln, lim, closed)
	ml, err := s.listenMail(bound)
	if err != nil {
		ln.Close()
		s.Close()
		return err
	}
	run := RunInfo{Address: bound, Fingerprint: s.fingerprint, PID: os.Getpid(), SMTP: ml.smtpAddr, IMAP: ml.imapAddr}
	if d, err := s.Domains(); err == nil {
		run.Domain = d[0]
	}
	s.mu.Lock()
	s.running = &run
	s.mu.Unlock()
	ri, _ := json.MarshalIndent(run, "", "  ")
	if err := writeFileAtomic(filepath.Join(s.dir, runFile), ri); err != nil {
		ln.Close()
		ml.close()
		s.Close()
		return err
	}
	if s.cfg.Listen != bound && isFixedPort(addr) {
		s.cfg.Listen = bound
		data, _ := json.MarshalIndent(s.cfg, "", "  ")
		writeFileAtomic(filepath.Join(s.dir, configFile), data)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.ServeTLS(wire.StreamListener{Listener: limited}, "", "") }()
	s.announce(bound)
	if ready != nil {
		ready(s.cfg.Name, "https://"+bound, s.fingerprint)
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
	}
	os.Remove(filepath.Join(s.dir, runFile))
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	// Mail sessions end before the store stops: a message not yet
	// acknowledged is not delivered, and its client retries.
	return errors.Join(err, ml.close(), s.Close())
}

// ReadyLine is the line `exserver run` prints once the server serves:
// ready NAME https://HOST:PORT sha256:FP [smtp=HOST:PORT] [imaps=HOST:PORT].
func (s *Server) ReadyLine() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil {
		return ""
	}
	return readyLine(s.cfg.Name, "https://"+s.running.Address, s.fingerprint, &mailListeners{smtpAddr: s.running.SMTP, imapAddr: s.running.IMAP})
}

func isFixedPort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port != "0"
}
