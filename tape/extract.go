package tape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"exbackup/internal/durable"
	"exbackup/tape/mtf"
)

// Existing tells Extract what to do with a file already at a name.
type Existing int

const (
	// SkipExisting leaves the file there and does not extract the tape's.
	SkipExisting Existing = iota
	// Overwrite replaces it (once the tape's file is whole and checked).
	Overwrite
	// KeepBoth extracts the tape's file beside it as "name (1).ext".
	KeepBoth
)

// ExtractOptions tune Extract.
type ExtractOptions struct {
	Existing Existing
	// AlternateStreams extracts each NTFS alternate data stream (ADAT) as
	// a file beside its file, named "name:stream" mapped ("name%3Astream").
	AlternateStreams bool
	// Progress, when set, is called after each file with its tree path,
	// and the bytes extracted so far.
	Progress func(path string, bytes int64)
}

// Rename records a file that landed under another name than the tape's.
type Rename struct {
	Path   string // tree path on tape
	Disk   string // path under the destination folder
	Reason string
}

// ExtractError names one file (or folder) that was not extracted.
type ExtractError struct {
	Tape   string
	Set    int
	Path   string // tree path
	Offset int64  // of its block in the tape file
	Err    error
}

func (e *ExtractError) Error() string {
	return fmt.Sprintf("tape %q, set %d, %q at byte %d: %v", e.Tape, e.Set, e.Path, e.Offset, e.Err)
}

func (e *ExtractError) Unwrap() error { return e.Err }

// ExtractResult is what an extraction did.
type ExtractResult struct {
	Files   int   // files written
	Dirs    int   // folders made or found
	Bytes   int64 // file bytes written
	Skipped []string
	Renamed []Rename
	Failed  []error // *ExtractError, one per file not extracted
	// Lost are the damaged regions of the set that the walk skipped: what
	// they held is not in the tree at all.
	Lost []error
	// Incomplete is true when anything selected was not extracted, or the
	// set itself is damaged or unfinished.
	Incomplete bool
}

// Extract extracts files of a set into dir (see ExtractTree).
func (t *Tape) Extract(ctx context.Context, number int, dir string, items []string, o ExtractOptions) (ExtractResult, error) {
	tr, err := t.Tree(number)
	if err != nil {
		return ExtractResult{}, err
	}
	return t.ExtractTree(ctx, tr, dir, items, o)
}

// ExtractTree extracts the items of a tree (tree paths: volumes, folders,
// files; none means all) under dir, the volume as the first folder
// (dir/C/Documents/report.txt). Each file is written to a temporary name
// and renamed into place only once whole, its checksums matched and its
// times set; folders get their times at the end. Names Linux cannot hold
// are mapped (DiskName) and listed in Renamed. A file that fails is named
// in Failed and the others are still extracted; the error then sums up
// what failed, and the result says it is incomplete.
func (t *Tape) ExtractTree(ctx context.Context, tr *Tree, dir string, items []string, o ExtractOptions) (ExtractResult, error) {
	res := ExtractResult{Lost: tr.Problems, Incomplete: !tr.Complete}
	files, dirs, err := tr.selectItems(items)
	if err != nil {
		return res, err
	}
	root, err := openDest(dir)
	if err != nil {
		return res, fmt.Errorf("tape %q, set %d: %w", tr.Tape, tr.Set, err)
	}
	defer root.close()
	f, r, err := t.open()
	if err != nil {
		return res, err
	}
	defer f.Close()
	// File data is read past the page cache, as a restore reads it: once.
	direct, err := durable.OpenReader(t.path)
	if err != nil {
		return res, fmt.Errorf("tape %q: %w", tr.Tape, err)
	}
	defer direct.Close()
	x := &extractor{t: t, tr: tr, r: r, ra: f, direct: direct, root: root, o: o, res: &res, done: map[*Node]bool{}}
	defer x.closeMembers()
	for _, n := range dirs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		x.mkdir(n)
	}
	for _, n := range files {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		x.file(ctx, n)
		if o.Progress != nil {
			o.Progress(n.Path, res.Bytes)
		}
	}
	x.dirTimes(dirs)
	if len(res.Failed) > 0 {
		res.Incomplete = true
		if len(res.Lost) > 0 {
			// What the set lacks (a member not given, a region skipped)
			// is most often why its files failed: it comes first.
			return res, fmt.Errorf("%v; %d of %d files not extracted; first: %w", res.Lost[0], len(res.Failed), len(files), res.Failed[0])
		}
		return res, fmt.Errorf("tape %q, set %d: %d of %d files not extracted; first: %w", tr.Tape, tr.Set, len(res.Failed), len(files), res.Failed[0])
	}
	if res.Incomplete && len(res.Lost) > 0 {
		return res, fmt.Errorf("tape %q, set %d is damaged: what the tape still holds was extracted; lost: %w", tr.Tape, tr.Set, res.Lost[0])
	}
	if res.Incomplete {
		return res, fmt.Errorf("tape %q, set %d has no end of set on tape (the backup did not finish): what it holds was extracted", tr.Tape, tr.Set)
	}
	return res, nil
}

