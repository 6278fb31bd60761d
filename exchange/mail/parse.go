package mail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	// Registers the legacy charsets (ISO-8859-*, Windows-125x, KOI8, GB2312,
	// Shift_JIS, …) that RFC 2047 encoded words name.
	_ "github.com/emersion/go-message/charset"
)

// Metadata is what a store indexes of a message, taken from its header.
type Metadata struct {
	MessageID string    // without the angle brackets; empty when there is none
	From      []Address // usually one
	To        []Address
	Cc        []Address
	Subject   string    // RFC 2047 decoded, valid UTF-8
	Date      time.Time // the Date: field; zero when missing or unreadable
	Size      int64     // of the whole message
}

// Address is a mailbox in a header field.
type Address struct {
	Name    string // display name, decoded
	Address string // local@domain; empty when the field held only a name
}

func (a Address) String() string {
	if a.Name == "" {
		return a.Address
	}
	return fmt.Sprintf("%s <%s>", a.Name, a.Address)
}

// ErrMalformed: the header of a message could not be read whole. Parse still
// answers what it could read.
var ErrMalformed = errors.New("malformed message header")

// maxHeader bounds the header Parse reads: past it, the rest is body as far
// as the metadata is concerned.
const maxHeader = 1 << 20

// Parse reads the metadata of an RFC 5322 message. A message is stored as it
// came even when its header is broken, so Parse never fails outright: fields
// it cannot read keep their zero value, and a header that cannot be read to
// its end gives ErrMalformed (wrapped, with the reason) beside what was read
// before the damage. Header fields in raw 8-bit are taken as UTF-8 when they
// are, and as ISO-8859-1 otherwise, which is what such mail most often is.
func Parse(data []byte) (Metadata, error) {
	m := Metadata{Size: int64(len(data))}
	head := data
	if len(head) > maxHeader {
		head = head[:maxHeader]
	}
	h, herr := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(head)))
	truncated := len(data) > maxHeader && !bytes.Contains(head, []byte("\n\n")) && !bytes.Contains(head, []byte("\n\r\n"))
	switch {
	case truncated:
		herr = fmt.Errorf("%w: the header is longer than %d bytes", ErrMalformed, maxHeader)
	case herr == nil, errors.Is(herr, io.EOF):
		herr = nil // io.EOF: a header without a body
	default:
		why := strings.TrimPrefix(herr.Error(), "message: ")
		if len(why) > 100 {
			why = why[:100] + "…"
		}
		herr = fmt.Errorf("%w: %s", ErrMalformed, validUTF8(why))
	}
	mh := gomail.Header{Header: message.Header{Header: h}}

	if id, err := mh.MessageID(); err == nil {
		m.MessageID = id
	} else {
		m.MessageID = strings.Trim(strings.TrimSpace(fieldText(h, "Message-Id")), "<>")
	}
	m.From = addresses(mh, "From")
	m.To = addresses(mh, "To")
	m.Cc = addresses(mh, "Cc")
	if s, err := mh.Subject(); err == nil {
		m.Subject = validUTF8(s)
	} else {
		m.Subject = fieldText(h, "Subject")
	}
	if d, err := mh.Date(); err == nil {
		m.Date = d
	}
	return m, herr
}

// addresses parses an address list; a list that does not parse as one keeps
// its text as a single name, so that a listing still shows something.
func addresses(h gomail.Header, key string) []Address {
	if !h.Has(key) {
		return nil
	}
	list, err := h.AddressList(key)
	if err != nil {
		if t := strings.TrimSpace(fieldText(h.Header.Header, key)); t != "" {
			return []Address{{Name: t}}
		}
		return nil
	}
	out := make([]Address, 0, len(list))
	for _, a := range list {
		out = append(out, Address{Name: validUTF8(a.Name), Address: validUTF8(a.Address)})
	}
	return out
}

// fieldText is a field's value decoded as far as it goes.
func fieldText(h textproto.Header, key string) string {
	mh := gomail.Header{Header: message.Header{Header: h}}
	if s, err := mh.Text(key); err == nil {
		return validUTF8(s)
	}
	return validUTF8(h.Get(key))
}

// validUTF8 takes bytes that are not UTF-8 as ISO-8859-1.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(rune(s[i]))
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
