package engine

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"exbackup/exchange/wire"
)

func TestStreamEnd(t *testing.T) {
	// stream returns a reader of a framed stream of data that has read
	// the first 4 bytes, with the trailer's checksum damaged if asked.
	stream := func(data string, damaged bool) *wire.FrameReader {
		var b bytes.Buffer
		fw := wire.NewFrameWriter(&b)
		fw.Write([]byte(data))
		fw.Close()
		raw := b.Bytes()
		if damaged {
			raw[len(raw)-9] ^= 1 // trailer: 0 u32 | checksum u32 | length u64
		}
		r := wire.NewFrameReader(bytes.NewReader(raw))
		if _, err := io.ReadFull(r, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := streamEnd(stream("data", false)); err != nil {
		t.Errorf("a stream that ends at its size: %v", err)
	}
	if err := streamEnd(stream("data and more", false)); err == nil || !strings.Contains(err.Error(), "more than the size") {
		t.Errorf("a stream longer than its size: %v", err)
	}
	if err := streamEnd(stream("data", true)); !errors.Is(err, wire.ErrCorruptStream) {
		t.Errorf("a stream whose trailer is wrong: %v", err)
	}
}
