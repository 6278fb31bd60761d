package mail

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
)

var draft = Draft{
	From:      "Carol Smith <carol@elsewhere.net>",
	To:        []string{"alice@example.org", "Bob Müller <bob@example.org>"},
	Subject:   "Quarterly figures – Übersicht",
	Date:      time.Date(2026, 12, 1, 10, 30, 0, 0, time.FixedZone("CET", 3600)),
	MessageID: "42.alice@exserver.invalid",
	Body:      "Hello Alice,\nthe figures are attached.\nGrüße\n",
	Attachments: []Attachment{
		{Name: "q4.pdf", Data: []byte("%PDF-1.4 not really")},
		{Name: "notes.bin", Data: bytes.Repeat([]byte{0, 1, 2, 255}, 30)},
	},
}

// golden pins the rendering: stores re-render schema 1 records on replay
// and migration, so a change here changes what a replay produces.
const golden = "From: \"Carol Smith\" <carol@elsewhere.net>\r\n" +
	"To: <alice@example.org>, =?utf-8?q?Bob_M=C3=BCller?= <bob@example.org>\r\n" +
	"Subject: =?utf-8?q?Quarterly_figures_=E2=80=93_=C3=9Cbersicht?=\r\n" +
	"Date: Tue, 01 Dec 2026 09:30:00 +0000\r\n" +
	"Message-ID: <42.alice@exserver.invalid>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"=_exserver_BOUNDARY\"\r\n" +
	"\r\n" +
	"--=_exserver_BOUNDARY\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Hello Alice,\r\nthe figures are attached.\r\nGr=C3=BC=C3=9Fe\r\n" +
	"\r\n--=_exserver_BOUNDARY\r\n" +
	"Content-Type: application/pdf\r\n" +
	"Content-Disposition: attachment; filename=q4.pdf\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\n" +
	"JVBERi0xLjQgbm90IHJlYWxseQ==\r\n" +
	"\r\n--=_exserver_BOUNDARY\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Disposition: attachment; filename=notes.bin\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\n" +
	"AAEC/wABAv8AAQL/AAEC/wABAv8AAQL/AAEC/wABAv8AAQL/AAEC/wABAv8AAQL/AAEC/wABAv8A\r\n" +
	"AQL/AAEC/wABAv8AAQL/AAEC/wABAv8AAQL/AAEC/wABAv8AAQL/AAEC/wABAv8AAQL/AAEC/wAB\r\n" +
	"Av8AAQL/\r\n" +
	"\r\n--=_exserver_BOUNDARY--\r\n"

func TestComposeGolden(t *testing.T) {
	got := string(Compose(draft))
	want := strings.ReplaceAll(golden, "=_exserver_BOUNDARY", boundaryOf(draft))
	if got != want {
		t.Fatalf("rendering changed:\n%s\nwant\n%s", got, want)
	}
	if string(Compose(draft)) != got {
		t.Fatal("two renderings differ")
	}
}

func TestComposeReadsBack(t *testing.T) {
	data := Compose(draft)
	m, err := Parse(data)
	if err != nil || m.Subject != draft.Subject || m.MessageID != draft.MessageID || !m.Date.Equal(draft.Date) ||
		len(m.To) != 2 || m.To[1].Name != "Bob Müller" || m.From[0].Address != "carol@elsewhere.net" {
		t.Fatalf("%+v %v", m, err)
	}
	e, err := gomessage.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mr := e.MultipartReader()
	var parts [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		parts = append(parts, b)
	}
	if len(parts) != 3 || string(parts[0]) != strings.ReplaceAll(draft.Body, "\n", "\r\n") ||
		!bytes.Equal(parts[1], draft.Attachments[0].Data) || !bytes.Equal(parts[2], draft.Attachments[1].Data) {
		t.Fatalf("parts read back: %q", parts)
	}
}

func TestComposePlainAndOddAddresses(t *testing.T) {
	got := string(Compose(Draft{From: "not an address", To: []string{"a@example.org"}, Subject: "hi", Date: time.Unix(0, 0), Body: "plain"}))
	want := "From: \"not an address\":;\r\nTo: <a@example.org>\r\nSubject: hi\r\nDate: Thu, 01 Jan 1970 00:00:00 +0000\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nplain\r\n"
	if got != want {
		t.Fatalf("%q\nwant\n%q", got, want)
	}
	if _, err := Parse([]byte(got)); err != nil {
		t.Fatal(err)
	}
}
