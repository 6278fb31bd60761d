package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"exbackup/exchange/wire"
)

func TestTLSGenerateAndLoad(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateCertificate(dir, []string{"exch01.example.org", "192.0.2.7", "exch01.example.org:7000", "[2001:db8::1]:7000"}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key.pem mode %o, want 600", perm)
	}
	cert, fp, err := LoadCertificate(dir)
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		t.Fatal("no leaf")
	}
	if fp != wire.Fingerprint(cert.Certificate[0]) {
		t.Errorf("fingerprint %s, want %s", fp, wire.Fingerprint(cert.Certificate[0]))
	}
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(fp) {
		t.Errorf("fingerprint %q is not sha256:HEX", fp)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("key is %T, want ECDSA P-256", leaf.PublicKey)
	}
	if got := time.Until(leaf.NotAfter); got < 20*365*24*time.Hour {
		t.Errorf("valid for %v only", got)
	}
	for _, h := range []string{"exch01.example.org", "localhost"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("not valid for %s: %v", h, err)
		}
	}
	for _, ip := range []string{"192.0.2.7", "127.0.0.1", "::1", "2001:db8::1"} {
		if !slices.ContainsFunc(leaf.IPAddresses, func(a net.IP) bool { return a.Equal(net.ParseIP(ip)) }) {
			t.Errorf("not valid for %s: %v", ip, leaf.IPAddresses)
		}
	}
	if n := len(leaf.DNSNames); n != 2 {
		t.Errorf("DNS names %v: duplicates kept", leaf.DNSNames)
	}

	// A second generation would break every pinned fingerprint.
	if err := GenerateCertificate(dir, nil); !errors.Is(err, os.ErrExist) {
		t.Errorf("regenerating over an existing certificate: %v", err)
	}
	if _, fp2, _ := LoadCertificate(dir); fp2 != fp {
		t.Error("certificate changed")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files left in the folder: %v", entries)
	}
}

func TestTLSLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := LoadCertificate(dir); err == nil {
		t.Fatal("loaded a certificate from an empty folder")
	}
	os.WriteFile(filepath.Join(dir, CertFile), []byte("not pem"), 0o644)
	os.WriteFile(filepath.Join(dir, KeyFile), []byte("not pem"), 0o600)
	if _, _, err := LoadCertificate(dir); err == nil {
		t.Fatal("loaded garbage")
	}
}

func TestTLSNewKey(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		k := NewKey()
		b, err := base64.RawURLEncoding.DecodeString(k)
		if err != nil || len(b) != 32 {
			t.Fatalf("key %q: %d bytes, %v", k, len(b), err)
		}
		if seen[k] {
			t.Fatal("key repeated")
		}
		seen[k] = true
	}
}
