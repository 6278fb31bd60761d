package mtf

import (
	"bytes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"

	"exbackup/internal/crc32c"
)

// Encrypted sets.
//
// An encrypted set has the SSET attribute SetEncryption and, in its SSET, an
// EXBK stream (KeyHeader) holding an age header (age-encryption.org/v1)
// that wraps the set's 16-byte data key, the age "file key", for each of
// its recipients. Every FILE's STAN stream then carries the media format
// attribute StreamEncrypted and the encryption algorithm EncryptionAge, and
// its data is an age payload under that key: a 16-byte nonce, then the
// plaintext in 64 KiB chunks, each sealed with ChaCha20-Poly1305 under
// HKDF-SHA256(data key, nonce, "payload"), the chunk counter in the nonce
// and the last chunk flagged. The set's age header followed by a file's
// STAN data is therefore an ordinary age file, which the age tool decrypts
// with the console's identity.
//
// The nonce is not drawn at random but derived from the data key, the FILE
// block's id and the file's path (FileNonce): it is still unique per file
// and key, and a reader that recomputes it notices data moved from one file
// to another. The CSUM covers the bytes on tape (the nonce and ciphertext),
// so that any MTF reader, and a verify without the key, checks them; the
// EXBH length, CRC-32C and digest are those of the plaintext, checked after
// decryption. Names, dates and sizes stay in the clear: the set must list
// without its key, and a store's files are named after their role
// (priv.edb, edb00001.log), which tells nothing of what they hold.

// StreamKeys ("EXBK") is the SSET stream of an encrypted set: its
// KeyHeader.
const StreamKeys = "EXBK"

// EncryptionAge is the STAN stream's encryption algorithm for age payloads.
// MTF leaves the values to the software vendors; these two bytes read "AG".
const EncryptionAge = 0x4741

// Sizes of the age payload.
const (
	DataKeySize     = 16 // an age file key
	PayloadNonce    = 16
	PayloadChunk    = 64 << 10
	sealedChunk     = PayloadChunk + chacha20poly1305.Overhead
	maxKeyHeader    = 16 << 10 // the whole EXBK stream
	keyHeaderPrefix = 8
)

// ErrAuth is matched by a file whose encrypted data fails its
// authentication: it was changed on tape, or belongs to another file.
var ErrAuth = errors.New("encrypted data fails its authentication")

// ErrEncrypted is matched when encrypted data is read without its key.
var ErrEncrypted = errors.New("data is encrypted")

const (
	keyHeaderVersion = 1
	cipherAgeSTREAM  = 1 // age v1 payload, nonce bound to the file (FileNonce)
)

// KeyHeader is the content of an EXBK stream:
//
//	0 u16 version (1)
//	2 u16 payload cipher (1: age v1 STREAM with a FileNonce)
//	4 u32 length n of the age header
//	8 [n] the age header: "age-encryption.org/v1\n", one stanza per
//	      recipient, the "---" line with the header MAC
//
// Nothing follows. The age header itself is checked by age when the key is
// unwrapped; here only its bounds and its first and last lines.
type KeyHeader struct {
	Age []byte
}

var (
	ageIntro = []byte("age-encryption.org/v1\n")
	ageMAC   = []byte("\n--- ")
)

// Encode returns the stream data.
func (k *KeyHeader) Encode() []byte {
	b := make([]byte, keyHeaderPrefix+len(k.Age))
	binary.LittleEndian.PutUint16(b, keyHeaderVersion)
	binary.LittleEndian.PutUint16(b[2:], cipherAgeSTREAM)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(k.Age)))
	copy(b[keyHeaderPrefix:], k.Age)
	return b
}

// Recipients returns how many recipient stanzas the age header holds.
func (k *KeyHeader) Recipients() int { return bytes.Count(k.Age, []byte("\n-> ")) }

