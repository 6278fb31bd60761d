package engine

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"exbackup/exchange"
)

// Paths of an opened store set, as Browse gives them and restore and
// export take them:
//
//	Mailboxes                         every mailbox
//	Mailboxes/alice                   a mailbox
//	Mailboxes/alice/Inbox/Projects    a folder (with its subfolders)
//	Mailboxes/alice/Inbox/#42         the message of UID 42 in Inbox
//	Public Folders/Projects           a public folder
//	Public Folders/Projects/#1207     a post (its id)
//
// A folder (or alias) whose name begins with '#' is written with one more
// '#' in front ("##drafts" is the folder "#drafts").
const (
	RootMailboxes = "Mailboxes"
	RootPublic    = "Public Folders"
)

// ItemKind is what an ItemNode is.
type ItemKind int

const (
	ItemRoot ItemKind = iota
	ItemMailbox
	ItemFolder
	ItemMessage
	ItemPost
)

// ItemNode is one line of a listing: a root, a mailbox, a folder, a
// message or a post.
type ItemNode struct {
	Kind     ItemKind
	Name     string // shown: the alias, the folder's last name, the subject
	Path     string // to browse, open, restore or export it
	Folders  int    // subfolders (a mailbox's folders; a root's children)
	Messages int    // a folder's own messages; a mailbox's or root's in all
	Size     int64
	// Mailbox is a mailbox node's recipient.
	Mailbox *exchange.MailboxSummary
	// Item is a message's or post's summary.
	Item *exchange.ItemSummary
}

// Leaf reports whether the node is a message or a post.
func (n ItemNode) Leaf() bool { return n.Kind == ItemMessage || n.Kind == ItemPost }

