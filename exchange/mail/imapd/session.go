package imapd

import (
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"exbackup/exchange/mail"
)

// session is one client connection.
type session struct {
	s       *Server
	remote  string
	mailbox string // alias, once logged in

	sel      *view
	st       *imapserver.SessionTracker
	readOnly bool
}

var (
	_ imapserver.SessionIMAP4rev2   = (*session)(nil)
	_ imapserver.SessionAppendLimit = (*session)(nil)
)

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Minute)
}

// answer turns a Backend error into what the client is told. Anything the
// front end does not recognise is a store failure: the client hears
// UNAVAILABLE and the log hears the details.
func (ss *session) answer(err error, what string) error {
	if err == nil {
		return nil
	}
	no := func(code imap.ResponseCode, text string) error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	switch {
	case errors.Is(err, mail.ErrNoFolder):
		return no(imap.ResponseCodeNonExistent, "No such folder")
	case errors.Is(err, mail.ErrFolderExists):
		return no(imap.ResponseCodeAlreadyExists, "Folder already exists")
	case errors.Is(err, mail.ErrFolderInUse):
		return no(imap.ResponseCodeCannot, "That folder cannot be deleted")
	case errors.Is(err, mail.ErrNoMessage):
		return no(imap.ResponseCodeNonExistent, "The message was expunged")
	}
	ss.s.log.Warn("imap: "+what+" failed", "mailbox", ss.mailbox, "err", err)
	return no(imap.ResponseCodeUnavailable, "The mail store cannot do that now; try again later")
}

func (ss *session) Close() error {
	ss.unselect()
	return nil
}

func (ss *session) Login(username, password string) error {
	t := ss.s.cfg.Throttle
	if d := t.Delay(ss.remote); d > 0 {
		time.Sleep(d)
	}
	c, cancel := ctx()
	defer cancel()
	alias, err := ss.s.be.Authenticate(c, username, password)
	if errors.Is(err, mail.ErrAuthFailed) {
		t.Fail(ss.remote)
		return imapserver.ErrAuthFailed
	}
	if err != nil {
		return ss.answer(err, "login")
	}
	t.Succeed(ss.remote)
	ss.mailbox = alias
	return nil
}

func (ss *session) AppendLimit() uint32 { return ss.s.cfg.AppendLimit }

func (ss *session) Namespace() (*imap.NamespaceData, error) {
	ns := &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Delim: mail.Delim}}}
	if ss.s.pub != nil {
		ns.Shared = []imap.NamespaceDescriptor{{Prefix: PublicRoot + string(mail.Delim), Delim: mail.Delim}}
	}
	return ns, nil
}

func (ss *session) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	ss.unselect()
	mailbox, folder := ss.mailbox, storeName(name)
	readOnly := options.ReadOnly
	if pf, ok := ss.s.public(name); ok {
		// Read-only whatever was asked; go-imap still says READ-WRITE
		// to a SELECT, but no flag is permanent and changes get NO.
		mailbox, folder, readOnly = publicMailbox, pf, true
	}
	v, err := ss.s.acquire(mailbox, folder)
	if err != nil {
		return nil, ss.answer(err, "select")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	ss.sel, ss.st, ss.readOnly = v, v.tracker.NewSession(), readOnly
	var first uint32
	for i, m := range v.list {
		if !hasFlag(m.Flags, mail.FlagSeen) {
			first = uint32(i + 1)
			break
		}
	}
	flags := []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft}
	perm := append(flags[:5:5], imap.FlagWildcard)
	if readOnly {
		perm = nil
	}
	return &imap.SelectData{
		Flags:             flags,
		PermanentFlags:    perm,
		NumMessages:       uint32(len(v.list)),
		FirstUnseenSeqNum: first,
		UIDNext:           imap.UID(v.uidNext),
		UIDValidity:       v.validity,
	}, nil
}

func (ss *session) Unselect() error {
	ss.unselect()
	return nil
}

func (ss *session) unselect() {
	if ss.sel == nil {
		return
	}
	ss.sel.mu.Lock()
	ss.st.Close()
	ss.sel.mu.Unlock()
	ss.s.release(ss.sel)
	ss.sel, ss.st = nil, nil
}

func (ss *session) Create(name string, options *imap.CreateOptions) error {
	if _, ok := ss.s.public(name); ok {
		return errPublicReadOnly
	}
	c, cancel := ctx()
	defer cancel()
	folder := storeName(name)
	// RFC 3501 6.3.3: the superior levels a new name needs are made too.
	parts := strings.Split(folder, string(mail.Delim))
	for i := 1; i < len(parts); i++ {
		err := ss.s.be.CreateFolder(c, ss.mailbox, strings.Join(parts[:i], string(mail.Delim)))
		if err != nil && !errors.Is(err, mail.ErrFolderExists) {
			return ss.answer(err, "create")
		}
	}
	return ss.answer(ss.s.be.CreateFolder(c, ss.mailbox, folder), "create")
}

