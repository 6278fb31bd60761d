package imapd

import (
	"context"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"

	"exbackup/exchange/mail"
)

// PublicRoot is the IMAP folder every mailbox sees the organization's
// public folders under (the shared namespace of RFC 2342), when the
// Backend keeps them (mail.PublicFolders): "Public Folders/General" is the
// public folder General. They are read-only: SELECT and EXAMINE, FETCH,
// SEARCH, STATUS and COPY out of them work; STORE, EXPUNGE, MOVE, APPEND
// and folder changes are refused with NO [CANNOT].
const PublicRoot = "Public Folders"

// publicMailbox is the mailbox of the views of public folders: no alias is
// empty.
const publicMailbox = ""

// public answers the public folder an IMAP name means ("" for PublicRoot
// itself), and false for a name of the mailbox's own folders.
func (s *Server) public(name string) (string, bool) {
	if s.pub == nil {
		return "", false
	}
	name = strings.TrimRight(name, string(mail.Delim))
	head, rest, _ := strings.Cut(name, string(mail.Delim))
	if !strings.EqualFold(head, PublicRoot) {
		return "", false
	}
	return rest, true
}

// errPublicReadOnly refuses a change to a public folder.
var errPublicReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
	Text: "Public folders are read-only over IMAP"}

// loadFolder answers a folder of a mailbox, or a public folder for
// publicMailbox.
func loadFolder(c context.Context, be mail.Backend, mailbox, folder string) (mail.Folder, error) {
	if mailbox == publicMailbox {
		pub, ok := be.(mail.PublicFolders)
		if !ok || folder == "" {
			return mail.Folder{}, mail.ErrNoFolder
		}
		return pub.PublicFolder(c, folder)
	}
	return be.Folder(c, mailbox, folder)
}

// message answers a message of the selected folder.
func (ss *session) message(c context.Context, uid mail.UID) ([]byte, error) {
	if ss.sel.mailbox == publicMailbox {
		return ss.s.pub.PublicMessage(c, ss.sel.folder, uid)
	}
	return ss.s.be.Message(c, ss.mailbox, ss.sel.folder, uid)
}

// publicList is the LIST entries of the public folders: PublicRoot, every
// folder and the levels above a folder that are none themselves, which
// cannot be selected.
func (ss *session) publicList(c context.Context) ([]imap.ListData, []string, error) {
	folders, err := ss.s.pub.PublicFolders(c)
	if err != nil {
		return nil, nil, err
	}
	is := map[string]bool{}
	children := map[string]bool{"": len(folders) > 0}
	for _, f := range folders {
		is[f.Name] = true
		parts := strings.Split(f.Name, string(mail.Delim))
		for i := 1; i < len(parts); i++ {
			children[strings.Join(parts[:i], string(mail.Delim))] = true
		}
	}
	names := []string{""}
	for n := range is {
		names = append(names, n)
	}
	for n := range children {
		if n != "" && !is[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []imap.ListData
	var paths []string
	for _, n := range names {
		d := imap.ListData{Mailbox: PublicRoot, Delim: mail.Delim}
		if n != "" {
			d.Mailbox += string(mail.Delim) + n
		}
		if !is[n] {
			d.Attrs = append(d.Attrs, imap.MailboxAttrNoSelect)
		}
		if children[n] {
			d.Attrs = append(d.Attrs, imap.MailboxAttrHasChildren)
		} else {
			d.Attrs = append(d.Attrs, imap.MailboxAttrHasNoChildren)
		}
		out = append(out, d)
		paths = append(paths, n)
	}
	return out, paths, nil
}
