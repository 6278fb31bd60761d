package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzFrameReader feeds arbitrary bytes to a FrameReader: it never panics,
// fails with a *StreamError or ends cleanly, and its ways of reading agree.
func FuzzFrameReader(f *testing.F) {
	for i, data := range [][]byte{nil, []byte("x"), frameTestData(100, 1), frameTestData(70, 2)} {
		stream := frameEncode(f, data, 16+i)
		f.Add(stream)
		f.Add(stream[:len(stream)/2])
		bad := bytes.Clone(stream)
		bad[len(bad)/3] ^= 0x55
		f.Add(bad)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0x10, 0, 0})
	f.Add([]byte{0, 0, 0, 0})

	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := io.ReadAll(NewFrameReader(bytes.NewReader(data)))
		var out bytes.Buffer
		_, err2 := NewFrameReader(bytes.NewReader(data)).WriteTo(&out)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Read says %v, WriteTo says %v", err, err2)
		}
		deferred, err3 := frameDecodeDeferred(bytes.NewReader(data), 100)
		if (err == nil) != (err3 == nil) || (err != nil && err.Error() != err3.Error()) {
			t.Fatalf("Read says %v, ReadDeferred says %v", err, err3)
		}
		if err == nil && !bytes.Equal(got, deferred) {
			t.Fatal("Read and ReadDeferred gave different payloads")
		}
		if err != nil {
			var se *StreamError
			if !errors.As(err, &se) || !errors.Is(err, ErrCorruptStream) {
				t.Fatalf("error %v (%T) is not a StreamError", err, err)
			}
			if !errors.As(err2, &se) {
				t.Fatalf("WriteTo error %v (%T) is not a StreamError", err2, err2)
			}
			return
		}
		if !bytes.Equal(got, out.Bytes()) {
			t.Fatal("Read and WriteTo gave different payloads")
		}
		if len(data) < 4+sumSize+8 || len(got) > len(data) {
			t.Fatalf("accepted %d bytes of payload from %d bytes", len(got), len(data))
		}
		// What was accepted frames again into a stream that is accepted.
		if again, err := frameDecode(frameEncode(t, got, MaxChunk)); err != nil || !bytes.Equal(again, got) {
			t.Fatalf("re-encoded payload: %v", err)
		}
	})
}