// selectItems returns the files (in tape order) and folders (parents
// first) under the items.
func (tr *Tree) selectItems(items []string) (files, dirs []*Node, err error) {
	picked := map[*Node]bool{}
	if len(items) == 0 {
		picked[tr.root] = true
	}
	for _, it := range items {
		n, err := tr.Lookup(it)
		if err != nil {
			return nil, nil, err
		}
		picked[n] = true
	}
	under := func(n *Node) bool {
		for p := n; p != nil; p = p.parent {
			if picked[p] {
				return true
			}
		}
		return false
	}
	for _, n := range tr.files {
		if under(n) {
			files = append(files, n)
		}
	}
	var walk func(n *Node)
	walk = func(n *Node) {
		for _, c := range n.children {
			if c.Kind != KindFile {
				if under(c) {
					dirs = append(dirs, c)
				}
				walk(c)
			}
		}
	}
	walk(tr.root)
	return files, dirs, nil
}

type extractor struct {
	t    *Tape
	tr   *Tree
	r    *mtf.Reader
	ra   io.ReaderAt
	root *destRoot
	o    ExtractOptions
	res  *ExtractResult
	done map[*Node]bool

	members map[string]memberTape // other members of the family, opened when needed
	direct  io.ReaderAt           // the tape past the page cache, for file data
}

// diskPath maps a node's tree path to its folders and name on disk,
// recording a mapped name.
func (x *extractor) diskPath(n *Node) []string {
	var rev []*Node
	for p := n; p != nil && p.parent != nil; p = p.parent {
		rev = append(rev, p)
	}
	slices.Reverse(rev)
	var parts []string
	changed := false
	for _, p := range rev {
		if p.Kind == KindVolume {
			dev := p.Name
			if p.Volume >= 0 && p.Volume < len(x.tr.Volumes) {
				dev = x.tr.Volumes[p.Volume].Device
			}
			parts = append(parts, VolumeFolder(dev)...)
			continue
		}
		d, ch := DiskName(p.Name)
		changed = changed || ch
		parts = append(parts, d)
	}
	if changed && !x.done[n] {
		x.res.Renamed = append(x.res.Renamed, Rename{Path: n.Path, Disk: strings.Join(parts, "/"), Reason: "name mapped: Linux cannot hold it as it is"})
	}
	x.done[n] = true
	return parts
}

func (x *extractor) fail(n *Node, err error) {
	var fe *mtf.FormatError
	off := n.Offset
	if errors.As(err, &fe) {
		err, off = fe.Err, fe.Offset
	}
	x.res.Failed = append(x.res.Failed, &ExtractError{Tape: x.tr.Tape, Set: x.tr.Set, Path: n.Path, Offset: off, Err: err})
}

func (x *extractor) mkdir(n *Node) {
	if _, err := x.root.dir(x.diskPath(n)); err != nil {
		x.fail(n, err)
		return
	}
	x.res.Dirs++
}

func (x *extractor) dirTimes(dirs []*Node) {
	// Children first: making or renaming into a folder changes its time.
	for i := len(dirs) - 1; i >= 0; i-- {
		n := dirs[i]
		if n.Modified.IsZero() {
			continue
		}
		parts := x.diskPath(n)
		parent, err := x.root.dir(parts[:len(parts)-1])
		if err == nil {
			err = setDirTimes(parent, parts[len(parts)-1], n.Modified, n.Modified)
		}
		if err != nil {
			x.fail(n, fmt.Errorf("setting the folder's times: %w", err))
		}
	}
}

