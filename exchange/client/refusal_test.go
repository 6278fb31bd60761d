package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"exbackup/exchange"
	"exbackup/exchange/client"
	"exbackup/exchange/server"
)

// A refused key and a throttled address read as what they are.
func TestClientRefusedAndThrottledKeys(t *testing.T) {
	e := newAPIEnv(t, true)
	ctx := context.Background()
	_, err := client.Dial(ctx, e.Addr, "wrong", e.FP)
	if !errors.Is(err, exchange.ErrUnauthorized) || !strings.HasSuffix(err.Error(), "refused the access key") {
		t.Fatalf("wrong key: %v", err)
	}
	for i := 0; i < 20 && !errors.Is(err, exchange.ErrRateLimited); i++ {
		_, err = client.Dial(ctx, e.Addr, "wrong", e.FP)
	}
	if !errors.Is(err, exchange.ErrRateLimited) || errors.Is(err, exchange.ErrUnauthorized) ||
		!regexp.MustCompile(`too many failed attempts from this address; try again in \d+ s$`).MatchString(err.Error()) {
		t.Fatalf("throttled: %v", err)
	}
}

// An answer without the server's JSON (a proxy's) still says how long to wait.
func TestClientThrottledByAProxy(t *testing.T) {
	cert, fp := apiTestCert(t)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
	}))
	ts.TLS = &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}
	ts.StartTLS()
	defer ts.Close()
	_, err := client.Dial(context.Background(), ts.Listener.Addr().String(), server.NewKey(), fp)
	if !errors.Is(err, exchange.ErrRateLimited) || !strings.HasSuffix(err.Error(), "too many failed attempts from this address; try again in 7 s") {
		t.Fatalf("proxy's 429: %v", err)
	}
}
