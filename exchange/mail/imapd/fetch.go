package imapd

import (
	"bufio"
	"bytes"
	"errors"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"exbackup/exchange/mail"
)

func (ss *session) Fetch(w *imapserver.FetchWriter, set imap.NumSet, options *imap.FetchOptions) error {
	ts := ss.resolve(set)
	c, cancel := ctx()
	defer cancel()

	// Reading a body section that is not a PEEK sets \Seen (RFC 3501
	// 6.4.5), and the response then shows the new flags.
	seen := false
	for _, bs := range options.BodySection {
		seen = seen || !bs.Peek
	}
	flagsChanged := false
	if seen && !ss.readOnly {
		var unseen []mail.UID
		for i := range ts {
			if !hasFlag(ts[i].info.Flags, mail.FlagSeen) {
				unseen = append(unseen, ts[i].info.UID)
				// A fresh slice: the old one is shared with the view.
				f := ts[i].info.Flags
				ts[i].info.Flags = append(f[:len(f):len(f)], mail.FlagSeen)
			}
		}
		if len(unseen) > 0 {
			if err := ss.s.be.SetFlags(c, ss.mailbox, ss.sel.folder, unseen, mail.FlagsAdd, []string{mail.FlagSeen}); err != nil {
				return ss.answer(err, "fetch")
			}
			ss.sel.refresh(ss.s.be, ss.st)
			flagsChanged = true
		}
	}

	needData := options.Envelope || options.BodyStructure != nil || len(options.BodySection) > 0 ||
		len(options.BinarySection) > 0 || len(options.BinarySectionSize) > 0
	for _, t := range ts {
		var data []byte
		if needData {
			var err error
			data, err = ss.message(c, t.info.UID)
			if errors.Is(err, mail.ErrNoMessage) {
				continue // expunged by another session; its EXPUNGE follows
			}
			if err != nil {
				return ss.answer(err, "fetch")
			}
		}
		if err := writeMessage(w.CreateMessage(t.seq), t.info, data, options, flagsChanged); err != nil {
			return err
		}
	}
	return nil
}

func writeMessage(w *imapserver.FetchResponseWriter, m mail.MessageInfo, data []byte, options *imap.FetchOptions, flags bool) error {
	w.WriteUID(imap.UID(m.UID))
	if options.Flags || flags {
		w.WriteFlags(imapFlags(m.Flags))
	}
	if options.InternalDate {
		w.WriteInternalDate(m.InternalDate)
	}
	if options.RFC822Size {
		w.WriteRFC822Size(m.Size)
	}
	if options.Envelope {
		w.WriteEnvelope(envelope(data))
	}
	if options.BodyStructure != nil {
		w.WriteBodyStructure(imapserver.ExtractBodyStructure(bytes.NewReader(data)))
	}
	for _, bs := range options.BodySection {
		buf := imapserver.ExtractBodySection(bytes.NewReader(data), bs)
		if err := writeSection(w.WriteBodySection(bs, int64(len(buf))), buf); err != nil {
			return err
		}
	}
	for _, bs := range options.BinarySection {
		buf := imapserver.ExtractBinarySection(bytes.NewReader(data), bs)
		if err := writeSection(w.WriteBinarySection(bs, int64(len(buf))), buf); err != nil {
			return err
		}
	}
	for _, bss := range options.BinarySectionSize {
		w.WriteBinarySectionSize(bss, imapserver.ExtractBinarySectionSize(bytes.NewReader(data), bss))
	}
	return w.Close()
}

func writeSection(wc interface {
	Write([]byte) (int, error)
	Close() error
}, buf []byte) error {
	_, werr := wc.Write(buf)
	cerr := wc.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

func envelope(data []byte) *imap.Envelope {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(data)))
	if err != nil && h.Len() == 0 {
		return &imap.Envelope{}
	}
	return imapserver.ExtractEnvelope(h)
}
