package wire

import "testing"

func TestFingerprint(t *testing.T) {
	// SHA-256 of the empty string.
	if got, want := Fingerprint(nil), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Errorf("Fingerprint(nil) = %s", got)
	}
	want := Fingerprint([]byte("x"))
	for _, in := range []string{want, " " + want + " ", "SHA256:" + want[7:], "sha256:" + upperColons(want[7:])} {
		got, err := ParseFingerprint(in)
		if err != nil || got != want {
			t.Errorf("ParseFingerprint(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "sha256:", "md5:" + want[7:], want[7:], want + "00", want[:len(want)-1], "sha256:" + want[8:] + "g"} {
		if _, err := ParseFingerprint(in); err == nil {
			t.Errorf("ParseFingerprint(%q) accepted", in)
		}
	}
}

func upperColons(h string) string {
	var out []byte
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			out = append(out, ':')
		}
		for _, c := range []byte(h[i : i+2]) {
			if c >= 'a' && c <= 'f' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
		}
	}
	return string(out)
}
