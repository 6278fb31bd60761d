package tape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"exbackup/tape/mtf"
)

// NextMember returns the .bkf file of a media family's member: the one
// whose TAPE block has the family id and the sequence number (2 for the
// second). A set that goes on past the end of its medium asks for it. ""
// with no error says that the member is not known.
type NextMember func(familyID uint32, sequence int) (path string, err error)

// MemberError says that a set goes on on a member of its media family that
// was not found: the administrator must name it (its .bkf file), as NT
// Backup asked for the next tape.
type MemberError struct {
	Tape     string // the tape the set was read from
	Set      int
	Family   uint32 // media family id
	Sequence int    // the member needed: 2 for the second
	Err      error  // why the member given, if any, was not it; nil when none was given
}

func (e *MemberError) Error() string {
	s := fmt.Sprintf("tape %q, set %d needs member %d of media family %08X", e.Tape, e.Set, e.Sequence, e.Family)
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

func (e *MemberError) Unwrap() error { return e.Err }

// ErrMemberNotGiven is what a NextMember returns when the administrator
// declined to give the member (Cancel): the job stops.
var ErrMemberNotGiven = errors.New("the next member of the media family was not given")

// Member is one .bkf file of a media family a tree was read from.
type Member struct {
	Path     string // "" for the tree's own tape
	Sequence int    // 1 for the first
}

// CheckMember reports whether the .bkf file at path is member seq of the
// media family: nil if it is, else why not, by name.
func CheckMember(path string, family uint32, seq int) error {
	m, err := Open(path)
	if err != nil {
		return err
	}
	if info := m.Info(); info.FamilyID != family || info.Sequence != seq {
		return fmt.Errorf("%s is member %d of media family %08X, not member %d of %08X", path, info.Sequence, info.FamilyID, seq, family)
	}
	return nil
}

// part is where a piece of a file's data lies: a member of the family
// ("" for the tree's own tape) and the FILE block there.
type part struct {
	member string
	block  *mtf.Block
}

// FamilyTree is Tree for a set that may span several members of its media
// family: where the medium ends inside the set, next is asked for the next
// member, whose continuation of the set joins the tree; a file cut by the
// end of a medium becomes one node whose data is read from both. Without
// next (nil), or when it fails, the tree holds what this member has and is
// incomplete, and its Problems hold a *MemberError naming the member
// needed. A next that returns ErrMemberNotGiven stops the walk: the error
// is then FamilyTree's.
func (t *Tape) FamilyTree(number int, next NextMember) (*Tree, error) {
	f, r, err := t.open()
	if err != nil {
		return nil, err
	}
	c, err := r.Scan()
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("reading tape %q: %w", t.displayName(), err)
	}
	var set *mtf.Set
	for i := len(c.Sets) - 1; i >= 0 && set == nil; i-- {
		if int(c.Sets[i].Start.Number) == number {
			set = c.Sets[i]
		}
	}
	if set == nil {
		return nil, fmt.Errorf("tape %q, set %d: %w", t.displayName(), number, ErrNoSet)
	}
	tr := newTree(t.displayName(), set)
	family, seq := c.Tape.MediaFamilyID, int(c.Tape.MediaSequence)
	tr.Family, tr.Members = family, []Member{{Sequence: seq}}
	for set.Continues {
		tr.Complete = false
		need := &MemberError{Tape: tr.Tape, Set: number, Family: family, Sequence: seq + 1}
		if next == nil {
			tr.Problems = append(tr.Problems, need)
			return tr, nil
		}
		path, err := next(family, seq+1)
		if errors.Is(err, ErrMemberNotGiven) {
			need.Err = err
			return nil, need
		}
		if err != nil || path == "" {
			need.Err = err
			tr.Problems = append(tr.Problems, need)
			return tr, nil
		}
		s, err := memberSet(path, family, seq+1, number)
		if err != nil {
			need.Err = err
			tr.Problems = append(tr.Problems, need)
			return tr, nil
		}
		tr.join(path, s)
		tr.Members = append(tr.Members, Member{Path: path, Sequence: seq + 1})
		set, seq = s, seq+1
	}
	return tr, nil
}

// memberSet reads the continuation of a set on a member of the family.
func memberSet(path string, family uint32, seq, number int) (*mtf.Set, error) {
	if err := CheckMember(path, family, seq); err != nil {
		return nil, err
	}
	m, err := Open(path)
	if err != nil {
		return nil, err
	}
	info := m.Info()
	f, r, err := m.open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := r.Scan()
	if err != nil {
		return nil, fmt.Errorf("reading tape %q: %w", info.Name, err)
	}
	for _, s := range c.Sets {
		if int(s.Start.Number) == number {
			return s, nil
		}
	}
	return nil, fmt.Errorf("tape %q (member %d of media family %08X) does not go on with set %d", info.Name, seq, family, number)
}

