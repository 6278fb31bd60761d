package imapd

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"

	"exbackup/exchange/mail"
)

func (ss *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	ts := ss.resolve(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}})
	c, cancel := ctx()
	defer cancel()
	var (
		seqs imap.SeqSet
		uids imap.UIDSet
		data imap.SearchData
	)
	for _, t := range ts {
		m := matcher{t: t, load: func() ([]byte, error) { return ss.message(c, t.info.UID) }}
		ok, err := m.match(criteria)
		if err != nil {
			return nil, ss.answer(err, "search")
		}
		if !ok {
			continue
		}
		num := t.seq
		if kind == imapserver.NumKindUID {
			num = uint32(t.info.UID)
		}
		seqs.AddNum(t.seq)
		uids.AddNum(imap.UID(t.info.UID))
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		data.Max = max(data.Max, num)
		data.Count++
	}
	data.All = seqs
	if kind == imapserver.NumKindUID {
		data.All = uids
	}
	return &data, nil
}

// matcher tests one message against SEARCH criteria, reading the message
// only if a criterion needs its header or body, and then once.
type matcher struct {
	t    target
	load func() ([]byte, error)
	data []byte
	err  error
	done bool
}

func (m *matcher) bytes() []byte {
	if !m.done {
		m.data, m.err = m.load()
		m.done = true
	}
	return m.data
}

func (m *matcher) match(c *imap.SearchCriteria) (bool, error) {
	ok := m.matchCheap(c) && m.matchContent(c)
	if errors.Is(m.err, mail.ErrNoMessage) {
		return false, nil // expunged meanwhile
	}
	if m.err != nil {
		return false, m.err
	}
	return ok, nil
}

// matchCheap checks what the folder listing holds.
func (m *matcher) matchCheap(c *imap.SearchCriteria) bool {
	info := m.t.info
	for _, s := range c.SeqNum {
		if !s.Contains(m.t.seq) {
			return false
		}
	}
	for _, s := range c.UID {
		if !s.Contains(imap.UID(info.UID)) {
			return false
		}
	}
	if !inDates(info.InternalDate, c.Since, c.Before) {
		return false
	}
	for _, f := range c.Flag {
		if !hasFlag(info.Flags, string(f)) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if hasFlag(info.Flags, string(f)) {
			return false
		}
	}
	if c.Larger > 0 && info.Size <= c.Larger || c.Smaller > 0 && info.Size >= c.Smaller {
		return false
	}
	return true
}

// matchContent checks the header and body criteria, and the NOT and OR
// branches, which may need either.
func (m *matcher) matchContent(c *imap.SearchCriteria) bool {
	if len(c.Header) > 0 || !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		e := m.entity()
		if e == nil {
			return false
		}
		h := gomail.Header{Header: e.Header}
		for _, f := range c.Header {
			if !fieldsContain(h.FieldsByKey(f.Key), f.Value) {
				return false
			}
		}
		if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
			d, err := h.Date()
			if err != nil || d.IsZero() || !inDates(d, c.SentSince, c.SentBefore) {
				return false
			}
		}
	}
	for _, t := range c.Body {
		if e := m.entity(); e == nil || !entityContains(e, t, false) {
			return false
		}
	}
	for _, t := range c.Text {
		if e := m.entity(); e == nil || !entityContains(e, t, true) {
			return false
		}
	}
	for i := range c.Not {
		if m.matchCheap(&c.Not[i]) && m.matchContent(&c.Not[i]) {
			return false
		}
	}
	for _, or := range c.Or {
		if !(m.matchCheap(&or[0]) && m.matchContent(&or[0])) && !(m.matchCheap(&or[1]) && m.matchContent(&or[1])) {
			return false
		}
	}
	return true
}

// entity parses the message afresh for each use, since reading a body
// consumes it.
func (m *matcher) entity() *gomessage.Entity {
	data := m.bytes()
	if m.err != nil {
		return nil
	}
	// An unknown charset still gives an entity, with its body undecoded.
	e, _ := gomessage.Read(bytes.NewReader(data))
	return e
}

// inDates compares dates only, as RFC 3501 has it for SINCE and BEFORE.
func inDates(t, since, before time.Time) bool {
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !since.IsZero() && day.Before(since) {
		return false
	}
	if !before.IsZero() && !day.Before(before) {
		return false
	}
	return true
}

func fieldsContain(fs gomessage.HeaderFields, value string) bool {
	if value == "" {
		return fs.Len() > 0
	}
	value = strings.ToLower(value)
	for fs.Next() {
		t, err := fs.Text()
		if err != nil {
			t = fs.Value()
		}
		if strings.Contains(strings.ToLower(t), value) {
			return true
		}
	}
	return false
}

func entityContains(e *gomessage.Entity, text string, header bool) bool {
	if text == "" {
		return true
	}
	if header && fieldsContain(e.Header.Fields(), text) {
		return true
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			p, err := mr.NextPart()
			if err != nil {
				return false
			}
			if entityContains(p, text, header) {
				return true
			}
		}
	}
	t, _, _ := e.Header.ContentType()
	if t != "" && !strings.HasPrefix(t, "text/") && !strings.HasPrefix(t, "message/") {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(e.Body, 64<<20))
	if err != nil && len(body) == 0 {
		return false
	}
	return bytes.Contains(bytes.ToLower(body), bytes.ToLower([]byte(text)))
}