func (ss *session) Delete(name string) error {
	if _, ok := ss.s.public(name); ok {
		return errPublicReadOnly
	}
	c, cancel := ctx()
	defer cancel()
	return ss.answer(ss.s.be.DeleteFolder(c, ss.mailbox, storeName(name)), "delete")
}

func (ss *session) Rename(name, newName string, options *imap.RenameOptions) error {
	_, from := ss.s.public(name)
	_, to := ss.s.public(newName)
	if from || to {
		return errPublicReadOnly
	}
	c, cancel := ctx()
	defer cancel()
	return ss.answer(ss.s.be.RenameFolder(c, ss.mailbox, storeName(name), storeName(newName)), "rename")
}

// Every folder counts as subscribed: the store keeps no subscriptions, and
// a client that hides unsubscribed folders should still see them all.
func (ss *session) Subscribe(name string) error   { return nil }
func (ss *session) Unsubscribe(name string) error { return nil }

// specialUse marks Exchange's standard folders for clients (RFC 6154).
var specialUse = map[string]imap.MailboxAttr{
	"Sent Items":    imap.MailboxAttrSent,
	"Deleted Items": imap.MailboxAttrTrash,
	"Drafts":        imap.MailboxAttrDrafts,
	"Junk E-mail":   imap.MailboxAttrJunk,
}

func (ss *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: mail.Delim})
	}
	c, cancel := ctx()
	defer cancel()
	folders, err := ss.s.be.Folders(c, ss.mailbox)
	if err != nil {
		return ss.answer(err, "list")
	}
	children := map[string]bool{}
	for _, f := range folders {
		if i := strings.LastIndexByte(f.Name, mail.Delim); i >= 0 {
			children[f.Name[:i]] = true
		}
	}
	sort.Slice(folders, func(i, j int) bool { return imapName(folders[i].Name) < imapName(folders[j].Name) })
	for _, f := range folders {
		name := imapName(f.Name)
		if !slices.ContainsFunc(patterns, func(p string) bool { return imapserver.MatchList(name, mail.Delim, ref, p) }) {
			continue
		}
		use, special := specialUse[f.Name]
		if options.SelectSpecialUse && !special {
			continue
		}
		d := imap.ListData{Mailbox: name, Delim: mail.Delim}
		if children[f.Name] {
			d.Attrs = append(d.Attrs, imap.MailboxAttrHasChildren)
		} else {
			d.Attrs = append(d.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if options.SelectSubscribed || options.ReturnSubscribed {
			d.Attrs = append(d.Attrs, imap.MailboxAttrSubscribed)
		}
		if special {
			d.Attrs = append(d.Attrs, use)
		}
		if options.ReturnStatus != nil {
			if d.Status, err = ss.status(c, ss.mailbox, f.Name, options.ReturnStatus); err != nil {
				return err
			}
		}
		if err := w.WriteList(&d); err != nil {
			return err
		}
	}
	if ss.s.pub == nil || options.SelectSpecialUse {
		return nil
	}
	list, paths, err := ss.publicList(c)
	if err != nil {
		return ss.answer(err, "list")
	}
	for i, d := range list {
		if !slices.ContainsFunc(patterns, func(p string) bool { return imapserver.MatchList(d.Mailbox, mail.Delim, ref, p) }) {
			continue
		}
		if options.SelectSubscribed || options.ReturnSubscribed {
			d.Attrs = append(d.Attrs, imap.MailboxAttrSubscribed)
		}
		if options.ReturnStatus != nil && !slices.Contains(d.Attrs, imap.MailboxAttrNoSelect) {
			if d.Status, err = ss.status(c, publicMailbox, paths[i], options.ReturnStatus); err != nil {
				return err
			}
		}
		if err := w.WriteList(&d); err != nil {
			return err
		}
	}
	return nil
}

func (ss *session) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	c, cancel := ctx()
	defer cancel()
	if pf, ok := ss.s.public(name); ok {
		return ss.status(c, publicMailbox, pf, options)
	}
	return ss.status(c, ss.mailbox, storeName(name), options)
}

