package client_test

import (
	"context"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"exbackup/exchange"
	"exbackup/exchange/client"
	"exbackup/exchange/internal/apitest"
	"exbackup/exchange/server"
	"exbackup/exchange/wire"
)

// flipWriter flips one byte of what a handler writes, when at is set.
type flipWriter struct {
	http.ResponseWriter
	at, n int64
}

func (w *flipWriter) Write(p []byte) (int, error) {
	if i := w.at - w.n; w.at > 0 && i >= 0 && i < int64(len(p)) {
		p = append([]byte(nil), p...)
		p[i] ^= 0x40
	}
	w.n += int64(len(p))
	return w.ResponseWriter.Write(p)
}

func (w *flipWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// A backup stream hands out the CRC-32C of each piece with it, for pieces
// smaller and larger than its frames; a corrupt frame fails ReadCRC as it
// fails Read.
func TestClientBackupReadCRC(t *testing.T) {
	var flipAt atomic.Int64
	cert, fp := apiTestCert(t)
	e := apitest.NewEnv(t, false, cert, fp, server.NewKey(), func(n exchange.Node, key string) http.Handler {
		h := server.NewHandler(n, key, nil)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/files/") {
				w = &flipWriter{ResponseWriter: w, at: flipAt.Load()}
			}
			h.ServeHTTP(w, r)
		})
	})
	data := apitest.Data(3*wire.MaxChunk+77, 51)
	e.Fake.Files["priv.edb"] = data
	c := e.Dial(t)
	table := crc32.MakeTable(crc32.Castagnoli)
	type crcReader interface {
		ReadCRC([]byte) (int, uint32, error)
	}
	for _, size := range []int{4 * wire.MaxChunk, wire.MaxChunk - 1000, 5000} {
		rc, err := c.BackupRead(context.Background(), "s-1", "priv.edb")
		if err != nil {
			t.Fatal(err)
		}
		cr, ok := rc.(crcReader)
		if !ok {
			t.Fatalf("the stream (%T) gives no CRCs", rc)
		}
		var got []byte
		p := make([]byte, size)
		for {
			n, crc, err := cr.ReadCRC(p)
			if want := crc32.Checksum(p[:n], table); crc != want {
				t.Fatalf("buffer %d, piece at %d: CRC %08x, want %08x", size, len(got), crc, want)
			}
			got = append(got, p[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("buffer %d: %v", size, err)
			}
		}
		rc.Close()
		if string(got) != string(data) {
			t.Fatalf("buffer %d: payload differs", size)
		}
	}

	// A byte flipped in the payload of the second frame.
	flipAt.Store(4 + wire.MaxChunk + 4 + 4 + 10)
	read := func(withCRC bool) error {
		rc, err := c.BackupRead(context.Background(), "s-1", "priv.edb")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		p := make([]byte, wire.MaxChunk-1000)
		for {
			if withCRC {
				_, _, err = rc.(crcReader).ReadCRC(p)
			} else {
				_, err = rc.Read(p)
			}
			if err != nil {
				return err
			}
		}
	}
	want, got := read(false), read(true)
	var ce *client.CallError
	if got == nil || want == nil || got.Error() != want.Error() || !errors.Is(got, wire.ErrCorruptStream) || !errors.As(got, &ce) ||
		!strings.Contains(got.Error(), "chunk 2 at byte 1048576: checksum mismatch") {
		t.Fatalf("corrupt frame: ReadCRC says %v, Read %v", got, want)
	}
}
