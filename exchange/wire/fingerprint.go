package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// A server's certificate is self-signed: there is no authority in an
// organization of this kind. The console pins its fingerprint on first
// connect instead, the way SSH pins host keys.

// fingerprintScheme names the hash of a fingerprint.
const fingerprintScheme = "sha256:"

// Fingerprint returns "sha256:" and the lowercase hex SHA-256 of a
// certificate's DER encoding.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return fingerprintScheme + hex.EncodeToString(sum[:])
}

// ParseFingerprint checks a fingerprint typed or pasted by an administrator
// and returns it in the form Fingerprint gives: upper case and colons
// between the hex pairs are accepted.
func ParseFingerprint(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) < len(fingerprintScheme) || !strings.EqualFold(s[:len(fingerprintScheme)], fingerprintScheme) {
		return "", errors.New(`certificate fingerprint must start with "sha256:"`)
	}
	h := strings.ToLower(strings.ReplaceAll(s[len(fingerprintScheme):], ":", ""))
	if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("certificate fingerprint %q is not sha256: and %d hex digits", s, 2*sha256.Size)
	}
	return fingerprintScheme + h, nil
}
