package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"exbackup/exchange/internal/apitest"
	"exbackup/exchange/wire"
)

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
		{"POST", "/v1/items", `{"create":[{"alias":"a"}],"messages":[{"mailbox":"a","folder":"X/Y","data":"AAAA","flags":["\\Seen"]}],"posts":[{"folder":"P"}]}`},
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
		fake := apitest.NewFake()
		fake.Files["priv.edb"] = []byte("snapshot")
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
			var eb wire.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Code == "" || eb.Message == "" {
				t.Fatalf("%s %q %q: %d answered %q", method, path, body, rec.Code, rec.Body)
			}
			if strings.ContainsAny(eb.Message, "\n\r") {
				t.Fatalf("%s %q: message of more than one line: %q", method, path, eb.Message)
			}
		}
	})
}
