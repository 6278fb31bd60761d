package exchange

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzFrameReader feeds arbitrary bytes to a FrameReader: it never panics,
// fails with a *StreamError or ends cleanly, and its two ways of reading
// agree.
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

// FuzzAPIRequest sends arbitrary requests with a valid key to the handler
// in front of a node that never fails: bad input is answered 4xx in JSON,
// never 5xx, never a panic.
func FuzzAPIRequest(f *testing.F) {
	for _, rt := range apiRoutes(f) {
		f.Add(rt.method, rt.path, rt.body)
	}
	for _, s := range []struct{ method, path, body string }{
		{"POST", "/v1/backup", `{"store":"IS","type":"normal","extra":1}`},
		{"POST", "/v1/backup", `{"store":"IS"`},
		{"POST", "/v1/restore", `{"env":{"store":"IS","type":"normal","lowGen":5,"highGen":1}}`},
		{"POST", "/v1/messages", `{"mailbox":"a","attachments":[{"name":"x","data":"AAAA"}]}`},
		{"POST", "/v1/topology/join", `{"name":"A","site":"S","address":"[::1]:70000"}`},
		{"GET", "/v1/backup/s/files/%2e%2e", ``},
		{"GET", "/v1/backup//files/x", ``},
		{"PUT", "/v1/restore/r/files/x", "\x00\x00\x00\x01a\x00\x00\x00\x00"},
		{"DELETE", "/v1/status", ``},
		{"GET", "/v1/../v1/status", ``},
		{"OPTIONS", "*", ``},
		{"CONNECT", "/v1/status", ``},
		{"CONNECT", "0", ``},
		{"GET", "", ``},
	} {
		f.Add(s.method, s.path, []byte(s.body))
	}
	key := NewKey()

	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		fake := newAPIFake()
		fake.files["priv.edb"] = []byte("snapshot")
		h := NewHandler(fake, key, nil)
		req, err := http.NewRequest(method, "https://exserver.test"+path, bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var eb apiErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Code == "" || eb.Message == "" {
				t.Fatalf("%s %q %q: %d answered %q", method, path, body, rec.Code, rec.Body)
			}
			if strings.ContainsAny(eb.Message, "\n\r") {
				t.Fatalf("%s %q: message of more than one line: %q", method, path, eb.Message)
			}
		}
	})
}