func (ss *session) status(c context.Context, mailbox, folder string, options *imap.StatusOptions) (*imap.StatusData, error) {
	f, err := loadFolder(c, ss.s.be, mailbox, folder)
	if err != nil {
		return nil, ss.answer(err, "status")
	}
	d := &imap.StatusData{Mailbox: imapName(folder)}
	if mailbox == publicMailbox {
		d.Mailbox = PublicRoot + string(mail.Delim) + folder
	}
	count := func(flag string, want bool) *uint32 {
		var n uint32
		for _, m := range f.List {
			if hasFlag(m.Flags, flag) == want {
				n++
			}
		}
		return &n
	}
	if options.NumMessages {
		n := uint32(len(f.List))
		d.NumMessages = &n
	}
	if options.UIDNext {
		d.UIDNext = imap.UID(f.UIDNext)
	}
	if options.UIDValidity {
		d.UIDValidity = f.UIDValidity
	}
	if options.NumUnseen {
		d.NumUnseen = count(mail.FlagSeen, false)
	}
	if options.NumDeleted {
		d.NumDeleted = count(mail.FlagDeleted, true)
	}
	if options.NumRecent {
		var zero uint32
		d.NumRecent = &zero
	}
	if options.Size {
		var size int64
		for _, m := range f.List {
			size += m.Size
		}
		d.Size = &size
	}
	return d, nil
}

func (ss *session) Append(name string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	if _, ok := ss.s.public(name); ok {
		return nil, errPublicReadOnly
	}
	if r.Size() > int64(ss.s.cfg.AppendLimit) {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "Message is too large"}
	}
	data := make([]byte, r.Size())
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, err
	}
	date := options.Time
	if date.IsZero() {
		date = time.Now()
	}
	c, cancel := ctx()
	defer cancel()
	folder := storeName(name)
	validity, uid, err := ss.s.be.Append(c, ss.mailbox, folder, data, storeFlags(options.Flags), date)
	if errors.Is(err, mail.ErrNoFolder) {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such folder"}
	}
	if err != nil {
		return nil, ss.answer(err, "append")
	}
	ss.touch(folder)
	return &imap.AppendData{UID: imap.UID(uid), UIDValidity: validity}, nil
}

// touch refreshes the selected view after this session changed folder,
// so its own next response already shows the change.
func (ss *session) touch(folder string) {
	if ss.sel != nil && ss.sel.folder == folder {
		ss.sel.refresh(ss.s.be, ss.st)
	}
}

func (ss *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if ss.sel == nil {
		return nil
	}
	return ss.st.Poll(w, allowExpunge)
}

func (ss *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if ss.sel == nil {
		<-stop
		return nil
	}
	return ss.st.Idle(w, stop)
}

// target is a message a command names, with its number as the client knows
// it.
type target struct {
	seq  uint32
	info mail.MessageInfo
}

// resolve answers the messages a set names, in order. "*" is the highest
// number the folder has; a message the client has not been told of yet is
// left out.
func (ss *session) resolve(set imap.NumSet) []target {
	v := ss.sel
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []target
	switch set := set.(type) {
	case imap.SeqSet:
		set = staticSeq(set, uint32(len(v.list)))
		for i, m := range v.list {
			if seq := ss.st.EncodeSeqNum(uint32(i + 1)); seq != 0 && set.Contains(seq) {
				out = append(out, target{seq, m})
			}
		}
	case imap.UIDSet:
		var max imap.UID
		if len(v.list) > 0 {
			max = imap.UID(v.list[len(v.list)-1].UID)
		}
		set = staticUID(set, max)
		for i, m := range v.list {
			if !set.Contains(imap.UID(m.UID)) {
				continue
			}
			if seq := ss.st.EncodeSeqNum(uint32(i + 1)); seq != 0 {
				out = append(out, target{seq, m})
			}
		}
	}
	return out
}

func staticSeq(set imap.SeqSet, max uint32) imap.SeqSet {
	out := make(imap.SeqSet, len(set))
	for i, r := range set {
		out[i] = r
		fill(&out[i].Start, &out[i].Stop, max)
	}
	return out
}

func staticUID(set imap.UIDSet, max imap.UID) imap.UIDSet {
	out := make(imap.UIDSet, len(set))
	for i, r := range set {
		start, stop := uint32(r.Start), uint32(r.Stop)
		fill(&start, &stop, uint32(max))
		out[i] = imap.UIDRange{Start: imap.UID(start), Stop: imap.UID(stop)}
	}
	return out
}

// fill replaces "*" (zero) by max and orders the range, as "5:*" on a
// folder of 3 means 3:5.
func fill(start, stop *uint32, max uint32) {
	if *start == 0 {
		*start = max
	}
	if *stop == 0 {
		*stop = max
	}
	if *start > *stop {
		*start, *stop = *stop, *start
	}
}

func uids(ts []target) []mail.UID {
	out := make([]mail.UID, len(ts))
	for i, t := range ts {
		out[i] = t.info.UID
	}
	return out
}

func (ss *session) writable() error {
	if ss.sel != nil && ss.sel.mailbox == publicMailbox {
		return errPublicReadOnly
	}
	if ss.readOnly {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "The folder is open read-only (EXAMINE)"}
	}
	return nil
}