// file extracts one file (and its alternate streams when asked).
func (x *extractor) file(ctx context.Context, n *Node) {
	parts := x.diskPath(n)
	dfd, err := x.root.dir(parts[:len(parts)-1])
	if err != nil {
		x.fail(n, err)
		return
	}
	name := parts[len(parts)-1]
	r, ra, err := x.memberFile(n.member)
	if err != nil {
		x.fail(n, err)
		return
	}
	b, err := r.ReadBlockAt(n.Offset)
	if err == nil && (b.Header.Type != mtf.TypeFile || b.Name != n.entry.Name) {
		err = fmt.Errorf("the tape holds another block at byte %d than when it was listed", n.Offset)
	}
	if err != nil {
		x.fail(n, err)
		return
	}
	if n.Corrupt {
		x.fail(n, errors.New("the file is marked corrupt on tape (it could not be read whole when it was backed up)"))
		return
	}
	c := b.Content()
	name, ok := x.placeName(n, dfd, name, parts)
	if !ok {
		return
	}
	written, err := x.write(ctx, dfd, name, n, func(f *os.File) (int64, error) {
		if b.Continues {
			return x.spanned(ctx, f, n)
		}
		return x.content(ctx, f, r, ra, b, c, n.Path)
	})
	if err != nil {
		x.fail(n, err)
		return
	}
	x.res.Files++
	x.res.Bytes += written
	if !x.o.AlternateStreams {
		return
	}
	for _, s := range c.Alternate {
		an, at, size, err := mtf.AlternateStream(ra, s)
		if err != nil {
			x.fail(n, fmt.Errorf("alternate data stream: %w", err))
			continue
		}
		disk, _ := DiskName(n.entry.Name + ":" + an)
		sub := &Node{Name: n.Name + ":" + an, Path: n.Path + ":" + an, Kind: KindFile, Offset: s.Offset, Modified: n.Modified, parent: n.parent}
		x.res.Renamed = append(x.res.Renamed, Rename{Path: sub.Path, Disk: strings.Join(append(slices.Clone(parts[:len(parts)-1]), disk), "/"), Reason: "alternate data stream kept beside its file"})
		disk, ok := x.placeName(sub, dfd, disk, parts)
		if !ok {
			continue
		}
		w, err := x.write(ctx, dfd, disk, sub, func(f *os.File) (int64, error) {
			sr, err := mtf.OpenStream(ra, s, at, size)
			if err != nil {
				return 0, err
			}
			return copyChecked(ctx, f, sr)
		})
		if err != nil {
			x.fail(sub, err)
			continue
		}
		x.res.Files++
		x.res.Bytes += w
	}
}

// placeName applies the Existing option: the name to write, or false
// when the file is to be left alone.
func (x *extractor) placeName(n *Node, dfd int, name string, parts []string) (string, bool) {
	there, err := exists(dfd, name)
	if err != nil {
		x.fail(n, err)
		return "", false
	}
	if !there || x.o.Existing == Overwrite {
		return name, true
	}
	if x.o.Existing == SkipExisting {
		x.res.Skipped = append(x.res.Skipped, n.Path)
		return "", false
	}
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 1; i < 10000; i++ {
		cand := fmt.Sprintf("%s (%d)%s", base, i, ext)
		if there, err := exists(dfd, cand); err == nil && !there {
			x.res.Renamed = append(x.res.Renamed, Rename{Path: n.Path, Disk: strings.Join(append(slices.Clone(parts[:len(parts)-1]), cand), "/"), Reason: "a file of that name was already there"})
			return cand, true
		}
	}
	x.fail(n, fmt.Errorf("no free name beside %s", name))
	return "", false
}

// write creates the file under a temporary name, fills it, syncs it, sets
// its times and renames it into place; on any failure the temporary file
// goes and nothing is left under the real name.
func (x *extractor) write(ctx context.Context, dfd int, name string, n *Node, fill func(*os.File) (int64, error)) (int64, error) {
	f, tmp, err := createTemp(dfd, name)
	if err != nil {
		return 0, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			removeTemp(dfd, tmp)
		}
	}()
	written, err := fill(f)
	if err != nil {
		return written, err
	}
	if err := f.Sync(); err != nil {
		return written, err
	}
	if !n.Modified.IsZero() {
		atime := n.Modified
		if n.entry != nil && !n.entry.File.Accessed.IsZero() {
			atime = n.entry.File.Accessed
		}
		if err := setFileTimes(f, atime, n.Modified); err != nil {
			return written, err
		}
	}
	if err := f.Close(); err != nil {
		return written, err
	}
	if err := ctx.Err(); err != nil {
		return written, err
	}
	if err := commit(dfd, tmp, name); err != nil {
		return written, err
	}
	ok = true
	return written, nil
}

