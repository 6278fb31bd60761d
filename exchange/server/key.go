package server

import (
	"fmt"
	"math"
	"strings"
)

// An access key is all that stands between the network and an
// organization's mail, so a key given to init must carry at least 128
// bits: that many random bits cannot be guessed, however many guesses
// the rate limit lets through. The strength of a key someone chose cannot
// be measured, only bounded: its length in its alphabet bounds it from
// above, and a simple estimate that discounts repeats and runs catches
// keys that are long but patterned.
const (
	keyMinBits      = 128
	keyMinEstimated = 96 // random keys of the minimum length estimate above 100
)

const (
	keyHexDigits = "0123456789abcdefABCDEF"
	keyBase64    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/="
)

// CheckKey says why key is not strong enough to be an organization's
// access key, or returns nil.
func CheckKey(key string) error {
	const need = "it needs at least 128 bits: 22 or more random base64 characters or 32 random hex digits (leave --key out to have one made)"
	if key == "" {
		return fmt.Errorf("the access key is empty: %s", need)
	}
	for _, r := range key {
		if r <= ' ' || r > '~' {
			return fmt.Errorf("the access key may hold only visible ASCII characters, no spaces: %s", need)
		}
	}
	bitsPerChar, minLen := keyAlphabet(key)
	if len(key) < minLen {
		return fmt.Errorf("the access key is too short (%d characters): %s", len(key), need)
	}
	if est := keyEstimate(key); est < keyMinEstimated {
		return fmt.Errorf("the access key is too weak: it repeats or runs in sequence (about %.0f bits by estimate; %d characters of %.1f bits could carry %.0f): %s",
			est, len(key), bitsPerChar, bitsPerChar*float64(len(key)), need)
	}
	return nil
}

// keyAlphabet returns the bits a random character of key's alphabet
// carries, and the length that makes 128 of them.
func keyAlphabet(key string) (bits float64, minLen int) {
	size := 94.0 // printable ASCII
	switch {
	case strings.Trim(key, keyHexDigits) == "":
		size = 16
	case strings.Trim(key, keyBase64) == "":
		size = 64
	}
	bits = math.Log2(size)
	return bits, int(math.Ceil(keyMinBits / bits))
}

// keyEstimate counts the bits of the characters that do not follow from
// those before them: a repeat of the previous character, the next step
// of a run (abc, 987), or the continuation of a piece seen earlier
// (passwordpassword). Each other character counts the bits of the groups
// of characters the key draws on (lower case, upper case, digits, others).
func keyEstimate(key string) float64 {
	var lower, upper, digit, other bool
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9':
			digit = true
		default:
			other = true
		}
	}
	size := 0.0
	for _, g := range []struct {
		used bool
		n    float64
	}{{lower, 26}, {upper, 26}, {digit, 10}, {other, 32}} {
		if g.used {
			size += g.n
		}
	}
	if strings.Trim(key, keyHexDigits) == "" {
		size = 16
	}
	bits := math.Log2(size)
	total := 0.0
	for i := 0; i < len(key); i++ {
		if !keyPredictable(key, i) {
			total += bits
		}
	}
	return total
}

func keyPredictable(key string, i int) bool {
	if i >= 2 {
		step, prev := int(key[i])-int(key[i-1]), int(key[i-1])-int(key[i-2])
		if step == prev && step >= -1 && step <= 1 {
			return true
		}
	}
	if i >= 3 && strings.Contains(key[:i], key[i-3:i+1]) {
		return true
	}
	return false
}
