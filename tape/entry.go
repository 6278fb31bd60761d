package tape

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"exbackup/internal/durable"
	"exbackup/tape/mtf"
)

// ReadOptions tune OpenEntry.
type ReadOptions struct {
	// Fast skips the digest check; the MTF CSUM and the CRC-32C are still
	// checked. By default all three are.
	Fast bool
	// ChunkSize is the size of each read from the tape file (default 1 MiB);
	// a few chunks are read ahead.
	ChunkSize int
	// Keys unlock the data of an encrypted set; without them OpenEntry
	// fails with a *KeyError.
	Keys KeyProvider

	sealed bool // read encrypted data as it lies (Verify without the key)
}

// EntryReader streams one entry's data: exactly Size bytes, then the checks.
// A mismatch is returned by the Read that would have returned io.EOF, as an
// error naming the tape, the set and the file.
type EntryReader struct {
	f    *os.File
	src  *durable.Reader // the data's handle
	d    *mtf.DataReader
	e    Entry
	tape string
}

// OpenEntry opens an entry listed by Sets. The entry's FILE block is read
// again and must still be the same file.
func (t *Tape) OpenEntry(e Entry, o ReadOptions) (*EntryReader, error) {
	f, r, err := t.open()
	if err != nil {
		return nil, err
	}
	name := t.displayName()
	b, err := r.ReadBlockAt(e.Offset)
	if err == nil && (b.Header.Type != mtf.TypeFile || b.Name != path.Base(e.Path) || b.Data != nil && b.DataSize() != e.Size) {
		err = fmt.Errorf("tape %q, set %d, file %q: the tape holds another block at byte %d", name, e.Set, e.Path, e.Offset)
	}
	if err == nil && !e.Hash.IsZero() && (b.Hash == nil || hashOf(b.Hash) != e.Hash) {
		err = fmt.Errorf("tape %q, set %d, file %q: %w: the tape records another hash", name, e.Set, e.Path, mtf.ErrHash)
	}
	// The data is read past the page cache, as from a drive: a restore
	// or a verify reads it once.
	var src *durable.Reader
	if err == nil {
		src, err = durable.OpenReader(t.path)
	}
	var key []byte
	if err == nil && b.Encrypted() && !o.sealed {
		key, err = t.setKey(r, e, o.Keys)
		defer clear(key)
	}
	var d *mtf.DataReader
	if err == nil {
		d, err = r.OpenData(b, e.Path, mtf.DataOptions{Strong: !o.Fast, ChunkSize: o.ChunkSize, Align: durable.Alignment, Source: src, Key: key, Sealed: o.sealed})
	}
	if err != nil {
		if src != nil {
			src.Close()
		}
		f.Close()
		return nil, locate(err, e)
	}
	return &EntryReader{f: f, src: src, d: d, e: e, tape: name}, nil
}

// locate fills in the set and file of a format error.
func locate(err error, e Entry) error {
	var fe *mtf.FormatError
	if errors.As(err, &fe) {
		fe.Set, fe.File = e.Set, e.Path
	}
	return err
}

// Size returns the entry's data length.
func (r *EntryReader) Size() int64 { return r.d.Size() }

// Read reads the entry's data.
func (r *EntryReader) Read(p []byte) (int, error) {
	n, err := r.d.Read(p)
	if err != nil && err != io.EOF {
		err = locate(err, r.e)
	}
	return n, err
}

// ReadChunk returns the next piece of the entry's data with its CRC-32C
// (see mtf.DataReader.ReadChunk); after the last it returns the checks'
// error, or io.EOF.
func (r *EntryReader) ReadChunk() ([]byte, uint32, error) {
	p, crc, err := r.d.ReadChunk()
	if err != nil && err != io.EOF {
		err = locate(err, r.e)
	}
	return p, crc, err
}

// WriteTo writes the rest of the data to w without an intermediate copy
// (io.Copy uses it); it returns the checks' error, or nil.
func (r *EntryReader) WriteTo(w io.Writer) (int64, error) {
	n, err := r.d.WriteTo(w)
	if err != nil {
		err = locate(err, r.e)
	}
	return n, err
}

// Close stops reading ahead and releases the tape file.
func (r *EntryReader) Close() error {
	r.d.Close()
	r.src.Close()
	return r.f.Close()
}
