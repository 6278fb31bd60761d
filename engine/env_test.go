package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"exbackup/exchange"
	"exbackup/exchange/server"
)

var bg = context.Background()

// newEnv runs a real server on loopback and an engine connected to it.
func newEnv(t *testing.T) (*Engine, *server.Server) { return newEnvB(t) }

func newEnvB(t testing.TB) (*Engine, *server.Server) {
	t.Helper()
	dir := t.TempDir()
	if _, err := server.Init(bg, server.InitOptions{Dir: filepath.Join(dir, "srv"), Organization: "Org", Site: "Site", Name: "EX1"}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.Open(filepath.Join(dir, "srv"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, "127.0.0.1:0", func(_, url, _ string) { ready <- url }) }()
	url := <-ready
	t.Cleanup(func() { cancel(); <-done })
	e, err := Open(filepath.Join(dir, "home"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if err := e.Connect(bg, strings.TrimPrefix(url, "https://"), srv.Config().Key, srv.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateMailbox(bg, exchange.Recipient{Alias: "alice"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		srv.Deliver(bg, exchange.Message{Mailbox: "alice", Subject: "hello", Body: strings.Repeat("mail ", 500)})
	}
	return e, srv
}
