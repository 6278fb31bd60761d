package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"exbackup/exchange/wire"
	"exbackup/internal/durable"
)

// A server's certificate is self-signed: there is no authority in an
// organization of this kind. The console pins its fingerprint
// (wire.Fingerprint) on first connect instead, the way SSH pins host keys.

// Files of a server's certificate, in its data folder.
const (
	CertFile = "cert.pem"
	KeyFile  = "key.pem"
)

// certValidity is long on purpose: a renewed certificate changes the
// fingerprint every console has pinned.
const certValidity = 30 * 365 * 24 * time.Hour

// GenerateCertificate creates a self-signed ECDSA P-256 certificate and its
// key in dir (cert.pem, and key.pem readable by the owner only), valid for
// hosts (names or IP addresses, a ":port" is ignored) and for localhost,
// 127.0.0.1 and ::1. It refuses to replace an existing certificate, since
// that would break every pinned fingerprint.
func GenerateCertificate(dir string, hosts []string) error {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	for _, p := range []string{certPath, keyPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("certificate: %s already exists: %w", p, os.ErrExist)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("certificate: generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return fmt.Errorf("certificate: generating serial number: %w", err)
	}
	dns, ips := certHosts(hosts)
	cn := "localhost"
	if len(dns) > 0 {
		cn = dns[0]
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"exserver"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("certificate: creating: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("certificate: encoding key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	// The key goes first: a certificate without its key would look complete.
	if err := durable.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	if err := durable.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	return nil
}

// certHosts splits hosts into names and addresses, adds the loopback ones
// and drops duplicates.
func certHosts(hosts []string) (dns []string, ips []net.IP) {
	seen := map[string]bool{}
	for _, h := range append(append([]string(nil), hosts...), "localhost", "127.0.0.1", "::1") {
		h = strings.TrimSpace(h)
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if !seen[ip.String()] {
				seen[ip.String()] = true
				ips = append(ips, ip)
			}
			continue
		}
		h = strings.ToLower(h)
		if !seen[h] {
			seen[h] = true
			dns = append(dns, h)
		}
	}
	return dns, ips
}

// LoadCertificate loads the certificate and key GenerateCertificate wrote in
// dir, and returns the certificate's fingerprint.
func LoadCertificate(dir string) (tls.Certificate, string, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("certificate in %s: %w", dir, err)
	}
	if len(cert.Certificate) == 0 {
		return tls.Certificate{}, "", fmt.Errorf("certificate in %s: %s holds no certificate", dir, certPath)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, "", fmt.Errorf("certificate in %s: %w", dir, err)
		}
	}
	return cert, wire.Fingerprint(cert.Certificate[0]), nil
}

// NewKey returns a new organization access key: 32 random bytes in
// unpadded base64url (43 characters).
func NewKey() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails: crypto/rand panics rather than return weak bytes
	return base64.RawURLEncoding.EncodeToString(b)
}