func (ss *session) Store(w *imapserver.FetchWriter, set imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	if err := ss.writable(); err != nil {
		return err
	}
	ts := ss.resolve(set)
	op := map[imap.StoreFlagsOp]mail.FlagOp{imap.StoreFlagsSet: mail.FlagsReplace, imap.StoreFlagsAdd: mail.FlagsAdd, imap.StoreFlagsDel: mail.FlagsRemove}[flags.Op]
	c, cancel := ctx()
	defer cancel()
	if err := ss.s.be.SetFlags(c, ss.mailbox, ss.sel.folder, uids(ts), op, storeFlags(flags.Flags)); err != nil {
		return ss.answer(err, "store")
	}
	ss.sel.refresh(ss.s.be, ss.st)
	if flags.Silent {
		return nil
	}
	now := map[mail.UID][]string{}
	ss.sel.mu.Lock()
	for _, m := range ss.sel.list {
		now[m.UID] = m.Flags
	}
	ss.sel.mu.Unlock()
	for _, t := range ts {
		f, ok := now[t.info.UID]
		if !ok {
			continue // expunged meanwhile
		}
		rw := w.CreateMessage(t.seq)
		rw.WriteUID(imap.UID(t.info.UID))
		rw.WriteFlags(imapFlags(f))
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

func (ss *session) Expunge(w *imapserver.ExpungeWriter, only *imap.UIDSet) error {
	if err := ss.writable(); err != nil {
		return err
	}
	v := ss.sel
	var gone []mail.UID
	v.mu.Lock()
	for _, m := range v.list {
		if hasFlag(m.Flags, mail.FlagDeleted) && (only == nil || only.Contains(imap.UID(m.UID))) {
			gone = append(gone, m.UID)
		}
	}
	v.mu.Unlock()
	if len(gone) == 0 {
		return nil
	}
	c, cancel := ctx()
	defer cancel()
	if err := ss.s.be.Expunge(c, ss.mailbox, v.folder, gone); err != nil {
		return ss.answer(err, "expunge")
	}
	// Every session, this one included, hears the EXPUNGEs from the view.
	v.refresh(ss.s.be, nil)
	return nil
}

func (ss *session) Copy(set imap.NumSet, dest string) (*imap.CopyData, error) {
	return ss.copy(set, dest, false)
}

func (ss *session) Move(w *imapserver.MoveWriter, set imap.NumSet, dest string) error {
	if err := ss.writable(); err != nil {
		return err
	}
	data, err := ss.copy(set, dest, true)
	if err != nil {
		return err
	}
	if err := w.WriteCopyData(data); err != nil {
		return err
	}
	ss.sel.refresh(ss.s.be, nil)
	return nil
}

func (ss *session) copy(set imap.NumSet, dest string, move bool) (*imap.CopyData, error) {
	if _, ok := ss.s.public(dest); ok {
		return nil, errPublicReadOnly
	}
	to := storeName(dest)
	if ss.sel.mailbox == publicMailbox {
		return ss.copyPublic(set, to)
	}
	if to == ss.sel.folder {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Source and destination are the same folder"}
	}
	ts := ss.resolve(set)
	c, cancel := ctx()
	defer cancel()
	validity, src, dst, err := ss.s.be.Copy(c, ss.mailbox, ss.sel.folder, uids(ts), to, move)
	if errors.Is(err, mail.ErrNoFolder) {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such folder"}
	}
	if err != nil {
		return nil, ss.answer(err, "copy")
	}
	d := &imap.CopyData{UIDValidity: validity}
	for i := range src {
		d.SourceUIDs.AddNum(imap.UID(src[i]))
		d.DestUIDs.AddNum(imap.UID(dst[i]))
	}
	return d, nil
}

// copyPublic copies posts of the selected public folder into a folder of
// the mailbox, as APPENDs of their bytes with their dates: the mailbox
// then holds its own copy.
func (ss *session) copyPublic(set imap.NumSet, to string) (*imap.CopyData, error) {
	ts := ss.resolve(set)
	c, cancel := ctx()
	defer cancel()
	d := &imap.CopyData{}
	for _, t := range ts {
		data, err := ss.message(c, t.info.UID)
		if errors.Is(err, mail.ErrNoMessage) {
			continue
		}
		if err != nil {
			return nil, ss.answer(err, "copy")
		}
		validity, uid, err := ss.s.be.Append(c, ss.mailbox, to, data, nil, t.info.InternalDate)
		if errors.Is(err, mail.ErrNoFolder) {
			return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such folder"}
		}
		if err != nil {
			return nil, ss.answer(err, "copy")
		}
		d.UIDValidity = validity
		d.SourceUIDs.AddNum(imap.UID(t.info.UID))
		d.DestUIDs.AddNum(imap.UID(uid))
	}
	if d.UIDValidity == 0 {
		return nil, nil // nothing copied: no COPYUID
	}
	return d, nil
}