// content writes a file's data: plain, compressed or sparse.
func (x *extractor) content(ctx context.Context, f sink, r *mtf.Reader, ra io.ReaderAt, b *mtf.Block, c mtf.Content, p string) (int64, error) {
	switch {
	case c.Encrypted:
		return 0, fmt.Errorf("%w: the file's data is encrypted", mtf.ErrUnsupported)
	case len(c.Sparse) > 0:
		return sparse(ctx, f, ra, c)
	case c.Data == nil:
		return 0, nil
	case c.Compressed:
		if c.Data.Header.CompressionAlgorithm != mtf.CompressionLZS221 {
			return 0, fmt.Errorf("%w: compression algorithm %#04x", mtf.ErrUnsupported, c.Data.Header.CompressionAlgorithm)
		}
		raw := int64(c.Data.Header.Length)
		sr, err := mtf.OpenStream(ra, *c.Data, c.Data.Offset, raw)
		if err != nil {
			return 0, err
		}
		n, err := copyChecked(ctx, f, &frameCheck{fr: mtf.NewFrameReader(sr, raw), sr: sr})
		if err == nil && c.Size > 0 && n != c.Size {
			err = fmt.Errorf("%w: the frames hold %d bytes, the file is %d", mtf.ErrBounds, n, c.Size)
		}
		return n, err
	}
	o := mtf.DataOptions{Strong: true}
	if r == x.r {
		o.Source, o.Align = x.direct, durable.Alignment
	}
	d, err := r.OpenData(b, p, o)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	return io.Copy(ctxWriter{ctx, f}, d)
}

// sink is where a file's data goes: the extracted file, or nowhere for a
// verify.
type sink interface {
	io.Writer
	io.WriterAt
	Truncate(size int64) error
}

// discard is the sink of a verify.
type discard struct{}

func (discard) Write(p []byte) (int, error)            { return len(p), nil }
func (discard) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }
func (discard) Truncate(int64) error                   { return nil }

// frameCheck ends a compressed stream with its CSUM check.
type frameCheck struct {
	fr *mtf.FrameReader
	sr *mtf.StreamReader
}

func (c *frameCheck) Read(p []byte) (int, error) {
	n, err := c.fr.Read(p)
	if err == io.EOF {
		if _, err := c.sr.Read(make([]byte, 1)); err != io.EOF {
			if err == nil {
				err = fmt.Errorf("%w: bytes after the last compression frame", mtf.ErrBounds)
			}
			return n, err
		}
	}
	return n, err
}

// sparse writes a sparse file's extents where they go and leaves the rest
// a hole: the file ends at its size with nothing written in between.
func sparse(ctx context.Context, f sink, ra io.ReaderAt, c mtf.Content) (int64, error) {
	var written int64
	size := c.Size
	if c.Data != nil && c.Data.Header.Length > 0 {
		sr, err := mtf.OpenStream(ra, *c.Data, c.Data.Offset, int64(c.Data.Header.Length))
		if err != nil {
			return 0, err
		}
		n, err := copyChecked(ctx, f, sr)
		written += n
		if err != nil {
			return written, err
		}
	}
	for _, s := range c.Sparse {
		off, at, n, err := mtf.SparseExtent(ra, s)
		if err != nil {
			return written, err
		}
		sr, err := mtf.OpenStream(ra, s, at, n)
		if err != nil {
			return written, err
		}
		k, err := copyChecked(ctx, io.NewOffsetWriter(f, off), sr)
		written += k
		if err != nil {
			return written, err
		}
		size = max(size, off+n)
	}
	return written, f.Truncate(size)
}

// copyChecked copies to the end, where the reader's checks run.
func copyChecked(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	return io.CopyBuffer(ctxWriter{ctx, w}, r, make([]byte, 256<<10))
}

// ctxWriter stops a long copy when the context ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
