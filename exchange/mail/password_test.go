package mail

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("encoding %q", h)
	}
	if ok, err := CheckPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, err := CheckPassword(h, "correct horsE"); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	h2, _ := HashPassword("correct horse")
	if h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestPasswordHashHonoursItsParameters(t *testing.T) {
	// A hash made with other parameters (a later default) still checks.
	h := "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$" // filled below
	p, err := parseHash(h + "AAAAAAAAAAAAAAAAAAAAAA")
	if err != nil {
		t.Fatal(err)
	}
	if p.memory != 8 || p.time != 1 || p.threads != 1 {
		t.Fatalf("%+v", p)
	}
}

func TestBadHashesRefused(t *testing.T) {
	for _, h := range []string{
		"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", // would allocate ~100 GB
		"$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=0$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$short",
	} {
		if ok, err := CheckPassword(h, "x"); ok || !errors.Is(err, ErrBadHash) {
			t.Errorf("%q: %v %v", h, ok, err)
		}
	}
}

// The dummy hash costs what a new hash costs: same parameters, same sizes.
func TestDummyHashCostsWhatANewHashCosts(t *testing.T) {
	d, err := parseHash(DummyHash)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := HashPassword("x")
	n, _ := parseHash(h)
	if d.memory != n.memory || d.time != n.time || d.threads != n.threads || len(d.salt) != len(n.salt) || len(d.key) != len(n.key) {
		t.Fatalf("dummy %+v, new %+v", d, n)
	}
	if ok, err := CheckPassword(DummyHash, ""); ok || err != nil {
		t.Fatalf("the empty password matches the dummy hash: %v %v", ok, err)
	}
}
