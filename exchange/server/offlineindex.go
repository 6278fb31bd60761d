package server

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"exbackup/exchange"

	bolt "go.etcd.io/bbolt"
)

// The summary index of a recovered folder (items.idx): what listings of
// mailboxes, folders, messages and posts show, written once at the end of
// an offline recovery, so that listing never reads the databases.
//
// Why: the databases are read through bbolt's mapping of the file, and
// every page it touches counts in the reader's resident memory until the
// mapping goes. The records of a folder's messages sit in leaf pages
// interleaved with the messages' bodies, and the kernel maps the pages
// around each one it faults in, so listing a 10,000-message folder from
// priv.edb made some hundred MiB of it resident. The index is read with
// ordinary reads into a buffer of the folder's size.
//
// Layout: for each folder (mailbox folders, then public folders) a
// section of JSON lines, one exchange.ItemSummary each in UID (post: LSN)
// order; then the header (offlineIndex, JSON) locating every section with
// its SHA-256. recovered.json locates the header and holds the SHA-256 of
// the whole file, which ReopenOffline checks.
const offlineIndexFile = "items.idx"

// indexReopen is how many records the index build reads from a database
// before it opens the database again, which unmaps the pages read so far.
var indexReopen = 1024

// offlineIndex is the index's header.
type offlineIndex struct {
	Mailboxes []indexMailbox `json:"mailboxes"`
	// Public are the public folders, in name order.
	Public []indexFolder `json:"public"`
}

type indexMailbox struct {
	Summary exchange.MailboxSummary `json:"summary"`
	// Folders are in name order.
	Folders []indexFolder `json:"folders"`
}

type indexFolder struct {
	Summary exchange.FolderSummary `json:"summary"`
	// Off and Len locate the folder's section, SHA256 is its digest.
	Off    int64  `json:"off"`
	Len    int64  `json:"len"`
	SHA256 string `json:"sha256"`
	// Error is why the folder's items cannot be listed: a record of the
	// database that does not read. Its listing answers it.
	Error string `json:"error,omitempty"`
}

// offlineIndexRef is what recovered.json says of the index.
type offlineIndexRef struct {
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	HeaderOff int64  `json:"headerOff"`
	HeaderLen int64  `json:"headerLen"`
}

// recordError is a record of a database that does not read: it fails its
// folder's listing, not the index.
type recordError struct{ err error }

func (e recordError) Error() string { return e.err.Error() }

// chunkedDB reads a database for the index, opening it again every
// indexReopen records so that what it maps stays small.
type chunkedDB struct {
	path string
	db   *bolt.DB
	n    int
}

func openChunked(path string) (*chunkedDB, error) {
	db, err := boltOpen(path, true)
	if err != nil {
		return nil, err
	}
	return &chunkedDB{path: path, db: db}, nil
}

func (c *chunkedDB) Close() error { return c.db.Close() }

func (c *chunkedDB) reopen() error {
	if err := c.db.Close(); err != nil {
		return err
	}
	db, err := boltOpen(c.path, true)
	if err != nil {
		return err
	}
	c.db, c.n = db, 0
	return nil
}

// each calls fn for each key of the bucket that bucket finds (none when
// it finds none), in key order, across as many transactions as it takes.
// k and v are valid during the call only.
func (c *chunkedDB) each(bucket func(tx *bolt.Tx) *bolt.Bucket, fn func(k, v []byte) error) error {
	var after []byte
	for {
		more := false
		err := c.db.View(func(tx *bolt.Tx) error {
			b := bucket(tx)
			if b == nil {
				return nil
			}
			cur := b.Cursor()
			k, v := cur.First()
			if after != nil {
				if k, v = cur.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = cur.Next()
				}
			}
			for ; k != nil; k, v = cur.Next() {
				if v == nil {
					continue // a bucket
				}
				if err := fn(k, v); err != nil {
					return err
				}
				if c.n++; c.n >= indexReopen {
					after, more = slices.Clone(k), true
					return nil
				}
			}
			return nil
		})
		if err != nil || !more {
			return err
		}
		if err := c.reopen(); err != nil {
			return err
		}
	}
}

// indexWriter writes the index's sections and keeps the whole file's
// digest.
type indexWriter struct {
	w     *bufio.Writer
	whole hash.Hash
	off   int64
}

func (iw *indexWriter) Write(p []byte) (int, error) {
	n, err := iw.w.Write(p)
	iw.whole.Write(p[:n])
	iw.off += int64(n)
	return n, err
}

