package mail

import (
	"bytes"
	"io"

	gomail "github.com/emersion/go-message/mail"
)

// AttachmentNames lists the file names of a message's attachments, in
// order: parts with a Content-Disposition of attachment, or with a file
// name. It reads the message's MIME structure, not the attachments'
// contents, and answers what it could read of a damaged message.
func AttachmentNames(data []byte) []string {
	r, err := gomail.CreateReader(bytes.NewReader(data))
	if r == nil {
		return nil
	}
	_ = err // an unknown charset or encoding still lets the parts be read
	var names []string
	for {
		p, err := r.NextPart()
		if err == io.EOF || (err != nil && p == nil) {
			return names
		}
		if h, ok := p.Header.(*gomail.AttachmentHeader); ok {
			if name, err := h.Filename(); err == nil && name != "" {
				names = append(names, name)
			} else {
				names = append(names, "(unnamed)")
			}
		}
	}
}
