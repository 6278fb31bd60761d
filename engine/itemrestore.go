package engine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"exbackup/exchange"
	"exbackup/tape"
)

// ItemRestoreRequest puts mailboxes, folders or messages of a store set
// back into a live Information Store, online.
type ItemRestoreRequest struct {
	Tape string
	Set  int
	// Items are paths as Browse gives them: a mailbox, a folder (with its
	// subfolders), a message, a public folder or a post.
	Items  []string
	Server string // the destination server; "" = the set's own server
	To     string // another mailbox's alias; "" = each item's own mailbox
	// Recovered puts the items into a folder "Recovered Items YYYY-MM-DD"
	// (today) of the destination mailbox, their folder tree under it.
	Recovered bool
	// Recreate creates a mailbox missing on the destination from its
	// Directory entry in the set; without it such a mailbox is an error.
	Recreate bool
	Keys     tape.KeyProvider // for an encrypted set
	Log      LogOptions
}

// ItemRestoreResult sums what the server did over every batch.
type ItemRestoreResult struct {
	exchange.ImportResult
	Elapsed time.Duration
}

// importBatch is the most message bytes sent in one ImportItems call.
const importBatch = 2 << 20

// RecoveredFolder is the folder a Recovered restore writes into.
func RecoveredFolder(day time.Time) string { return "Recovered Items " + day.Format("2006-01-02") }

// pick is one message or post chosen for a restore or an export, by folder.
type pickedFolder struct {
	at    itemPath // root, mailbox, folder
	items []ItemNode
}