// DecodeKeyHeader decodes an EXBK stream's data.
func DecodeKeyHeader(b []byte) (KeyHeader, error) {
	if len(b) < keyHeaderPrefix || len(b) > maxKeyHeader {
		return KeyHeader{}, detail(ErrBounds, "%s stream of %d bytes, want %d to %d", StreamKeys, len(b), keyHeaderPrefix, maxKeyHeader)
	}
	le := binary.LittleEndian
	if v, c := le.Uint16(b), le.Uint16(b[2:]); v != keyHeaderVersion || c != cipherAgeSTREAM {
		return KeyHeader{}, detail(ErrUnsupported, "%s version %d, cipher %d", StreamKeys, v, c)
	}
	n := le.Uint32(b[4:])
	if int64(n) != int64(len(b)-keyHeaderPrefix) {
		return KeyHeader{}, detail(ErrBounds, "%s stream records an age header of %d bytes, holds %d", StreamKeys, n, len(b)-keyHeaderPrefix)
	}
	a := b[keyHeaderPrefix:]
	if !bytes.HasPrefix(a, ageIntro) || bytes.LastIndex(a, ageMAC) < len(ageIntro)-1 || a[len(a)-1] != '\n' {
		return KeyHeader{}, detail(ErrBounds, "%s stream holds no age header", StreamKeys)
	}
	k := KeyHeader{Age: bytes.Clone(a)}
	if k.Recipients() == 0 {
		return KeyHeader{}, detail(ErrBounds, "%s stream's age header has no recipient", StreamKeys)
	}
	return k, nil
}

// SealedSize returns the length on tape of size bytes of plaintext: the
// nonce, the chunks and a tag for each (an empty file has one empty chunk).
func SealedSize(size int64) int64 {
	chunks := max(1, (size+PayloadChunk-1)/PayloadChunk)
	return PayloadNonce + size + chunks*chacha20poly1305.Overhead
}

// plainSize inverts SealedSize; ok is false for a length no payload has.
func plainSize(sealed int64) (int64, bool) {
	n := sealed - PayloadNonce
	if n < chacha20poly1305.Overhead {
		return 0, false
	}
	chunks := (n + sealedChunk - 1) / sealedChunk
	plain := n - chunks*chacha20poly1305.Overhead
	if plain < 0 || SealedSize(plain) != sealed {
		return 0, false
	}
	return plain, true
}

// Encrypted reports whether a FILE's data is encrypted.
func (b *Block) Encrypted() bool {
	return b.Data != nil && b.Data.Header.MediaAttributes&StreamEncrypted != 0
}

// DataSize returns the length of a FILE's data as backed up: the plaintext
// length of encrypted data, else the STAN length.
func (b *Block) DataSize() int64 {
	if b.Data == nil {
		return 0
	}
	if b.Encrypted() && b.Data.Header.EncryptionAlgorithm == EncryptionAge {
		if n, ok := plainSize(int64(b.Data.Header.Length)); ok {
			return n
		}
	}
	return int64(b.Data.Header.Length)
}

// FileNonce returns the payload nonce of a file of an encrypted set: an
// HMAC, keyed from the set's data key, of the FILE block's id and the
// file's '/'-separated path in its volume.
func FileNonce(key []byte, id uint32, path string) [PayloadNonce]byte {
	k := derive(key, nil, "exbackup file nonce")
	m := hmac.New(sha256.New, k[:])
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], id)
	m.Write(b[:])
	m.Write([]byte(path))
	var n [PayloadNonce]byte
	copy(n[:], m.Sum(nil))
	return n
}

func derive(key, salt []byte, info string) [32]byte {
	var k [32]byte
	if _, err := io.ReadFull(hkdf.New(sha256.New, key, salt, []byte(info)), k[:]); err != nil {
		panic("mtf: HKDF: " + err.Error())
	}
	return k
}

// payload seals or opens one file's chunks in order.
type payload struct {
	aead  cipher.AEAD
	nonce [PayloadNonce]byte
	ctr   uint64
	cn    [chacha20poly1305.NonceSize]byte // the current chunk's nonce
}

func newPayload(key []byte, nonce [PayloadNonce]byte) (*payload, error) {
	if len(key) != DataKeySize {
		return nil, fmt.Errorf("data key of %d bytes, want %d", len(key), DataKeySize)
	}
	k := derive(key, nonce[:], "payload")
	a, err := chacha20poly1305.New(k[:])
	if err != nil {
		return nil, err
	}
	return &payload{aead: a, nonce: nonce}, nil
}

// chunkNonce returns the next chunk's nonce: the chunk counter, big-endian
// in 11 bytes, then 1 for the last chunk. It is valid until the next call.
func (p *payload) chunkNonce(last bool) []byte {
	binary.BigEndian.PutUint64(p.cn[3:11], p.ctr)
	p.cn[11] = 0
	if last {
		p.cn[11] = 1
	}
	p.ctr++
	return p.cn[:]
}

// open decrypts whole sealed chunks in buf in place and packs the
// plaintext at its start; last says buf ends the payload.
func (p *payload) open(buf []byte, last bool) ([]byte, error) {
	out := 0
	for rest := buf; len(rest) > 0; {
		n := min(len(rest), sealedChunk)
		idx := p.ctr
		pt, err := p.aead.Open(rest[:0], p.chunkNonce(last && n == len(rest)), rest[:n], nil)
		if err != nil {
			return nil, detail(ErrAuth, "chunk %d (from plaintext byte %d) was changed", idx, idx*PayloadChunk)
		}
		out += copy(buf[out:], pt)
		rest = rest[n:]
	}
	return buf[:out], nil
}