// section writes one folder's items: list calls add for each.
func (iw *indexWriter) section(f *indexFolder, list func(add func(exchange.ItemSummary) error) error) error {
	sum := sha256.New()
	f.Off = iw.off
	enc := json.NewEncoder(io.MultiWriter(iw, sum))
	err := list(func(it exchange.ItemSummary) error { return enc.Encode(it) })
	var re recordError
	if errors.As(err, &re) {
		f.Error, err = re.Error(), nil
	}
	f.Len, f.SHA256 = iw.off-f.Off, hex.EncodeToString(sum.Sum(nil))
	return err
}

// buildOfflineIndex writes dir's index from its recovered databases (pub:
// whether pub.edb is among them), synced, and answers where it is.
func buildOfflineIndex(dir string, pub bool) (ref offlineIndexRef, err error) {
	path := filepath.Join(dir, offlineIndexFile)
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return ref, err
	}
	defer func() {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	iw := &indexWriter{w: bufio.NewWriterSize(file, 256<<10), whole: sha256.New()}
	var idx offlineIndex
	if err := indexMailboxes(dir, iw, &idx); err != nil {
		return ref, fmt.Errorf("%s: %w", privEDB, err)
	}
	if pub {
		if err := indexPublic(dir, iw, &idx); err != nil {
			return ref, fmt.Errorf("%s: %w", pubEDB, err)
		}
	}
	head, _ := json.Marshal(idx)
	ref.HeaderOff, ref.HeaderLen = iw.off, int64(len(head))
	if _, err := iw.Write(head); err != nil {
		return ref, err
	}
	if err := iw.w.Flush(); err != nil {
		return ref, err
	}
	if err := file.Sync(); err != nil {
		return ref, err
	}
	ref.Size, ref.SHA256 = iw.off, hex.EncodeToString(iw.whole.Sum(nil))
	return ref, nil
}