// pickItems resolves paths to folders and their messages, each message
// once however the paths overlap, in the order given.
func (it *Items) pickItems(paths []string) ([]*pickedFolder, error) {
	if len(paths) == 0 {
		return nil, errors.New("no item chosen: give a mailbox, a folder or a message (--item PATH)")
	}
	var out []*pickedFolder
	byKey := map[string]*pickedFolder{}
	seen := map[string]bool{}
	for _, path := range paths {
		p, err := parseItemPath(path)
		if err != nil {
			return nil, err
		}
		if p.root == "" {
			return nil, errors.New("choose Mailboxes, a mailbox, a folder or a message, not the whole set")
		}
		err = it.walk(path, func(fp itemPath, n ItemNode) error {
			key := fp.root + "\x00" + fp.mailbox + "\x00" + fp.folder
			pf := byKey[key]
			if pf == nil {
				pf = &pickedFolder{at: fp}
				byKey[key] = pf
				out = append(out, pf)
			}
			if !seen[n.Path] {
				seen[n.Path] = true
				pf.items = append(pf.items, n)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RestoreItems puts the chosen items back into a live store through its
// server's API while the service runs: each into its folder (created when
// missing), in batches; a message already there (same Message-ID and
// bytes) is not duplicated, and flags and dates come back as they were.
func (e *Engine) RestoreItems(ctx context.Context, req ItemRestoreRequest, p *Progress) (res ItemRestoreResult, err error) {
	start := time.Now()
	defer func() { p.finish(err) }()
	it, err := e.openItems(ctx, ItemOpenRequest{Tape: req.Tape, Set: req.Set, Keys: req.Keys}, p)
	if err != nil {
		return res, err
	}
	defer it.Close()
	picked, err := it.pickItems(req.Items)
	if err != nil {
		return res, err
	}
	dest := firstNonEmpty(strings.TrimSpace(req.Server), it.Server)
	to := strings.TrimSpace(req.To)
	c, err := e.client(ctx, dest)
	if err != nil {
		return res, err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return res, err
	}
	if st.IS != exchange.Running {
		return res, fmt.Errorf("the Information Store on %s is %s: items go back only into a running store (start it with exbackup service start IS \\\\%s)", dest, st.IS, dest)
	}
	live, err := c.Recipients(ctx)
	if err != nil {
		return res, err
	}
	have := map[string]bool{}
	for _, r := range live {
		if r.HomeServer == "" || strings.EqualFold(r.HomeServer, dest) {
			have[strings.ToLower(r.Alias)] = true
		}
	}
	var create []exchange.Recipient
	if to != "" && !have[strings.ToLower(to)] {
		return res, fmt.Errorf("mailbox %q does not exist on %s: restore into an existing mailbox, or into the original one with --recreate", to, dest)
	}
	if to == "" {
		mbs, err := it.store.Mailboxes()
		if err != nil {
			return res, err
		}
		known := map[string]exchange.MailboxSummary{}
		for _, mb := range mbs {
			known[mb.Alias] = mb
		}
		for _, pf := range picked {
			if pf.at.public() || have[strings.ToLower(pf.at.mailbox)] {
				continue
			}
			if !req.Recreate {
				return res, fmt.Errorf("mailbox %q no longer exists on %s: restore with Recreate (--recreate) to create it again from its Directory entry in the set, or choose another mailbox (--to ALIAS)", pf.at.mailbox, dest)
			}
			r := known[pf.at.mailbox].Recipient
			if r.Alias == "" {
				r.Alias = pf.at.mailbox
			}
			r.HomeServer = dest
			create = append(create, r)
			have[strings.ToLower(pf.at.mailbox)] = true
		}
	}
	log, err := e.openLog(req.Log, p)
	if err != nil {
		return res, err
	}
	defer log.close()
	now := time.Now()
	log.summary("Restore Status")
	log.summary("Restore of items of %s to %s", chainTitle(it.Chain), dest)
	log.summary("Restore started on %s at %s.", ntDate(now), ntTime(now))
	var total int64
	for _, pf := range picked {
		for _, n := range pf.items {
			total += n.Size
		}
	}
	p.update(func(s *Snapshot) {
		s.Tape, s.Set, s.TotalBytes, s.Bytes, s.Files = req.Tape, fmt.Sprintf("Set %d: items to %s", req.Set, dest), total, 0, 0
	})
	recovered := ""
	if req.Recovered {
		recovered = RecoveredFolder(time.Now())
	}
	for _, pf := range picked {
		out, err := e.restoreFolder(ctx, c, it, pf, to, recovered, &create, p)
		res.Imported += out.Imported
		res.Duplicates += out.Duplicates
		res.FoldersCreated = append(res.FoldersCreated, out.FoldersCreated...)
		res.MailboxesCreated = append(res.MailboxesCreated, out.MailboxesCreated...)
		res.Messages = append(res.Messages, out.Messages...)
		where := out.where
		for _, m := range out.MailboxesCreated {
			log.summary("Created mailbox %s from its Directory entry in the set.", m)
		}
		for _, f := range out.FoldersCreated {
			log.summary("Created folder %s.", f)
		}
		for _, m := range out.Messages {
			log.summary("%s", m)
		}
		if err != nil {
			log.exception("Restore of items into %s on %s failed: %v", where, dest, err)
			return res, fmt.Errorf("restoring into %s on %s: %w", where, dest, err)
		}
		what := Plural(out.Imported, "message", "messages")
		if pf.at.public() {
			what = Plural(out.Imported, "post", "posts")
		}
		line := fmt.Sprintf("Restored %s into %s", what, where)
		if out.Duplicates > 0 {
			line += fmt.Sprintf("; %d already there", out.Duplicates)
		}
		log.summary("%s", line)
	}
	res.Elapsed = time.Since(start)
	end := time.Now()
	log.summary("Restore completed on %s at %s.", ntDate(end), ntTime(end))
	log.summary("Restored %s, %d already there, in %s seconds.", Plural(res.Imported, "item", "items"), res.Duplicates, seconds(res.Elapsed))
	return res, nil
}

type folderOutcome struct {
	exchange.ImportResult
	where string // "alice/Inbox", "Public Folders/Projects"
}

// restoreFolder sends one folder's chosen items in batches.
func (e *Engine) restoreFolder(ctx context.Context, c Server, it *Items, pf *pickedFolder, to, recovered string, create *[]exchange.Recipient, p *Progress) (folderOutcome, error) {
	var out folderOutcome
	mailbox := firstNonEmpty(to, pf.at.mailbox)
	folder := pf.at.folder
	if recovered != "" && !pf.at.public() {
		folder = recovered + "/" + folder
	}
	if pf.at.public() {
		out.where = RootPublic + "/" + folder
	} else {
		out.where = mailbox + "/" + folder
	}
	var batch exchange.ImportRequest
	var size int64
	send := func() error {
		if len(batch.Messages) == 0 && len(batch.Posts) == 0 {
			return nil
		}
		if len(*create) > 0 {
			batch.Create, *create = *create, nil
		}
		r, err := c.ImportItems(ctx, batch)
		if err != nil {
			return err
		}
		out.Imported += r.Imported
		out.Duplicates += r.Duplicates
		out.FoldersCreated = append(out.FoldersCreated, r.FoldersCreated...)
		out.MailboxesCreated = append(out.MailboxesCreated, r.MailboxesCreated...)
		out.Messages = append(out.Messages, r.Messages...)
		n := len(batch.Messages) + len(batch.Posts)
		b := size
		p.update(func(s *Snapshot) { s.Files += n; s.Bytes += b })
		batch, size = exchange.ImportRequest{}, 0
		return nil
	}
	for _, n := range pf.items {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("aborted: %w", err)
		}
		p.update(func(s *Snapshot) { s.Current = n.Path })
		ip, _ := parseItemPath(n.Path)
		if pf.at.public() {
			post, _, _, err := it.store.Post(ip.folder, ip.id)
			if err != nil {
				return out, fmt.Errorf("%s, post #%d: %w", it.where(ip), ip.id, err)
			}
			post.Folder = folder
			batch.Posts = append(batch.Posts, post)
			size += int64(len(post.Body))
		} else {
			data, sum, err := it.open(ip)
			if err != nil {
				return out, err
			}
			date := sum.Received
			if date.IsZero() {
				date = sum.Date
			}
			batch.Messages = append(batch.Messages, exchange.ImportMessage{Mailbox: mailbox, Folder: folder, Data: data, Flags: sum.Flags, Date: date})
			size += int64(len(data))
			if err := it.readBytes(len(data)); err != nil {
				return out, err
			}
		}
		if size >= importBatch {
			if err := send(); err != nil {
				return out, err
			}
		}
	}
	return out, send()
}

// ItemExportRequest writes chosen messages and posts into a folder.
type ItemExportRequest struct {
	Tape   string
	Set    int
	Items  []string
	Dir    string
	Format string // "eml" (the default) or "mbox"
	Keys   tape.KeyProvider
}

// ItemExportResult says what an export wrote.
type ItemExportResult struct {
	Files    int // .eml or .mbox files written
	Messages int
	Bytes    int64
	// Renamed lists files written under another name because the first
	// one was taken: "DIR/alice/Inbox/1-42.eml exists: wrote …(2).eml".
	Renamed []string
}

// ExportItems writes each chosen message with its exact stored bytes:
// "eml" as DIR/<mailbox>/<folder path>/<n>-<uid>.eml, "mbox" as one
// DIR/<mailbox>/<folder path>.mbox per folder (mboxrd). Posts go under
// DIR/Public Folders/. A file already there is never overwritten.
func (e *Engine) ExportItems(ctx context.Context, req ItemExportRequest, p *Progress) (res ItemExportResult, err error) {
	defer func() { p.finish(err) }()
	format := strings.ToLower(firstNonEmpty(req.Format, "eml"))
	if format != "eml" && format != "mbox" {
		return res, fmt.Errorf("export format %q: choose eml or mbox", req.Format)
	}
	if req.Dir == "" {
		return res, errors.New("no destination folder given")
	}
	it, err := e.openItems(ctx, ItemOpenRequest{Tape: req.Tape, Set: req.Set, Keys: req.Keys}, p)
	if err != nil {
		return res, err
	}
	defer it.Close()
	picked, err := it.pickItems(req.Items)
	if err != nil {
		return res, err
	}
	var total int64
	for _, pf := range picked {
		for _, n := range pf.items {
			total += n.Size
		}
	}
	p.update(func(s *Snapshot) { s.Tape, s.Set, s.TotalBytes = req.Tape, fmt.Sprintf("Set %d", req.Set), total })
	for _, pf := range picked {
		base := filepath.Join(req.Dir, fileSegment(pf.at.mailbox))
		if pf.at.public() {
			base = filepath.Join(req.Dir, RootPublic)
		}
		for _, seg := range strings.Split(pf.at.folder, "/") {
			base = filepath.Join(base, fileSegment(seg))
		}
		var err error
		if format == "mbox" {
			err = it.exportMbox(ctx, pf, base+".mbox", &res, p)
		} else {
			err = it.exportEml(ctx, pf, base, &res, p)
		}
		if err != nil {
			return res, err
		}
	}
	p.logf(fmt.Sprintf("Exported %s into %s (%s, %s).", Plural(res.Messages, "message", "messages"), req.Dir, Plural(res.Files, "file", "files"), FormatBytes(res.Bytes)))
	return res, nil
}

// fileSegment makes a folder name a file name: nothing a file system or
// a path would take apart.
func fileSegment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == 0 || r == '/' || r == '\\' || r < 0x20 {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		return "_" + s
	}
	return s
}

func (it *Items) exportEml(ctx context.Context, pf *pickedFolder, dir string, res *ItemExportResult, p *Progress) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export folder %s: %w", dir, err)
	}
	for i, n := range pf.items {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, _, err := it.Open(n.Path)
		if err != nil {
			return err
		}
		if err := it.readBytes(len(data)); err != nil {
			return err
		}
		name := filepath.Join(dir, fmt.Sprintf("%d-%d.eml", i+1, n.Item.ID))
		f, used, err := createNew(name)
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", used, err)
		}
		if used != name {
			m := fmt.Sprintf("%s exists: wrote %s", name, used)
			res.Renamed = append(res.Renamed, m)
			p.logf(m)
		}
		res.Files++
		res.Messages++
		res.Bytes += int64(len(data))
		sz := int64(len(data))
		p.update(func(s *Snapshot) { s.Files++; s.Bytes += sz; s.Current = used })
	}
	return nil
}

