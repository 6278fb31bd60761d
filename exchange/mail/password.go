package mail

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters for new hashes: the OWASP minimum for argon2id (19 MiB,
// two passes, one lane), so that a login costs tens of milliseconds and a
// server with two cores stays responsive under a guessing attack.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32

	// A stored hash is trusted no further than this: a damaged or forged
	// Directory entry must not make a login allocate gigabytes.
	maxArgonMemory = 256 * 1024
	maxArgonTime   = 16
)

// ErrBadHash: a stored password hash is not one HashPassword wrote.
var ErrBadHash = errors.New("stored password hash is not a valid argon2id hash")

// DummyHash is the hash of no one's password, with the parameters of new
// hashes. A login to a mailbox that does not exist, or that has no
// password, is checked against it before it is refused, so that the
// refusal costs the same argon2 work as a wrong password and its timing
// does not tell which aliases exist. No password matches it but by a
// collision of argon2id.
const DummyHash = "$argon2id$v=19$m=19456,t=2,p=1$ZXhzZXJ2ZXItbm9ib2R5IQ$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

// HashPassword hashes a password with argon2id and a random salt, encoded
// with its parameters in the PHC string format the Directory stores:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>   (unpadded base64)
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hashing a password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches a hash from HashPassword,
// comparing in constant time. A hash it cannot read is ErrBadHash.
func CheckPassword(encoded, password string) (bool, error) {
	p, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

type argonHash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parseHash(encoded string) (argonHash, error) {
	var h argonHash
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, ErrBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return h, fmt.Errorf("%w: version %q", ErrBadHash, parts[2])
	}
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &threads); err != nil || n != 3 {
		return h, fmt.Errorf("%w: parameters %q", ErrBadHash, parts[3])
	}
	if h.memory < 8 || h.memory > maxArgonMemory || h.time < 1 || h.time > maxArgonTime || threads < 1 || threads > 255 {
		return h, fmt.Errorf("%w: parameters %q out of range", ErrBadHash, parts[3])
	}
	h.threads = uint8(threads)
	var err error
	b64 := base64.RawStdEncoding
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return h, fmt.Errorf("%w: salt", ErrBadHash)
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return h, fmt.Errorf("%w: key", ErrBadHash)
	}
	return h, nil
}