// WriteEncryptedFile writes a FILE block of an encrypted set, as WriteFile
// does, with its data sealed under the set's data key (see the package
// documentation); path is the file's path in its volume, bound into the
// nonce. The EXBH records the plaintext's length, CRC-32C and digest.
func (w *Writer) WriteEncryptedFile(f *File, path string, size int64, r io.Reader, key []byte, streams ...Stream) (Written, FileHash, error) {
	if size < 0 {
		return Written{}, FileHash{}, fmt.Errorf("mtf: file %q of negative size", f.Name)
	}
	if w.plain {
		return Written{}, FileHash{}, errors.New("mtf: a plain tape cannot hold encrypted files")
	}
	p, err := newPayload(key, FileNonce(key, f.ID, path))
	if err != nil {
		return Written{}, FileHash{}, fmt.Errorf("mtf: file %q: %w", path, err)
	}
	if enc := EncodeString(f.Name, StringUTF16); len(enc) > MaxInlineName {
		w.longName = f.Name
		cp := *f
		cp.Name = ""
		cp.Attributes |= FileNameInStream
		f = &cp
		streams = append([]Stream{{ID: StreamFileName, Data: enc}}, streams...)
	}
	at, err := w.head(&Header{DisplayableSize: uint64(size)}, f)
	if err != nil {
		return at, FileHash{}, err
	}
	for _, s := range streams {
		w.stream(s)
	}
	w.streamHeader(StreamHeader{
		ID: StreamStandard, MediaAttributes: StreamChecksumFollow | StreamEncrypted,
		EncryptionAlgorithm: EncryptionAge, Length: uint64(SealedSize(size)),
	})
	sum, err := w.sealData(size, r, p)
	if err != nil {
		return at, sum, err
	}
	w.zero(Pad4(w.pos))
	var c [4]byte
	binary.LittleEndian.PutUint32(c[:], w.xor.Sum32())
	w.stream(Stream{ID: StreamChecksum, Data: c[:]})
	w.stream(Stream{ID: StreamFileHash, Data: sum.Encode()})
	w.tableEntry(at.FLA, sum)
	w.pad()
	return at, sum, w.err
}

// Plaintext is read in stretches of stageSize, a few at a time: one
// goroutine reads the next stretch and takes its CRC-32C (see readFullCRC)
// while the digest goroutine hashes it and the writer seals the one
// before, so that on two cores the cipher alone sets the pace.
const (
	stageSize    = 16 * PayloadChunk
	stageBuffers = 4
)

// staged is a stretch of plaintext read, with the CRC-32C of the data up to
// its end; hashed is closed once the digest goroutine is done with it.
type staged struct {
	buf    []byte
	last   bool
	crc    uint32
	hashed chan struct{}
	err    error
}

// sealData reads size bytes of plaintext from r and seals them chunk by
// chunk straight into the write buffer, the CRC-32C and digest computed on
// the plaintext on the way; the CSUM is over what lands on tape.
func (w *Writer) sealData(size int64, r io.Reader, p *payload) (FileHash, error) {
	w.crc = 0
	w.xor = XOR32{}
	w.raw(p.nonce[:])
	w.xor.Write(p.nonce[:])
	hashq := make(chan segment, stageBuffers)
	sums := make(chan hashed, 1)
	go hashSegments(w.sum, checksums{}, hashq, sums)
	free := make(chan []byte, stageBuffers)
	n := min(stageSize, max(size, 1))
	// One stretch more than the file has, for reading ahead, up to the
	// channel's room.
	for range min(stageBuffers, (size+n-1)/n+1) {
		free <- make([]byte, n)
	}
	filled := make(chan staged, stageBuffers)
	quit := make(chan struct{})
	go readStages(r, size, free, filled, hashq, quit)
	var scratch []byte
	for st := range filled {
		if st.err != nil {
			if w.err == nil {
				w.err = st.err
			}
			break
		}
		for off := 0; ; {
			pt := st.buf[off:min(off+PayloadChunk, len(st.buf))]
			off += len(pt)
			nonce := p.chunkNonce(st.last && off == len(st.buf))
			if room := w.buf[len(w.buf):cap(w.buf)]; len(room) >= len(pt)+chacha20poly1305.Overhead {
				ct := p.aead.Seal(room[:0], nonce, pt, nil)
				w.xor.Write(ct)
				w.buf = w.buf[:len(w.buf)+len(ct)]
				w.pos += int64(len(ct))
			} else {
				scratch = p.aead.Seal(scratch[:0], nonce, pt, nil)
				w.xor.Write(scratch)
				w.raw(scratch)
			}
			if off == len(st.buf) {
				break
			}
		}
		w.crc = st.crc
		<-st.hashed
		free <- st.buf[:cap(st.buf)]
		if w.err != nil {
			break
		}
	}
	close(quit)
	for range filled {
		// the reader stops at quit; what it had staged is dropped
	}
	sum := FileHash{Size: uint64(size), CRC32C: w.crc, Algo: w.algo, Sum: (<-sums).sum}
	return sum, w.err
}