func (it *Items) exportMbox(ctx context.Context, pf *pickedFolder, name string, res *ItemExportResult, p *Progress) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("export folder %s: %w", filepath.Dir(name), err)
	}
	f, used, err := createNew(name)
	if err != nil {
		return err
	}
	if used != name {
		m := fmt.Sprintf("%s exists: wrote %s", name, used)
		res.Renamed = append(res.Renamed, m)
		p.logf(m)
	}
	w := bufio.NewWriter(f)
	for _, n := range pf.items {
		if err := ctx.Err(); err != nil {
			f.Close()
			return err
		}
		data, sum, err := it.Open(n.Path)
		if err != nil {
			f.Close()
			return err
		}
		writeMboxrd(w, data, sum)
		if err := it.readBytes(len(data)); err != nil {
			f.Close()
			return err
		}
		res.Messages++
		res.Bytes += int64(len(data))
		sz := int64(len(data))
		p.update(func(s *Snapshot) { s.Files++; s.Bytes += sz; s.Current = used })
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", used, err)
	}
	res.Files++
	return nil
}

// writeMboxrd appends one message in mboxrd form: a From_ line, the
// message with every line matching ^>*From  given one more '>', and an
// empty line.
func writeMboxrd(w *bufio.Writer, data []byte, sum exchange.ItemSummary) {
	sender := "MAILER-DAEMON"
	if a := mboxAddress(sum.From); a != "" {
		sender = a
	}
	when := sum.Received
	if when.IsZero() {
		when = sum.Date
	}
	fmt.Fprintf(w, "From %s %s\n", sender, when.UTC().Format("Mon Jan _2 15:04:05 2006"))
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		if bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From ")) {
			w.WriteByte('>')
		}
		w.Write(bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")))
		w.WriteByte('\n')
	}
	w.WriteByte('\n')
}

// mboxAddress is the bare address of "Name <addr>" or "addr", without
// spaces (the From_ line is split on them).
func mboxAddress(from string) string {
	if i, j := strings.LastIndexByte(from, '<'), strings.LastIndexByte(from, '>'); i >= 0 && j > i {
		from = from[i+1 : j]
	}
	from = strings.TrimSpace(from)
	if from == "" || strings.ContainsAny(from, " \t") {
		return ""
	}
	return from
}

// createNew creates name, or "name (2).ext", "name (3).ext"… when taken:
// an export never overwrites a file.
func createNew(name string) (*os.File, string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; i < 10000; i++ {
		try := name
		if i > 1 {
			try = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		f, err := os.OpenFile(try, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			return f, try, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, try, fmt.Errorf("export file %s: %w", try, err)
		}
	}
	return nil, name, fmt.Errorf("export file %s: every other name is taken too", name)
}
