package mail

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Metadata
		bad      bool
	}{
		{
			name: "plain",
			in:   "Message-ID: <abc@host>\r\nFrom: Carol <carol@x.net>\r\nTo: a@example.org, \"B, Jr\" <b@example.org>\r\nCc: c@example.org\r\nSubject: hi\r\nDate: Tue, 01 Dec 2026 10:00:00 +0100\r\n\r\nbody\r\n",
			want: Metadata{MessageID: "abc@host", From: []Address{{"Carol", "carol@x.net"}}, To: []Address{{"", "a@example.org"}, {"B, Jr", "b@example.org"}},
				Cc: []Address{{"", "c@example.org"}}, Subject: "hi", Date: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)},
		},
		{
			name: "RFC 2047 in Latin-1 and UTF-8, folded",
			in:   "From: =?ISO-8859-1?Q?Andr=E9?= <andre@x.net>\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n =?ISO-8859-1?Q?_und_K=FCsse?=\r\n\r\n",
			want: Metadata{From: []Address{{"André", "andre@x.net"}}, Subject: "Grüße und Küsse"},
		},
		{
			name: "raw UTF-8 header (RFC 6532)",
			in:   "Subject: Привет\r\nFrom: Иван <ivan@x.ru>\r\n\r\n",
			want: Metadata{Subject: "Привет", From: []Address{{"Иван", "ivan@x.ru"}}},
		},
		{
			name: "raw 8-bit Latin-1 header",
			in:   "Subject: caf\xe9\r\n\r\n",
			want: Metadata{Subject: "café"},
		},
		{
			name: "unknown charset keeps the text",
			in:   "Subject: =?x-nonsense?Q?abc?=\r\n\r\n",
			want: Metadata{Subject: "=?x-nonsense?Q?abc?="},
		},
		{
			name: "bad date and address give defaults",
			in:   "Date: yesterday-ish\r\nFrom: not an address at all\r\nMessage-ID: no-brackets@x\r\n\r\n",
			want: Metadata{From: []Address{{Name: "not an address at all"}}, MessageID: "no-brackets@x"},
		},
		{
			name: "header without body",
			in:   "Subject: only\r\n",
			want: Metadata{Subject: "only"},
		},
		{
			name: "LF line ends",
			in:   "Subject: unix\nTo: a@example.org\n\nbody\n",
			want: Metadata{Subject: "unix", To: []Address{{"", "a@example.org"}}},
		},
		{name: "empty", in: "", want: Metadata{}},
		{name: "no header at all", in: "just some text\r\nmore\r\n", bad: true},
		{name: "continuation first", in: " folded\r\nSubject: x\r\n\r\n", bad: true},
		{name: "damage after good fields", in: "Subject: kept\r\nthis line is no field\r\n\r\n", want: Metadata{Subject: "kept"}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if tc.bad != (err != nil) {
				t.Fatalf("error %v, want bad=%v", err, tc.bad)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			tc.want.Size = int64(len(tc.in))
			if got.Subject != tc.want.Subject || got.MessageID != tc.want.MessageID || got.Size != tc.want.Size ||
				!got.Date.Equal(tc.want.Date) || !sameAddrs(got.From, tc.want.From) || !sameAddrs(got.To, tc.want.To) || !sameAddrs(got.Cc, tc.want.Cc) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseErrorIsOneShortLine(t *testing.T) {
	_, err := Parse([]byte(strings.Repeat("x", 5000) + "\r\n\r\n"))
	if err == nil || len(err.Error()) > 200 || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q", err)
	}
}

func TestParseHugeHeaderIsBounded(t *testing.T) {
	in := "Subject: big\r\nX-Pad: " + strings.Repeat("y", maxHeader+10) + "\r\n\r\nbody"
	m, err := Parse([]byte(in))
	if !errors.Is(err, ErrMalformed) || m.Size != int64(len(in)) {
		t.Fatalf("%+v %v", m, err)
	}
}

func sameAddrs(a, b []Address) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
