package mtf

import "time"

// A media family spans several media (several .bkf files): a medium that
// fills up ends with a soft filemark, an EOTM block and a soft filemark,
// even in the middle of a file's data; the next medium (the TAPE block's
// sequence number one more, same family id) starts again with TAPE and
// filemark, then the set's SSET, VOLB, DIRB and FILE blocks repeated with
// the continuation attribute, the FILE's STAN stream marked continued
// (StreamContinued) and holding the rest of the data, its CSUM covering all
// of it.

// endOfMedium reports where this medium's data ends when the file ends
// with filemark, EOTM, filemark: the offset of the filemark before the
// EOTM. It reads with ReadAt, leaving the walk's cursor alone.
func (r *Reader) endOfMedium() (int64, bool) {
	if r.eom != nil {
		return *r.eom, *r.eom >= 0
	}
	end := int64(-1)
	defer func() { r.eom = &end }()
	size := r.src.size
	if size < 2*r.sfm+r.flb {
		return -1, false
	}
	fm, ok := r.peekBlock(size-r.sfm, int(r.sfm))
	if !ok {
		return -1, false
	}
	f, isFM := fm.(*Filemark)
	if !isFM || len(f.PBAs) < 2 {
		return -1, false
	}
	prev := int64(f.PBAs[1]) * r.flb
	if prev <= r.tapeEnd || prev+r.sfm >= size {
		return -1, false
	}
	if d, ok := r.peekBlock(prev+r.sfm, int(min(r.flb, size-prev-r.sfm))); !ok {
		return -1, false
	} else if _, isEOTM := d.(*EndOfMedia); !isEOTM {
		return -1, false
	}
	end = prev
	return end, true
}

// peekBlock decodes the block head at off from n bytes, without moving the
// walk.
func (r *Reader) peekBlock(off int64, n int) (Descriptor, bool) {
	if n < HeaderSize || off < 0 || off+int64(n) > r.src.size {
		return nil, false
	}
	b := make([]byte, n)
	if _, err := r.ra.ReadAt(b, off); err != nil {
		return nil, false
	}
	h, err := DecodeHeader(b)
	if err != nil || int(h.FirstStream) > n && h.Type != TypeFilemark {
		return nil, false
	}
	if h.Type == TypeFilemark {
		// DecodeBlock wants the fixed part and the entries only.
		b = b[:min(n, int(max(h.FirstStream, 60)))]
	} else {
		b = b[:h.FirstStream]
	}
	_, d, err := DecodeBlock(b, time.UTC)
	return d, err == nil
}
