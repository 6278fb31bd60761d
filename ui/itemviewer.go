package ui

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // bodies in any charset read as UTF-8
	gomail "github.com/emersion/go-message/mail"

	"exbackup/engine"
	"exbackup/exchange"
)

// The message viewer: a message or post of an opened set, read-only, in a
// window of its own: its headers, its first plain-text part and the names
// of its attachments. HTML is not rendered.

// maxViewedBody bounds the text shown: a label of megabytes costs every
// frame, and the export has the whole message.
const maxViewedBody = 256 << 10

// viewedMessage is a message as the viewer shows it.
type viewedMessage struct {
	From, To, Cc, Date, Subject string
	Body                        string
	Attachments                 []string
	Note                        string // what is not shown, and why
}

// parseViewed reads a message's RFC 5322 bytes; sum fills what the
// headers do not say.
func parseViewed(data []byte, sum exchange.ItemSummary) viewedMessage {
	v := viewedMessage{From: sum.From, To: strings.Join(sum.To, ", "), Subject: sum.Subject}
	if !sum.Date.IsZero() {
		v.Date = ntDateTime(sum.Date)
	}
	mr, err := gomail.CreateReader(bytes.NewReader(data))
	if err != nil && !gomessage.IsUnknownCharset(err) && !gomessage.IsUnknownEncoding(err) {
		v.Body = clipBody(string(data), &v)
		v.Note = "The message is not well-formed MIME: its raw text is shown."
		return v
	}
	defer mr.Close()
	h := mr.Header
	if s := addressList(h, "From"); s != "" {
		v.From = s
	}
	if s := addressList(h, "To"); s != "" {
		v.To = s
	}
	v.Cc = addressList(h, "Cc")
	if t, err := h.Date(); err == nil && !t.IsZero() {
		v.Date = ntDateTime(t)
	}
	if s, err := h.Subject(); err == nil && s != "" {
		v.Subject = s
	}
	found := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !gomessage.IsUnknownCharset(err) && !gomessage.IsUnknownEncoding(err) {
			v.Note = "Part of the message could not be read: " + oneLine(err)
			break
		}
		if part == nil {
			break
		}
		switch ph := part.Header.(type) {
		case *gomail.AttachmentHeader:
			name, _ := ph.Filename()
			v.Attachments = append(v.Attachments, nameOr(name))
		case *gomail.InlineHeader:
			ct, params, _ := ph.ContentType()
			switch {
			case !found && (ct == "text/plain" || ct == ""):
				b, err := io.ReadAll(io.LimitReader(part.Body, maxViewedBody+1))
				if err != nil {
					v.Note = "The text could not be read whole: " + oneLine(err)
				}
				v.Body = clipBody(string(b), &v)
				found = true
			case params["name"] != "":
				v.Attachments = append(v.Attachments, params["name"])
			}
		}
	}
	if !found && v.Note == "" {
		v.Note = "The message has no plain-text part (an HTML message is not shown here: export it to read it in a mail program)."
	}
	return v
}

func nameOr(name string) string {
	if name == "" {
		return "(unnamed attachment)"
	}
	return name
}

func clipBody(s string, v *viewedMessage) string {
	s = strings.ReplaceAll(s, "\r\n", "\n") // a label draws a CR as a glyph of its own
	if len(s) > maxViewedBody {
		v.Note = fmt.Sprintf("Only the first %s of the text are shown: export the message to read all of it.", humanBytes(maxViewedBody))
		return strings.ToValidUTF8(s[:maxViewedBody], "")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// addressList is a header's addresses as a person reads them.
func addressList(h gomail.Header, key string) string {
	list, err := h.AddressList(key)
	if err != nil || len(list) == 0 {
		raw := h.Get(key)
		if dec, err := new(mime.WordDecoder).DecodeHeader(raw); err == nil {
			return dec
		}
		return raw
	}
	out := make([]string, len(list))
	for i, a := range list {
		if a.Name != "" {
			out[i] = fmt.Sprintf("%s <%s>", a.Name, a.Address)
		} else {
			out[i] = a.Address
		}
	}
	return strings.Join(out, ", ")
}

// viewer is one open message window.
type viewer struct {
	win  fyne.Window
	msg  viewedMessage
	path string
	body *widget.Label
}

// openViewer reads a message off the UI goroutine and opens it in a
// window of its own.
func (c *Console) openViewer(src itemSource, n engine.ItemNode) {
	path := n.Path
	c.statusBar.setActivity("Opening the message…")
	c.goDo(func() {
		data, sum, err := src.Open(path)
		c.do(func() {
			c.statusBar.setActivity("")
			if err != nil {
				c.info("Open Message", oneLine(err))
				return
			}
			c.showViewer(path, parseViewed(data, sum))
		})
	})
}

func (c *Console) showViewer(path string, msg viewedMessage) *viewer {
	v := &viewer{msg: msg, path: path}
	title := msg.Subject
	if title == "" {
		title = "(no subject)"
	}
	v.win = c.app.NewWindow(title + " \u2014 Message")
	v.win.SetIcon(iconApp)
	dash := func(s string) string {
		if s == "" {
			return "\u2014"
		}
		return s
	}
	fields := []fyne.CanvasObject{
		fieldLabel("From:"), value(dash(msg.From)),
		fieldLabel("To:"), value(dash(msg.To)),
	}
	if msg.Cc != "" {
		fields = append(fields, fieldLabel("Cc:"), value(msg.Cc))
	}
	fields = append(fields,
		fieldLabel("Date:"), value(dash(msg.Date)),
		fieldLabel("Subject:"), value(dash(msg.Subject)),
	)
	if len(msg.Attachments) > 0 {
		fields = append(fields, fieldLabel("Attachments:"), value(strings.Join(msg.Attachments, ", ")))
	}
	fields = append(fields, fieldLabel("Location:"), value(itemLocation(path)))
	head := container.NewVBox(form(fields...), widget.NewSeparator())
	v.body = widget.NewLabel(msg.Body)
	v.body.Wrapping = fyne.TextWrapWord
	v.body.Selectable = true
	var foot fyne.CanvasObject
	if msg.Note != "" {
		n := note(msg.Note)
		n.Wrapping = fyne.TextWrapWord
		foot = n
	}
	closeBtn := widget.NewButton("Close", func() { v.win.Close() })
	bottom := container.NewBorder(nil, nil, nil, closeBtn, foot)
	v.win.SetContent(container.NewBorder(head, bottom, nil, nil, container.NewVScroll(v.body)))
	v.win.Canvas().SetOnTypedKey(func(ev *fyne.KeyEvent) {
		if ev.Name == fyne.KeyEscape {
			v.win.Close()
		}
	})
	size := c.win.Canvas().Size()
	v.win.Resize(fyne.NewSize(min(720, max(480, size.Width*0.7)), min(560, max(400, size.Height*0.8))))
	v.win.Show()
	c.viewers = append(c.viewers, v)
	v.win.SetOnClosed(func() {
		for i, o := range c.viewers {
			if o == v {
				c.viewers = append(c.viewers[:i], c.viewers[i+1:]...)
				break
			}
		}
	})
	return v
}
