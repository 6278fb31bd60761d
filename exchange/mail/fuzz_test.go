package mail

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzParse: any bytes give metadata or ErrMalformed, never a panic, and
// every text field is valid UTF-8 whatever the input's charset.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nFrom: a <a@b>\r\n\r\nbody",
		"From: =?ISO-8859-1?Q?Andr=E9?= <a@b>, \"x\" <y@z>\r\nTo: undisclosed-recipients:;\r\n\r\n",
		"Subject: caf\xe9\r\nDate: Tue, 01 Dec 2026 10:00:00 +0100\r\nMessage-ID: <<>>\r\n\r\n",
		"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\n--x--",
		" x\r\n", "\r\n", ":", "Subject: =?utf-8?q?=ff?=\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v is not ErrMalformed", err)
		}
		if m.Size != int64(len(data)) {
			t.Fatalf("size %d of %d bytes", m.Size, len(data))
		}
		if !utf8.ValidString(m.Subject) || !utf8.ValidString(m.MessageID) {
			t.Fatalf("invalid UTF-8 in %q / %q", m.Subject, m.MessageID)
		}
		for _, l := range [][]Address{m.From, m.To, m.Cc} {
			for _, a := range l {
				if !utf8.ValidString(a.Name) || !utf8.ValidString(a.Address) {
					t.Fatalf("invalid UTF-8 in %+v", a)
				}
			}
		}
	})
}