// join adds a member's continuation of the set to the tree.
func (tr *Tree) join(member string, s *mtf.Set) {
	vols := make([]*Node, len(s.Volumes))
	for i, v := range s.Volumes {
		name := v.Device
		if name == "" {
			name = fmt.Sprintf("Volume %d", i+1)
		}
		n := tr.root.byName[name]
		if n == nil {
			tr.Volumes = append(tr.Volumes, Volume{Device: v.Device, Name: v.Name, Machine: v.Machine})
			n = tr.add(tr.root, name, KindVolume)
			n.Offset, n.FLA, n.Modified, n.Volume, n.member = v.Offset, v.FLA, v.WriteDate, len(tr.Volumes)-1, member
		}
		vols[i] = n
	}
	volume := func(i int) *Node {
		if i < 0 || i >= len(vols) {
			if tr.root.byName[""] == nil {
				tr.add(tr.root, "", KindVolume).Volume = -1
			}
			return tr.root.byName[""]
		}
		return vols[i]
	}
	for _, d := range s.Dirs {
		n := tr.dirPath(volume(d.Volume), d.Path)
		if n.Kind == KindDir && n.dir == nil {
			n.dir, n.Offset, n.FLA, n.Modified, n.member = d, d.Offset, d.FLA, d.Dir.Modified, member
			tr.dirs = append(tr.dirs, n)
		}
	}
	for _, e := range s.Files {
		parent := tr.dirPath(volume(e.Volume), e.Dir)
		if old := parent.byName[e.Name]; old != nil && e.Block.Continued && old.continues() {
			old.parts = append(old.parts, part{member: member, block: e.Block})
			continue
		}
		if old := parent.byName[e.Name]; old != nil {
			tr.drop(parent, old)
		}
		n := tr.add(parent, e.Name, KindFile)
		c := e.Block.Content()
		n.entry, n.Size, n.Modified, n.Offset, n.FLA, n.Corrupt, n.member = e, c.Size, e.File.Modified, e.Block.Offset, e.FLA, e.Corrupt, member
		n.Volume = volume(e.Volume).Volume // this member's VOLB, as the tree numbers it
		n.Streams = append(n.Streams, c.Skipped...)
		tr.files = append(tr.files, n)
	}
	tr.Problems = append(tr.Problems, s.Problems...)
	tr.Complete = len(tr.Problems) == 0 && s.End != nil && !s.Continues
	tr.sortAll(tr.root)
}

// continues reports whether a file's data goes on past its last part.
func (n *Node) continues() bool {
	if len(n.parts) > 0 {
		return n.parts[len(n.parts)-1].block.Continues
	}
	return n.entry != nil && n.entry.Block.Continues
}

func (tr *Tree) drop(parent, n *Node) {
	for i, c := range parent.children {
		if c == n {
			parent.children = append(parent.children[:i], parent.children[i+1:]...)
			break
		}
	}
	delete(parent.byName, n.Name)
}

// memberFile returns the open file of a member ("" is the tree's tape).
func (x *extractor) memberFile(member string) (*mtf.Reader, io.ReaderAt, error) {
	if member == "" {
		return x.r, x.ra, nil
	}
	if m, ok := x.members[member]; ok {
		return m.r, m.f, nil
	}
	f, err := os.Open(member)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	r, err := mtf.NewReader(f, st.Size(), member)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if x.members == nil {
		x.members = map[string]memberTape{}
	}
	x.members[member] = memberTape{f: f, r: r}
	return r, f, nil
}

type memberTape struct {
	f *os.File
	r *mtf.Reader
}

func (x *extractor) closeMembers() {
	for _, m := range x.members {
		m.f.Close()
	}
}

// spanned writes a file whose data lies on several members, checking the
// CSUM of the last part against all of it.
func (x *extractor) spanned(ctx context.Context, f *os.File, n *Node) (int64, error) {
	first := n.entry.Block
	if first.Data == nil {
		return 0, fmt.Errorf("%w: a file cut by the end of a medium has no data stream", mtf.ErrBounds)
	}
	full := int64(first.Data.Header.Length)
	parts := append([]part{{member: n.member, block: first}}, n.parts...)
	var sum mtf.XOR32
	var total int64
	for _, p := range parts {
		d := p.block.Data
		if d == nil || d.Header.MediaAttributes&(mtf.StreamCompressed|mtf.StreamEncrypted) != 0 {
			return total, fmt.Errorf("%w: a compressed, encrypted or empty part of a file cut by the end of a medium", mtf.ErrUnsupported)
		}
		_, ra, err := x.memberFile(p.member)
		if err != nil {
			return total, err
		}
		ln := d.OnMedium
		if ln == 0 {
			ln = int64(d.Header.Length)
		}
		k, err := copyChecked(ctx, io.MultiWriter(f, &sum), io.NewSectionReader(ra, d.Offset, ln))
		total += k
		if err != nil {
			return total, err
		}
	}
	last := parts[len(parts)-1].block
	switch {
	case last.Continues:
		return total, fmt.Errorf("%w: the file goes on on a member of the family that was not read", mtf.ErrTruncated)
	case total != full:
		return total, fmt.Errorf("%w: the parts on the members hold %d of the file's %d bytes", mtf.ErrBounds, total, full)
	case last.HasChecksum && sum.Sum32() != last.Checksum:
		return total, fmt.Errorf("%w: CSUM %#08x, the parts give %#08x", mtf.ErrChecksum, last.Checksum, sum.Sum32())
	}
	return total, nil
}