func indexMailboxes(dir string, iw *indexWriter, idx *offlineIndex) error {
	c, err := openChunked(filepath.Join(dir, privEDB))
	if err != nil {
		return err
	}
	defer c.Close()
	// The mailboxes and their folders first: one small read.
	err = c.db.View(func(tx *bolt.Tx) error {
		mbs := tx.Bucket(bMailboxes)
		if mbs == nil {
			return nil
		}
		return mbs.ForEachBucket(func(k []byte) error {
			mb := mbs.Bucket(k)
			m := indexMailbox{Summary: exchange.MailboxSummary{Recipient: exchange.Recipient{Alias: string(k)}}}
			json.Unmarshal(mb.Get(kInfo), &m.Summary.Recipient)
			eachFolderInfo(mb, func(name string, fi folderInfo) {
				m.Summary.Folders++
				m.Summary.Messages += fi.Messages
				m.Summary.Size += fi.Size
				m.Folders = append(m.Folders, indexFolder{Summary: exchange.FolderSummary{Path: name, Messages: fi.Messages, Size: fi.Size}})
			})
			idx.Mailboxes = append(idx.Mailboxes, m)
			return nil
		})
	})
	if err != nil {
		return err
	}
	for i := range idx.Mailboxes {
		m := &idx.Mailboxes[i]
		alias := m.Summary.Alias
		for j := range m.Folders {
			f := &m.Folders[j]
			name := f.Summary.Path
			msgs := func(tx *bolt.Tx) *bolt.Bucket {
				if fr := openFolder(mailbox2(tx, alias), name); fr != nil {
					return fr.b.Bucket(bMsgs)
				}
				return nil
			}
			err := iw.section(f, func(add func(exchange.ItemSummary) error) error {
				return c.each(msgs, func(k, v []byte) error {
					var r msgRecord
					if err := json.Unmarshal(v, &r); err != nil {
						return recordError{fmt.Errorf("message %d of %s/%s: %w", binary.BigEndian.Uint32(k), alias, name, err)}
					}
					return add(itemOf(binary.BigEndian.Uint32(k), r))
				})
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func indexPublic(dir string, iw *indexWriter, idx *offlineIndex) error {
	c, err := openChunked(filepath.Join(dir, pubEDB))
	if err != nil {
		return err
	}
	defer c.Close()
	err = c.db.View(func(tx *bolt.Tx) error {
		fs := tx.Bucket(bFolders)
		if fs == nil {
			return nil
		}
		return fs.ForEachBucket(func(k []byte) error {
			idx.Public = append(idx.Public, indexFolder{Summary: exchange.FolderSummary{Path: string(k)}})
			return nil
		})
	})
	if err != nil {
		return err
	}
	sort.Slice(idx.Public, func(i, j int) bool { return idx.Public[i].Summary.Path < idx.Public[j].Summary.Path })
	for i := range idx.Public {
		f := &idx.Public[i]
		name := f.Summary.Path
		posts := func(tx *bolt.Tx) *bolt.Bucket {
			if fs := tx.Bucket(bFolders); fs != nil {
				return fs.Bucket([]byte(name))
			}
			return nil
		}
		err := iw.section(f, func(add func(exchange.ItemSummary) error) error {
			return c.each(posts, func(k, v []byte) error {
				var p exchange.Post
				if err := json.Unmarshal(v, &p); err != nil {
					return recordError{fmt.Errorf("post %d of public folder %s: %w", binary.BigEndian.Uint64(k), name, err)}
				}
				it, _ := postItem(binary.BigEndian.Uint64(k), p)
				f.Summary.Messages++
				f.Summary.Size += it.Size
				return add(it)
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// openedIndex is the index of an opened folder: its header, and the file
// sections are read from.
type openedIndex struct {
	dir  string
	file *os.File
	head offlineIndex
}

func (x *openedIndex) damaged(what string) error {
	return fmt.Errorf("the backup staged in %s: its index (%s) is damaged%s: recover it again", x.dir, offlineIndexFile, what)
}

// openOfflineIndex opens dir's index and checks it whole against ref.
func openOfflineIndex(dir string, ref offlineIndexRef) (*openedIndex, error) {
	file, err := os.Open(filepath.Join(dir, offlineIndexFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("the backup staged in %s: its index (%s) is missing: recover it again", dir, offlineIndexFile)
	}
	if err != nil {
		return nil, fmt.Errorf("the backup staged in %s: %w", dir, err)
	}
	x := &openedIndex{dir: dir, file: file}
	sum := sha256.New()
	n, err := io.Copy(sum, bufio.NewReaderSize(file, 256<<10))
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("the backup staged in %s: reading its index (%s): %w", dir, offlineIndexFile, err)
	}
	if n != ref.Size || hex.EncodeToString(sum.Sum(nil)) != ref.SHA256 || ref.HeaderOff < 0 || ref.HeaderLen < 0 || ref.HeaderOff+ref.HeaderLen != ref.Size {
		file.Close()
		return nil, x.damaged("")
	}
	head := make([]byte, ref.HeaderLen)
	if _, err := file.ReadAt(head, ref.HeaderOff); err != nil {
		file.Close()
		return nil, fmt.Errorf("the backup staged in %s: reading its index (%s): %w", dir, offlineIndexFile, err)
	}
	if err := json.Unmarshal(head, &x.head); err != nil {
		file.Close()
		return nil, x.damaged("")
	}
	return x, nil
}

func (x *openedIndex) Close() error { return x.file.Close() }

func (x *openedIndex) mailbox(alias string) *indexMailbox {
	for i := range x.head.Mailboxes {
		if x.head.Mailboxes[i].Summary.Alias == alias {
			return &x.head.Mailboxes[i]
		}
	}
	return nil
}

func findIndexFolder(fs []indexFolder, name string) *indexFolder {
	for i := range fs {
		if fs[i].Summary.Path == name {
			return &fs[i]
		}
	}
	return nil
}

// items reads a folder's section (what names the folder for an error).
func (x *openedIndex) items(f *indexFolder, what string) ([]exchange.ItemSummary, error) {
	if f.Error != "" {
		return nil, errors.New(f.Error)
	}
	buf := make([]byte, f.Len)
	if _, err := x.file.ReadAt(buf, f.Off); err != nil {
		return nil, fmt.Errorf("the backup staged in %s: reading its index (%s) for %s: %w", x.dir, offlineIndexFile, what, err)
	}
	if sum := sha256.Sum256(buf); hex.EncodeToString(sum[:]) != f.SHA256 {
		return nil, x.damaged(" at " + what)
	}
	out := make([]exchange.ItemSummary, 0, f.Summary.Messages)
	dec := json.NewDecoder(bytes.NewReader(buf))
	for dec.More() {
		var it exchange.ItemSummary
		if err := dec.Decode(&it); err != nil {
			return nil, x.damaged(" at " + what)
		}
		out = append(out, it)
	}
	return out, nil
}
