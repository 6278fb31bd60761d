package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

// Draft is a message given by its parts, as the HTTPS API delivers mail and
// as schema 1 stores kept it.
type Draft struct {
	From        string
	To          []string
	Subject     string
	Date        time.Time
	MessageID   string // without angle brackets
	Body        string // plain text
	Attachments []Attachment
}

// Attachment is a file carried by a Draft.
type Attachment struct {
	Name string
	Data []byte
}

// Compose renders a Draft as RFC 5322 bytes. The output depends on the
// Draft alone (no clock, no randomness, no system MIME tables), so a store
// that renders the same record on replay, on another server or in a later
// version gets the same bytes; a golden test pins them.
func Compose(d Draft) []byte {
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", addressList([]string{d.From}))
	if len(d.To) > 0 {
		header("To", addressList(d.To))
	}
	header("Subject", encodeText(d.Subject))
	header("Date", d.Date.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	if d.MessageID != "" {
		header("Message-ID", "<"+d.MessageID+">")
	}
	header("MIME-Version", "1.0")
	if len(d.Attachments) == 0 {
		writeText(&b, d.Body)
		return b.Bytes()
	}
	boundary := boundaryOf(d)
	header("Content-Type", fmt.Sprintf("multipart/mixed; boundary=%q", boundary))
	b.WriteString("\r\n")
	fmt.Fprintf(&b, "--%s\r\n", boundary)
	writeText(&b, d.Body)
	for _, a := range d.Attachments {
		fmt.Fprintf(&b, "\r\n--%s\r\n", boundary)
		fmt.Fprintf(&b, "Content-Type: %s\r\n", contentType(a.Name))
		fmt.Fprintf(&b, "Content-Disposition: %s\r\n", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
		b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		if enc != "" {
			b.WriteString(enc + "\r\n")
		}
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes()
}

// writeText writes the header and body of a text/plain entity: 7bit when the
// text allows, quoted-printable otherwise.
func writeText(b *bytes.Buffer, text string) {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	if sevenBit(text) {
		b.WriteString("Content-Transfer-Encoding: 7bit\r\n\r\n")
		b.WriteString(text)
	} else {
		b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
		w := quotedprintable.NewWriter(b)
		w.Write([]byte(text))
		w.Close()
	}
	if !strings.HasSuffix(text, "\r\n") {
		b.WriteString("\r\n")
	}
}

func sevenBit(s string) bool {
	for _, line := range strings.Split(s, "\r\n") {
		if len(line) > 998 || strings.ContainsRune(line, '\r') {
			return false
		}
		for i := 0; i < len(line); i++ {
			if line[i] >= 0x80 || line[i] == 0 {
				return false
			}
		}
	}
	return true
}

// encodeText makes header text ASCII with RFC 2047 words where needed.
func encodeText(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return mime.QEncoding.Encode("utf-8", strings.ToValidUTF8(s, "\uFFFD"))
		}
	}
	return s
}

// addressList writes addresses as RFC 5322 does; one that does not parse is
// kept as an encoded display name, so nothing given is lost.
func addressList(list []string) string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if a, err := mail.ParseAddress(s); err == nil {
			out = append(out, a.String())
		} else if utf8.ValidString(s) && s != "" {
			out = append(out, phrase(s)+":;") // an empty group named by the text
		} else {
			out = append(out, "undisclosed-recipients:;")
		}
	}
	return strings.Join(out, ", ")
}

// phrase quotes text so that it is a valid display name whatever it holds.
func phrase(s string) string {
	if enc := encodeText(s); enc != s {
		return enc
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// boundaryOf derives the multipart boundary from the content: it is the
// same on every rendering, and a hash of the parts cannot occur in them.
func boundaryOf(d Draft) string {
	h := sha256.New()
	h.Write([]byte(d.Body))
	for _, a := range d.Attachments {
		fmt.Fprintf(h, "\x00%s\x00%d\x00", a.Name, len(a.Data))
		h.Write(a.Data)
	}
	return "=_exserver_" + hex.EncodeToString(h.Sum(nil))[:24]
}

// contentTypes is a fixed table, not the system's: the rendering must not
// depend on the machine.
var contentTypes = map[string]string{
	".txt": "text/plain", ".csv": "text/csv", ".htm": "text/html", ".html": "text/html",
	".pdf": "application/pdf", ".zip": "application/zip", ".doc": "application/msword",
	".xls": "application/vnd.ms-excel", ".ppt": "application/vnd.ms-powerpoint",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".png":  "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
}

func contentType(name string) string {
	if t, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}
