package tape

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"exbackup/tape/mtf"
)

// Kind is what a node of a set's tree is.
type Kind int

const (
	KindVolume Kind = iota + 1 // a VOLB: "C:", `\\EXCH01\Microsoft Information Store`
	KindDir
	KindFile
)

func (k Kind) String() string {
	switch k {
	case KindVolume:
		return "volume"
	case KindDir:
		return "dir"
	case KindFile:
		return "file"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Node is a volume, directory or file of a set, as its blocks describe it.
type Node struct {
	Name     string // as on tape: "C:", "Documents", "report.txt"
	Path     string // tree path, '/' separated, from the volume: "C:/Documents/report.txt"
	Kind     Kind
	Size     int64 // a file's size (its holes included); 0 for the others
	Modified time.Time
	Offset   int64  // of its VOLB, DIRB or FILE block in the tape file
	FLA      uint64 // the block's format logical address
	Corrupt  bool   // marked corrupt on tape
	// Streams are the ids of a file's streams other than its data:
	// "NACL", "ADAT"… (what Extract leaves out unless asked).
	Streams []string
	Volume  int // index into the set's volumes

	parent   *Node
	children []*Node
	byName   map[string]*Node
	entry    *mtf.Entry
	dir      *mtf.DirEntry
	member   string // the family member holding the block, "" for the tree's tape
	parts    []part // the rest of a file cut by the end of its medium
}

// Child is one line of a listing: a node seen from its parent.
type Child struct {
	Name     string
	Path     string
	Kind     Kind
	Size     int64
	Modified time.Time
	Offset   int64
	Children int // entries under a volume or directory
	Corrupt  bool
	// Member is the sequence of the member of the media family its block
	// starts on, when that is not the tape browsed; 0 on the tape itself.
	Member int
}

// String formats a child as `exbackup browse` prints it: kind, date,
// size, name (a directory ends in '/').
func (c Child) String() string {
	when := "                   "
	if !c.Modified.IsZero() {
		when = c.Modified.Format("2006-01-02 15:04:05")
	}
	size := fmt.Sprintf("%14d", c.Size)
	name := c.Name
	kind := "F"
	switch c.Kind {
	case KindVolume:
		kind, size = "V", fmt.Sprintf("%14s", fmt.Sprintf("%d items", c.Children))
	case KindDir:
		kind, size, name = "D", fmt.Sprintf("%14s", fmt.Sprintf("%d items", c.Children)), name+"/"
	}
	if c.Corrupt {
		name += "  (corrupt on tape)"
	}
	if c.Member > 0 {
		name += fmt.Sprintf("  (on member %d)", c.Member)
	}
	return fmt.Sprintf("%s  %s  %s  %s", kind, when, size, name)
}

// Tree is a set seen as folders: its volumes, their directories and files,
// with an index so that a child lookup costs a map access.
type Tree struct {
	Tape    string // the tape's name
	Set     int
	Volumes []Volume
	// Problems are what the walk over the set met: damaged regions it
	// skipped, by offset (and file, when its name could be read).
	Problems []error
	// Complete is false when the set has no ESET or Problems is not empty.
	Complete bool
	// Family is the tape's media family id; Members are the members of it
	// the tree was read from, in sequence order, its own tape first (with
	// no path). FamilyTree fills them in; Tree leaves them empty.
	Family  uint32
	Members []Member
	root    *Node
	nodes   int
	files   []*Node // in tape order
	dirs    []*Node // DIRB nodes in tape order
}

// Tree reads a set's blocks (not its data) and returns its folder tree.
func (t *Tape) Tree(number int) (*Tree, error) {
	f, r, err := t.open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := r.Scan()
	if err != nil {
		return nil, fmt.Errorf("reading tape %q: %w", t.displayName(), err)
	}
	for i := len(c.Sets) - 1; i >= 0; i-- {
		if int(c.Sets[i].Start.Number) == number {
			return newTree(t.displayName(), c.Sets[i]), nil
		}
	}
	return nil, fmt.Errorf("tape %q, set %d: %w", t.displayName(), number, ErrNoSet)
}

func newTree(tape string, s *mtf.Set) *Tree {
	tr := &Tree{Tape: tape, Set: int(s.Start.Number), Problems: s.Problems, root: &Node{Kind: KindDir, byName: map[string]*Node{}}}
	tr.Complete = s.End != nil && len(s.Problems) == 0 && s.End.Attributes&mtf.EndSetAborted == 0
	if len(tr.Problems) == 0 && s.Err != nil {
		tr.Problems = []error{s.Err}
	}
	vols := make([]*Node, len(s.Volumes))
	for i, v := range s.Volumes {
		tr.Volumes = append(tr.Volumes, Volume{Device: v.Device, Name: v.Name, Machine: v.Machine})
		name := v.Device
		if name == "" {
			name = fmt.Sprintf("Volume %d", i+1)
		}
		n := tr.add(tr.root, name, KindVolume)
		n.Offset, n.FLA, n.Modified, n.Volume = v.Offset, v.FLA, v.WriteDate, i
		vols[i] = n
	}
	volume := func(i int) *Node {
		if i < 0 {
			// Blocks before any VOLB: a volume of their own.
			if tr.root.byName[""] == nil {
				n := tr.add(tr.root, "", KindVolume)
				n.Volume = -1
			}
			return tr.root.byName[""]
		}
		return vols[i]
	}
	for _, d := range s.Dirs {
		n := tr.dirPath(volume(d.Volume), d.Path)
		if n.Kind == KindDir && n.dir == nil {
			n.dir, n.Offset, n.FLA, n.Modified = d, d.Offset, d.FLA, d.Dir.Modified
			tr.dirs = append(tr.dirs, n)
		}
	}
	for _, e := range s.Files {
		parent := tr.dirPath(volume(e.Volume), e.Dir)
		name := e.Name
		if name == "" {
			name = fmt.Sprintf("(file at byte %d)", e.Block.Offset)
		}
		if old := parent.byName[name]; old != nil {
			// A name met twice in one directory (a damaged or odd
			// tape): the later block wins, as an extractor writing in
			// tape order would leave it.
			parent.children = slices.DeleteFunc(parent.children, func(c *Node) bool { return c == old })
			delete(parent.byName, name)
		}
		n := tr.add(parent, name, KindFile)
		c := e.Block.Content()
		n.entry, n.Size, n.Modified, n.Offset, n.FLA, n.Corrupt = e, c.Size, e.File.Modified, e.Block.Offset, e.FLA, e.Corrupt
		n.Volume = e.Volume
		n.Streams = append(n.Streams, c.Skipped...)
		if len(c.Alternate) > 0 {
			n.Streams = append(n.Streams, mtf.StreamNTAlt)
		}
		tr.files = append(tr.files, n)
	}
	tr.sortAll(tr.root)
	return tr
}

func (tr *Tree) add(parent *Node, name string, k Kind) *Node {
	n := &Node{Name: name, Kind: k, parent: parent}
	if k != KindFile {
		n.byName = map[string]*Node{}
	}
	if parent == tr.root {
		n.Path = name
	} else {
		n.Path = parent.Path + "/" + name
	}
	parent.children = append(parent.children, n)
	parent.byName[name] = n
	tr.nodes++
	return n
}

// dirPath returns the directory at path under a volume, creating the
// nodes the tape did not describe with a DIRB of their own.
func (tr *Tree) dirPath(vol *Node, path []string) *Node {
	n := vol
	for _, c := range path {
		next := n.byName[c]
		if next == nil || next.Kind == KindFile {
			if next != nil {
				// A file and a directory of one name: the directory
				// takes it; the file stays reachable in tape order.
				n.children = slices.DeleteFunc(n.children, func(x *Node) bool { return x == next })
			}
			next = tr.add(n, c, KindDir)
		}
		n = next
	}
	return n
}

func (tr *Tree) sortAll(n *Node) {
	slices.SortFunc(n.children, func(a, b *Node) int {
		if (a.Kind == KindFile) != (b.Kind == KindFile) {
			if a.Kind == KindFile {
				return 1
			}
			return -1
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	for _, c := range n.children {
		if c.byName != nil {
			tr.sortAll(c)
		}
	}
}

// Root returns the set's volumes, the top of a tree widget.
func (tr *Tree) Root() []*Node { return tr.root.children }

// Select returns the files under the items (tree paths; none means the
// whole set) in tape order, and their bytes: what Extract would write, for
// a dialog to show before it starts.
func (tr *Tree) Select(items []string) (files []*Node, bytes int64, err error) {
	files, _, err = tr.selectItems(items)
	for _, f := range files {
		bytes += f.Size
	}
	return files, bytes, err
}

// Len returns the number of nodes (volumes, directories and files).
func (tr *Tree) Len() int { return tr.nodes }

// Files returns the set's files in tape order.
func (tr *Tree) Files() []*Node { return tr.files }

// splitPath splits a tree path at '/' (or, when backslashes is set, at
// '\' too). A UNC volume (`\\SERVER\Store\dir`) keeps its device name whole.
func (tr *Tree) splitPath(p string, backslashes bool) []string {
	p = strings.TrimSpace(p)
	for _, v := range tr.root.children {
		if v.Name != "" && (p == v.Name || strings.HasPrefix(p, v.Name+"/") || strings.HasPrefix(p, v.Name+`\`)) {
			return append([]string{v.Name}, splitRest(p[len(v.Name):], backslashes)...)
		}
	}
	return splitRest(p, backslashes)
}

func splitRest(p string, backslashes bool) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' || backslashes && r == '\\' })
}

// Lookup finds the node at a tree path ("C:/Documents/report.txt", or with
// backslashes; "" is the set itself). Names are matched exactly first,
// then regardless of case, as Windows does. A name holding a backslash is
// found when the path separates with '/'.
func (tr *Tree) Lookup(path string) (*Node, error) {
	if n := tr.walk(tr.splitPath(path, false)); n != nil {
		return n, nil
	}
	if n := tr.walk(tr.splitPath(path, true)); n != nil {
		return n, nil
	}
	return nil, fmt.Errorf("tape %q, set %d: no %q in the set", tr.Tape, tr.Set, path)
}

func (tr *Tree) walk(parts []string) *Node {
	n := tr.root
	for _, c := range parts {
		next := n.byName[c]
		if next == nil && n == tr.root && !strings.HasSuffix(c, ":") {
			next = n.byName[c+":"] // "C" for "C:"
		}
		if next == nil {
			for _, ch := range n.children {
				if strings.EqualFold(ch.Name, c) || n == tr.root && strings.EqualFold(ch.Name, c+":") {
					next = ch
					break
				}
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// Browse lists the children of the node at path ("" lists the volumes);
// a file lists as itself.
func (tr *Tree) Browse(path string) ([]Child, error) {
	n, err := tr.Lookup(path)
	if err != nil {
		return nil, err
	}
	if n.Kind == KindFile {
		return []Child{tr.childOf(n)}, nil
	}
	out := make([]Child, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, tr.childOf(c))
	}
	return out, nil
}

// Children returns a node's children in listing order (directories first),
// for a tree widget; nil for a file.
func (n *Node) Children() []*Node { return n.children }

// Parent returns the node's parent, nil for a volume.
func (n *Node) Parent() *Node {
	if n.parent == nil || n.parent.parent == nil {
		return nil
	}
	return n.parent
}

func (tr *Tree) childOf(n *Node) Child {
	return Child{Name: n.Name, Path: n.Path, Kind: n.Kind, Size: n.Size, Modified: n.Modified, Offset: n.Offset, Children: len(n.children), Corrupt: n.Corrupt,
		Member: tr.MemberOf(n)}
}

// MemberOf is the sequence of the member of the media family a node's
// block is on, when that is another file than the tree's tape; 0 otherwise.
func (tr *Tree) MemberOf(n *Node) int {
	if n.member == "" {
		return 0
	}
	for _, m := range tr.Members {
		if m.Path == n.member {
			return m.Sequence
		}
	}
	return 0
}

// Entries lists the set's files as Sets would, in tape order, across
// every member the tree was read from: Entry.Member says which member
// each FILE block starts on (0 for the tree's tape), Entry.Volume indexes
// Volumes.
func (tr *Tree) Entries() []Entry {
	out := make([]Entry, 0, len(tr.files))
	for _, n := range tr.files {
		e := Entry{Set: tr.Set, Volume: n.Volume, Path: n.Path, Size: n.Size, Modified: n.Modified, FLA: n.FLA, Corrupt: n.Corrupt,
			Offset: n.Offset, Member: tr.MemberOf(n)}
		if n.entry != nil {
			e.Path, e.Size = n.entry.Path(), n.entry.Size
			if h := n.entry.Block.Hash; h != nil {
				e.Hash, e.CRC32C = hashOf(h), h.CRC32C
			}
		}
		out = append(out, e)
	}
	return out
}