// readStages reads the plaintext into free buffers, carries the CRC-32C on,
// hands each stretch to the digest goroutine and then to the sealer. It
// closes both queues when done, failed or told to quit.
func readStages(r io.Reader, size int64, free chan []byte, filled chan<- staged, hashq chan<- segment, quit <-chan struct{}) {
	defer close(filled)
	defer close(hashq)
	var crc uint32
	left := size
	for first := true; first || left > 0; first = false {
		var buf []byte
		select {
		case buf = <-free:
		case <-quit:
			return
		}
		buf = buf[:min(int64(len(buf)), left)]
		n, sum, err := readFullCRC(r, buf, crc)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			err = fmt.Errorf("mtf: reading file data after %d of %d bytes: %w", size-left+int64(n), size, err)
			select {
			case filled <- staged{err: err}:
			case <-quit:
			}
			return
		}
		crc = sum
		done := make(chan struct{})
		hashq <- segment{p: buf, done: done}
		left -= int64(len(buf))
		select {
		case filled <- staged{buf: buf, last: left == 0, crc: crc, hashed: done}:
		case <-quit:
			return
		}
	}
}

// readFullCRC reads len(buf) bytes from r as io.ReadFull does, and carries
// crc, the CRC-32C of the data before them, on over them: combined from the
// source's own when r is a CRCReader, computed otherwise.
func readFullCRC(r io.Reader, buf []byte, crc uint32) (int, uint32, error) {
	cr, ok := r.(CRCReader)
	if !ok {
		n, err := io.ReadFull(r, buf)
		return n, crc32.Update(crc, castagnoli, buf[:n]), err
	}
	n := 0
	for n < len(buf) {
		k, c, err := cr.ReadCRC(buf[n:])
		if k > 0 {
			crc = crc32c.Combine(crc, c, uint64(k))
			n += k
		}
		if err != nil && n < len(buf) {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return n, crc, err
		}
	}
	return n, crc, nil
}

// decrypting sets d up for encrypted data: with the key, the payload's
// nonce is read and checked against the file and the data decrypted; with
// Sealed, the data is read as it lies.
func (d *DataReader) decrypting(src io.ReaderAt, o DataOptions) error {
	sh := d.b.Data.Header
	if sh.EncryptionAlgorithm != EncryptionAge || sh.MediaAttributes&StreamEncrypted == 0 {
		return detail(ErrUnsupported, "encryption algorithm %#04x", sh.EncryptionAlgorithm)
	}
	plain, ok := plainSize(int64(sh.Length))
	if !ok {
		return detail(ErrBounds, "encrypted STAN stream of %d bytes, which no payload has", sh.Length)
	}
	if o.Sealed {
		d.sealed = true
		return nil
	}
	if o.Key == nil {
		return ErrEncrypted
	}
	f, ok := d.b.Desc.(*File)
	if !ok {
		return detail(ErrUnsupported, "encrypted data outside a FILE block")
	}
	var nonce [PayloadNonce]byte
	if n, err := src.ReadAt(nonce[:], d.spanAt); n < len(nonce) {
		if err == nil || err == io.EOF {
			err = detail(ErrTruncated, "file data ends early")
		}
		return fmt.Errorf("reading data at byte %d: %w", d.spanAt, err)
	}
	if want := FileNonce(o.Key, f.ID, d.path); nonce != want {
		return detail(ErrAuth, "its nonce is not this file's: the data was changed or belongs to another file")
	}
	p, err := newPayload(o.Key, nonce)
	if err != nil {
		return err
	}
	d.open = p
	d.xor0.Write(nonce[:])
	d.total, d.span, d.spanAt = plain, d.span-PayloadNonce, d.spanAt+PayloadNonce
	return nil
}