// String is the node's line in `exbackup browse`.
func (n ItemNode) String() string {
	switch n.Kind {
	case ItemRoot:
		what := Plural(n.Folders, "folder", "folders")
		if n.Name == RootMailboxes {
			what = Plural(n.Folders, "mailbox", "mailboxes")
		}
		return fmt.Sprintf("%s/  (%s, %s, %s)", n.Name, what, Plural(n.Messages, "message", "messages"), FormatBytes(n.Size))
	case ItemMailbox:
		name := n.Name + "/"
		if n.Mailbox != nil && n.Mailbox.DisplayName != "" && n.Mailbox.DisplayName != n.Name {
			name += "  " + n.Mailbox.DisplayName
		}
		return fmt.Sprintf("%s  (%s, %s, %s)", name, Plural(n.Folders, "folder", "folders"), Plural(n.Messages, "message", "messages"), FormatBytes(n.Size))
	case ItemFolder:
		return fmt.Sprintf("%s/  (%s, %s)", n.Name, Plural(n.Messages, "message", "messages"), FormatBytes(n.Size))
	}
	it := n.Item
	if it == nil {
		return n.Name
	}
	when := "                "
	if !it.Date.IsZero() {
		when = it.Date.Local().Format("2006-01-02 15:04")
	}
	subject := it.Subject
	if subject == "" {
		subject = "(no subject)"
	}
	return fmt.Sprintf("%s  %-30s  %-50s  %8s  %s", when, clip(it.From, 30), clip(subject, 50), FormatBytes(it.Size), lastSegment(n.Path))
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func lastSegment(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// escapeName writes a name as a path segment.
func escapeName(s string) string {
	if strings.HasPrefix(s, "#") {
		return "#" + s
	}
	return s
}

func unescapeName(s string) string {
	if strings.HasPrefix(s, "##") {
		return s[1:]
	}
	return s
}

// ItemPath is the path of a message (uid) in a mailbox folder, or of a
// folder when uid is 0.
func ItemPath(alias, folder string, uid uint64) string {
	p := RootMailboxes + "/" + escapeName(alias)
	if folder != "" {
		p += "/" + escapeFolder(folder)
	}
	if uid != 0 {
		p += "/#" + strconv.FormatUint(uid, 10)
	}
	return p
}

// PostPath is the path of a post (id) in a public folder, or of the
// folder when id is 0.
func PostPath(folder string, id uint64) string {
	p := RootPublic
	if folder != "" {
		p += "/" + escapeFolder(folder)
	}
	if id != 0 {
		p += "/#" + strconv.FormatUint(id, 10)
	}
	return p
}

func escapeFolder(f string) string {
	segs := strings.Split(f, "/")
	for i, s := range segs {
		segs[i] = escapeName(s)
	}
	return strings.Join(segs, "/")
}

// itemPath is a path taken apart.
type itemPath struct {
	root    string // RootMailboxes, RootPublic or "" (the top)
	mailbox string // alias, for RootMailboxes
	folder  string // "Inbox/Projects"; "" for the mailbox or the root
	id      uint64 // a message's UID or a post's id; 0 for a folder
}

func (p itemPath) public() bool { return p.root == RootPublic }

func parseItemPath(s string) (itemPath, error) {
	s = strings.Trim(s, "/")
	if s == "" {
		return itemPath{}, nil
	}
	segs := strings.Split(s, "/")
	var p itemPath
	switch segs[0] {
	case RootMailboxes:
		p.root = RootMailboxes
		if len(segs) > 1 {
			if strings.HasPrefix(segs[1], "#") && !strings.HasPrefix(segs[1], "##") {
				return p, fmt.Errorf("%q: a message is inside a folder, not directly in a mailbox", s)
			}
			p.mailbox = unescapeName(segs[1])
			segs = segs[2:]
		} else {
			segs = nil
		}
	case RootPublic:
		p.root = RootPublic
		segs = segs[1:]
	default:
		return p, fmt.Errorf("%q: a path begins with %q or %q", s, RootMailboxes, RootPublic)
	}
	var folder []string
	for i, seg := range segs {
		if seg == "" {
			return p, fmt.Errorf("%q: empty folder name", s)
		}
		if strings.HasPrefix(seg, "#") && !strings.HasPrefix(seg, "##") {
			n, err := strconv.ParseUint(seg[1:], 10, 64)
			if err != nil || n == 0 || i != len(segs)-1 || len(folder) == 0 {
				return p, fmt.Errorf("%q: %q is not a message (a message is #UID at the end of its folder's path; a folder whose name begins with # is written ##name)", s, seg)
			}
			p.id = n
			break
		}
		folder = append(folder, unescapeName(seg))
	}
	p.folder = strings.Join(folder, "/")
	return p, nil
}

// where names a path for an error: "mailbox alice", "folder alice/Inbox".
func (it *Items) where(p itemPath) string {
	set := fmt.Sprintf("set %d of tape %q", it.Set, it.Tape)
	switch {
	case p.public() && p.folder == "":
		return "the public folders of " + set
	case p.public():
		return fmt.Sprintf("public folder %q in %s", p.folder, set)
	case p.folder == "":
		return fmt.Sprintf("mailbox %q in %s", p.mailbox, set)
	}
	return fmt.Sprintf("folder %q of mailbox %q in %s", p.folder, p.mailbox, set)
}

// folders lists a mailbox's (or the public) folders, with any parent the
// store does not list itself.
func (it *Items) folders(p itemPath) ([]exchange.FolderSummary, error) {
	var fs []exchange.FolderSummary
	var err error
	if p.public() {
		fs, err = it.store.PublicFolders()
	} else {
		fs, err = it.store.Folders(p.mailbox)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", it.where(itemPath{root: p.root, mailbox: p.mailbox}), err)
	}
	have := map[string]bool{}
	for _, f := range fs {
		have[f.Path] = true
	}
	for _, f := range fs {
		for parent := f.Path; ; {
			i := strings.LastIndexByte(parent, '/')
			if i < 0 {
				break
			}
			parent = parent[:i]
			if !have[parent] {
				have[parent] = true
				fs = append(fs, exchange.FolderSummary{Path: parent})
			}
		}
	}
	sort.Slice(fs, func(i, j int) bool { return folderLess(fs[i].Path, fs[j].Path) })
	return fs, nil
}

// folderLess puts Inbox first, then the folders by name, each before its
// subfolders.
func folderLess(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		if i == 0 && strings.EqualFold(as[0], "Inbox") != strings.EqualFold(bs[0], "Inbox") {
			return strings.EqualFold(as[0], "Inbox")
		}
		return strings.ToLower(as[i]) < strings.ToLower(bs[i]) || (strings.EqualFold(as[i], bs[i]) && as[i] < bs[i])
	}
	return len(as) < len(bs)
}

// holdsItems reports whether a folder of the list has messages to list:
// not an empty one, nor a parent that folders added for its subfolders,
// which the store does not know.
func holdsItems(fs []exchange.FolderSummary, folder string) bool {
	for _, f := range fs {
		if f.Path == folder {
			return f.Messages > 0
		}
	}
	return false
}

func isUnder(folder, under string) bool {
	return under == "" || folder == under || strings.HasPrefix(folder, under+"/")
}

// Browse lists the children of a path: the two roots for "", the
// mailboxes, a mailbox's top folders, a folder's subfolders then its
// messages (posts in a public folder).
func (it *Items) Browse(path string) ([]ItemNode, error) {
	p, err := parseItemPath(path)
	if err != nil {
		return nil, err
	}
	if p.id != 0 {
		return nil, fmt.Errorf("%q is a message, not a folder: open it, restore it or export it", path)
	}
	switch {
	case p.root == "":
		return it.roots()
	case p.root == RootMailboxes && p.mailbox == "":
		mbs, err := it.store.Mailboxes()
		if err != nil {
			return nil, fmt.Errorf("the mailboxes of set %d of tape %q: %w", it.Set, it.Tape, err)
		}
		sort.Slice(mbs, func(i, j int) bool { return strings.ToLower(mbs[i].Alias) < strings.ToLower(mbs[j].Alias) })
		out := make([]ItemNode, len(mbs))
		for i := range mbs {
			mb := mbs[i]
			out[i] = ItemNode{Kind: ItemMailbox, Name: mb.Alias, Path: ItemPath(mb.Alias, "", 0), Folders: mb.Folders,
				Messages: mb.Messages, Size: mb.Size, Mailbox: &mb}
		}
		return out, nil
	}
	fs, err := it.folders(p)
	if err != nil {
		return nil, err
	}
	var out []ItemNode
	found := p.folder == ""
	depth := 0
	if p.folder != "" {
		depth = strings.Count(p.folder, "/") + 1
	}
	for _, f := range fs {
		if f.Path == p.folder {
			found = true
			continue
		}
		if !isUnder(f.Path, p.folder) || strings.Count(f.Path, "/") != depth {
			continue
		}
		n := ItemNode{Kind: ItemFolder, Name: lastSegment(f.Path), Messages: f.Messages, Size: f.Size}
		if p.public() {
			n.Path = PostPath(f.Path, 0)
		} else {
			n.Path = ItemPath(p.mailbox, f.Path, 0)
		}
		for _, g := range fs {
			if strings.HasPrefix(g.Path, f.Path+"/") && strings.Count(g.Path, "/") == depth+1 {
				n.Folders++
			}
		}
		out = append(out, n)
	}
	if !found {
		return nil, fmt.Errorf("%s: no such folder", it.where(p))
	}
	if p.folder == "" || !holdsItems(fs, p.folder) {
		return out, nil
	}
	items, err := it.items(p)
	if err != nil {
		return nil, err
	}
	return append(out, items...), nil
}

// items lists the messages (or posts) of one folder.
func (it *Items) items(p itemPath) ([]ItemNode, error) {
	var sums []exchange.ItemSummary
	var err error
	if p.public() {
		sums, err = it.store.Posts(p.folder)
	} else {
		sums, err = it.store.Messages(p.mailbox, p.folder)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", it.where(p), err)
	}
	out := make([]ItemNode, len(sums))
	for i := range sums {
		s := sums[i]
		n := ItemNode{Kind: ItemMessage, Name: s.Subject, Size: s.Size, Messages: 1, Item: &s}
		if p.public() {
			n.Kind, n.Path = ItemPost, PostPath(p.folder, s.ID)
		} else {
			n.Path = ItemPath(p.mailbox, p.folder, s.ID)
		}
		out[i] = n
	}
	return out, nil
}

func (it *Items) roots() ([]ItemNode, error) {
	mbs, err := it.store.Mailboxes()
	if err != nil {
		return nil, fmt.Errorf("the mailboxes of set %d of tape %q: %w", it.Set, it.Tape, err)
	}
	mr := ItemNode{Kind: ItemRoot, Name: RootMailboxes, Path: RootMailboxes, Folders: len(mbs)}
	for _, mb := range mbs {
		mr.Messages += mb.Messages
		mr.Size += mb.Size
	}
	pfs, err := it.store.PublicFolders()
	if err != nil {
		return nil, fmt.Errorf("the public folders of set %d of tape %q: %w", it.Set, it.Tape, err)
	}
	pr := ItemNode{Kind: ItemRoot, Name: RootPublic, Path: RootPublic}
	for _, f := range pfs {
		if !strings.Contains(f.Path, "/") {
			pr.Folders++
		}
		pr.Messages += f.Messages
		pr.Size += f.Size
	}
	return []ItemNode{mr, pr}, nil
}

// ItemFilter chooses messages and posts: each field given must match
// (case-insensitive substrings; Since inclusive, Before exclusive, on the
// message's date).
type ItemFilter struct {
	Under   string // a path; "" = the whole set
	From    string
	Subject string
	// Text matches the sender, a recipient or the subject.
	Text          string
	Since, Before time.Time
}

func (f ItemFilter) match(s exchange.ItemSummary) bool {
	has := func(hay, needle string) bool {
		return needle == "" || strings.Contains(strings.ToLower(hay), strings.ToLower(needle))
	}
	if !has(s.From, f.From) || !has(s.Subject, f.Subject) {
		return false
	}
	if f.Text != "" && !has(s.From, f.Text) && !has(s.Subject, f.Text) && !has(strings.Join(s.To, ", "), f.Text) {
		return false
	}
	if !f.Since.IsZero() && s.Date.Before(f.Since) {
		return false
	}
	if !f.Before.IsZero() && !s.Date.Before(f.Before) {
		return false
	}
	return true
}

// Search lists the messages and posts under f.Under that match f, folder
// by folder.
func (it *Items) Search(f ItemFilter) ([]ItemNode, error) {
	var out []ItemNode
	err := it.walk(f.Under, func(p itemPath, n ItemNode) error {
		if f.match(*n.Item) {
			out = append(out, n)
		}
		return nil
	})
	return out, err
}

// walk calls fn for every message and post under a path, folder by
// folder (a message path: that message alone).
func (it *Items) walk(path string, fn func(folder itemPath, n ItemNode) error) error {
	p, err := parseItemPath(path)
	if err != nil {
		return err
	}
	var roots []itemPath
	switch {
	case p.root == "":
		roots = []itemPath{{root: RootMailboxes}, {root: RootPublic}}
	default:
		roots = []itemPath{p}
	}
	for _, r := range roots {
		if r.root == RootMailboxes && r.mailbox == "" {
			mbs, err := it.store.Mailboxes()
			if err != nil {
				return fmt.Errorf("the mailboxes of set %d of tape %q: %w", it.Set, it.Tape, err)
			}
			sort.Slice(mbs, func(i, j int) bool { return strings.ToLower(mbs[i].Alias) < strings.ToLower(mbs[j].Alias) })
			for _, mb := range mbs {
				if err := it.walkFolders(itemPath{root: RootMailboxes, mailbox: mb.Alias}, fn); err != nil {
					return err
				}
			}
			continue
		}
		if err := it.walkFolders(r, fn); err != nil {
			return err
		}
	}
	return nil
}

func (it *Items) walkFolders(p itemPath, fn func(folder itemPath, n ItemNode) error) error {
	fs, err := it.folders(p)
	if err != nil {
		return err
	}
	found := p.folder == ""
	for _, f := range fs {
		if f.Path == p.folder {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("%s: no such folder", it.where(p))
	}
	for _, f := range fs {
		if !isUnder(f.Path, p.folder) || p.id != 0 && f.Path != p.folder {
			continue
		}
		fp := itemPath{root: p.root, mailbox: p.mailbox, folder: f.Path}
		if f.Messages == 0 && p.id == 0 {
			continue // nothing to list, or a parent the store does not hold itself
		}
		nodes, err := it.items(fp)
		if err != nil {
			return err
		}
		matched := false
		for _, n := range nodes {
			if p.id != 0 && (f.Path != p.folder || n.Item.ID != p.id) {
				continue
			}
			matched = true
			if err := fn(fp, n); err != nil {
				return err
			}
		}
		if p.id != 0 && f.Path == p.folder && !matched {
			return fmt.Errorf("%s: no message #%d", it.where(fp), p.id)
		}
	}
	return nil
}

// Open answers a message's (or post's) exact bytes and its summary.
func (it *Items) Open(path string) ([]byte, exchange.ItemSummary, error) {
	p, err := parseItemPath(path)
	if err != nil {
		return nil, exchange.ItemSummary{}, err
	}
	if p.id == 0 {
		return nil, exchange.ItemSummary{}, fmt.Errorf("%q is not a message: give its path as Browse lists it (…/#UID)", path)
	}
	return it.open(p)
}

func (it *Items) open(p itemPath) ([]byte, exchange.ItemSummary, error) {
	if p.public() {
		_, b, s, err := it.store.Post(p.folder, p.id)
		if err != nil {
			return nil, s, fmt.Errorf("%s, post #%d: %w", it.where(p), p.id, err)
		}
		return b, s, nil
	}
	b, s, err := it.store.Message(p.mailbox, p.folder, p.id)
	if err != nil {
		return nil, s, fmt.Errorf("%s, message #%d: %w", it.where(p), p.id, err)
	}
	return b, s, nil
}
