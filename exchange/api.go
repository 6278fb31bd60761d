package exchange

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// The API is HTTPS with the organization's access key on every request
// ("Authorization: Bearer KEY"). Control calls speak JSON; errors answer
// {"code", "message"} with an HTTP status that follows the code. Files
// stream as framed bodies (frame.go):
//
//	GET  /v1/status                           Status
//	GET  /v1/topology                         Topology
//	POST /v1/topology/join                    ServerInfo → Topology
//	POST /v1/topology/servers                 ServerInfo → 204
//	GET  /v1/recipients                       []Recipient
//	POST /v1/services/{store}/start           → 204
//	POST /v1/services/{store}/stop            → 204
//	POST /v1/backup                           {store, type} → BackupInfo
//	GET  /v1/backup/{session}/files/{name}    → framed file
//	POST /v1/backup/{session}/end             {success} → 204
//	POST /v1/restore                          RestoreRequest → RestoreInfo
//	PUT  /v1/restore/{session}/files/{name}   framed file → 204
//	POST /v1/restore/{session}/complete       → RestoreResult
//	POST /v1/mailboxes                        Recipient → 204
//	POST /v1/messages                         Message → 204
//	POST /v1/posts                            Post → 204
//	GET  /v1/digest                           Digest

// Request body limits of the JSON calls: a message may carry attachments.
const (
	apiMaxBody        = 1 << 20
	apiMaxMessageBody = 64 << 20
	apiMaxName        = 255
	apiMaxText        = 1024
)

// apiBackupRequest is the body of POST /v1/backup.
type apiBackupRequest struct {
	Store StoreID    `json:"store"`
	Type  BackupType `json:"type"`
}

// apiBackupEndRequest is the body of POST /v1/backup/{session}/end; success
// must be stated, never assumed.
type apiBackupEndRequest struct {
	Success *bool `json:"success"`
}

// apiErrorBody is the JSON of every error answer.
type apiErrorBody struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

type apiHandler struct {
	n      Node
	keySum [sha256.Size]byte
	hasKey bool
	log    *slog.Logger
	mux    *http.ServeMux
}

// NewHandler serves n over the API. Every request must carry key; a
// request without it is answered 401 and reaches nothing else. An empty key
// refuses every request. Node methods get the request's context, which is
// cancelled when the client goes away. log may be nil.
func NewHandler(n Node, key string, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &apiHandler{n: n, log: log, mux: http.NewServeMux(), hasKey: key != ""}
	h.keySum = sha256.Sum256([]byte(key))
	if !h.hasKey {
		log.Warn("api: no access key configured; every request will be refused")
	}

	h.handle("GET /v1/status", h.status)
	h.handle("GET /v1/topology", h.topology)
	h.handle("POST /v1/topology/join", h.join)
	h.handle("POST /v1/topology/servers", h.updateServer)
	h.handle("GET /v1/recipients", h.recipients)
	h.handle("POST /v1/services/{store}/start", h.startService)
	h.handle("POST /v1/services/{store}/stop", h.stopService)
	h.handle("POST /v1/backup", h.backupPrepare)
	h.handle("GET /v1/backup/{session}/files/{name}", h.backupRead)
	h.handle("POST /v1/backup/{session}/end", h.backupEnd)
	h.handle("POST /v1/restore", h.restorePrepare)
	h.handle("PUT /v1/restore/{session}/files/{name}", h.restoreWrite)
	h.handle("POST /v1/restore/{session}/complete", h.restoreComplete)
	h.handle("POST /v1/mailboxes", h.createMailbox)
	h.handle("POST /v1/messages", h.deliver)
	h.handle("POST /v1/posts", h.post)
	h.handle("GET /v1/digest", h.digest)
	h.mux.HandleFunc("/", h.unknown)
	return h
}

// handle registers a call that answers an error by returning it.
func (h *apiHandler) handle(pattern string, fn func(http.ResponseWriter, *http.Request) error) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

func (h *apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &apiRecorder{ResponseWriter: w}
	start := time.Now()
	defer func() {
		v := recover()
		switch {
		case v == nil:
			h.log.Debug("api: request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "bytes", rec.bytes, "elapsed", time.Since(start))
		case v == http.ErrAbortHandler:
			h.log.Debug("api: request aborted", "method", r.Method, "path", r.URL.Path, "bytes", rec.bytes, "elapsed", time.Since(start))
			panic(v)
		default:
			h.log.Error("api: panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if rec.status != 0 {
				panic(http.ErrAbortHandler) // the answer has begun: cut it off
			}
			h.writeError(rec, r, Errorf(CodeInternal, "internal server error serving %s %s", r.Method, r.URL.Path))
		}
	}()
	rec.Header().Set("Cache-Control", "no-store")
	rec.Header().Set("X-Content-Type-Options", "nosniff")
	if !h.authorized(r) {
		h.log.Warn("api: refused request without a valid access key", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
		rec.Header().Set("WWW-Authenticate", `Bearer realm="exserver"`)
		apiWriteJSON(rec, http.StatusUnauthorized, apiErrorBody{Code: CodeUnauthorized, Message: "missing or wrong access key"})
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/") {
		h.unknown(rec, r) // CONNECT host:port, or worse: the mux would answer in plain text
		return
	}
	h.mux.ServeHTTP(rec, r)
}

// authorized compares the key in constant time; hashing both sides first
// hides the key's length too.
func (h *apiHandler) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !h.hasKey {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], h.keySum[:]) == 1
}

// unknown answers requests no route takes, in JSON like every other answer.
func (h *apiHandler) unknown(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		h.writeError(w, r, apiStatusError{http.StatusMethodNotAllowed,
			Errorf(CodeBadRequest, "%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", "))})
		return
	}
	h.writeError(w, r, Errorf(CodeNotFound, "no API call %s %s", r.Method, r.URL.Path))
}

// apiStatusError gives an error an HTTP status other than its code's.
type apiStatusError struct {
	status int
	err    error
}

func (e apiStatusError) Error() string { return e.err.Error() }
func (e apiStatusError) Unwrap() error { return e.err }

// StatusOf maps an error code to the HTTP status the API answers it with.
func StatusOf(c Code) int {
	switch c {
	case CodeBadRequest:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeNotFound:
		return http.StatusNotFound
	case CodeNotRunning:
		return http.StatusServiceUnavailable
	case CodeRefused:
		return http.StatusUnprocessableEntity
	case CodeConflict:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func (h *apiHandler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := CodeOf(err)
	status := StatusOf(code)
	var ws apiStatusError
	if errors.As(err, &ws) {
		status = ws.status
	}
	switch {
	case r.Context().Err() != nil:
		h.log.Info("api: request ended by the client", "method", r.Method, "path", r.URL.Path, "err", err)
	case status >= 500:
		h.log.Error("api: request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	default:
		h.log.Info("api: request refused", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	apiWriteJSON(w, status, apiErrorBody{Code: code, Message: err.Error()})
}

func apiWriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(apiErrorBody{Code: CodeInternal, Message: "encoding the answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// ok answers a call whose only result is success.
func apiOK(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// apiDecodeJSON reads a request body of at most limit bytes into v, strictly:
// unknown fields, trailing data and wrong types are errors.
func apiDecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if extra := dec.Decode(new(json.RawMessage)); extra != io.EOF {
			err = extra
			if err == nil {
				err = errors.New("data after the JSON object")
			}
		}
	}
	if err == nil {
		return nil
	}
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return apiStatusError{http.StatusRequestEntityTooLarge, Errorf(CodeBadRequest, "request body exceeds %d bytes", limit)}
	case err == io.EOF:
		return Errorf(CodeBadRequest, "request body is empty: a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(CodeBadRequest, "request body is truncated JSON")
	case errors.As(err, &syntax):
		return Errorf(CodeBadRequest, "request body is malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return Errorf(CodeBadRequest, "request body must be a JSON object, not %s", typ.Value)
		}
		return Errorf(CodeBadRequest, "%s: expected %s, got JSON %s", typ.Field, apiKindName(typ.Type.Kind()), typ.Value)
	}
	return Errorf(CodeBadRequest, "request body: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// apiKindName says in JSON's words what a Go kind wants.
func apiKindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return k.String()
}

// apiCheckName accepts a file or session name taken from a path: one plain
// component, never a way out of the folder it names a file in.
func apiCheckName(what, s string) error {
	switch {
	case s == "":
		return Errorf(CodeBadRequest, "%s is empty", what)
	case len(s) > apiMaxName:
		return Errorf(CodeBadRequest, "%s is longer than %d bytes", what, apiMaxName)
	case s == "." || s == "..":
		return Errorf(CodeBadRequest, "%s %q is not a file name", what, s)
	case strings.ContainsAny(s, `/\:`):
		return Errorf(CodeBadRequest, "%s %q contains a path separator", what, s)
	}
	return apiCheckText(what, s, true, apiMaxName)
}

// apiCheckText accepts a one-line text field: valid UTF-8, no control
// characters, not too long.
func apiCheckText(what, s string, required bool, max int) error {
	if s == "" {
		if required {
			return Errorf(CodeBadRequest, "%s is required", what)
		}
		return nil
	}
	if len(s) > max {
		return Errorf(CodeBadRequest, "%s is longer than %d bytes", what, max)
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == '\uFFFD' {
			return Errorf(CodeBadRequest, "%s %q contains a control or invalid character", what, s)
		}
	}
	return nil
}

func apiCheckServer(s ServerInfo) error {
	if err := apiCheckText("server name", s.Name, true, apiMaxName); err != nil {
		return err
	}
	if err := apiCheckText("site", s.Site, true, apiMaxName); err != nil {
		return err
	}
	if s.Address != "" {
		if err := apiCheckAddr(s.Address); err != nil {
			return Errorf(CodeBadRequest, "server %s: %v", s.Name, err)
		}
	}
	if s.Fingerprint != "" {
		fp, err := ParseFingerprint(s.Fingerprint)
		if err != nil || fp != s.Fingerprint {
			return Errorf(CodeBadRequest, "server %s: certificate fingerprint %q is not sha256: and 64 lowercase hex digits", s.Name, s.Fingerprint)
		}
	}
	return nil
}

// apiCheckAddr accepts host:port with a port number.
func apiCheckAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q is not host:port", addr)
	}
	if host == "" {
		return fmt.Errorf("address %q has no host", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("address %q has no valid port", addr)
	}
	return apiCheckText("address", addr, true, apiMaxName)
}

func apiCheckStore(s StoreID) error {
	if !s.Valid() {
		return Errorf(CodeBadRequest, "store %q is not %q or %q", s, StoreDS, StoreIS)
	}
	return nil
}

func apiCheckType(t BackupType) error {
	if !t.Valid() {
		return Errorf(CodeBadRequest, "backup type %q is not one of normal, copy, incremental, differential", t)
	}
	return nil
}

func (h *apiHandler) status(w http.ResponseWriter, r *http.Request) error {
	st, err := h.n.Status(r.Context())
	if err != nil {
		return err
	}
	apiWriteJSON(w, http.StatusOK, st)
	return nil
}

func (h *apiHandler) topology(w http.ResponseWriter, r *http.Request) error {
	t, err := h.n.Topology(r.Context())
	if err != nil {
		return err
	}
	apiWriteJSON(w, http.StatusOK, t)
	return nil
}

func (h *apiHandler) join(w http.ResponseWriter, r *http.Request) error {
	var s ServerInfo
	if err := apiDecodeJSON(w, r, apiMaxBody, &s); err != nil {
		return err
	}
	if err := apiCheckServer(s); err != nil {
		return err
	}
	t, err := h.n.Join(r.Context(), s)
	if err != nil {
		return err
	}
	apiWriteJSON(w, http.StatusOK, t)
	return nil
}

func (h *apiHandler) updateServer(w http.ResponseWriter, r *http.Request) error {
	var s ServerInfo
	if err := apiDecodeJSON(w, r, apiMaxBody, &s); err != nil {
		return err
	}
	if err := apiCheckServer(s); err != nil {
		return err
	}
	if err := h.n.UpdateServer(r.Context(), s); err != nil {
		return err
	}
	return apiOK(w)
}

func (h *apiHandler) recipients(w http.ResponseWriter, r *http.Request) error {
	rs, err := h.n.Recipients(r.Context())
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []Recipient{}
	}
	apiWriteJSON(w, http.StatusOK, rs)
	return nil
}

func (h *apiHandler) startService(w http.ResponseWriter, r *http.Request) error {
	id := StoreID(r.PathValue("store"))
	if err := apiCheckStore(id); err != nil {
		return err
	}
	if err := h.n.StartService(r.Context(), id); err != nil {
		return err
	}
	return apiOK(w)
}

func (h *apiHandler) stopService(w http.ResponseWriter, r *http.Request) error {
	id := StoreID(r.PathValue("store"))
	if err := apiCheckStore(id); err != nil {
		return err
	}
	if err := h.n.StopService(r.Context(), id); err != nil {
		return err
	}
	return apiOK(w)
}

func (h *apiHandler) backupPrepare(w http.ResponseWriter, r *http.Request) error {
	var req apiBackupRequest
	if err := apiDecodeJSON(w, r, apiMaxBody, &req); err != nil {
		return err
	}
	if err := apiCheckStore(req.Store); err != nil {
		return err
	}
	if err := apiCheckType(req.Type); err != nil {
		return err
	}
	info, err := h.n.BackupPrepare(r.Context(), req.Store, req.Type)
	if err != nil {
		return err
	}
	apiWriteJSON(w, http.StatusOK, info)
	return nil
}

// backupRead streams a file. Until the first frame goes out, a failure is
// still answered as an error. After that it can no longer be: the stream is
// cut off before its trailer, which every FrameReader reports as a
// truncation, and the connection is aborted.
func (h *apiHandler) backupRead(w http.ResponseWriter, r *http.Request) error {
	session, name := r.PathValue("session"), r.PathValue("name")
	if err := apiCheckName("session", session); err != nil {
		return err
	}
	if err := apiCheckName("file name", name); err != nil {
		return err
	}
	rc, err := h.n.BackupRead(r.Context(), session, name)
	if err != nil {
		return err
	}
	sw := &apiStreamWriter{w: w}
	fw := NewFrameWriter(sw)
	held := streamConnOf(r.Context())
	if r.ProtoMajor != 1 {
		held = nil // an HTTP/2 connection carries other requests too
	}
	if held != nil {
		held.hold()
		defer held.release() // a failed stream; a whole one is released below
	}
	// Over HTTP/1.1 this goroutine also encrypts and sends: all of the
	// stream's work runs at background priority.
	err = inBackground(func() error {
		n, err := fw.ReadFrom(rc)
		if err != nil && fw.err == nil {
			err = fmt.Errorf("reading failed after %d bytes: %w", n, err)
		}
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing after %d bytes failed: %w", n, cerr)
		}
		if err == nil {
			err = fw.Close()
		}
		if err == nil && held != nil {
			err = held.release()
		}
		return err
	})
	switch {
	case err == nil:
		return nil
	case !sw.started && r.Context().Err() == nil:
		return err
	case r.Context().Err() != nil:
		h.log.Info("api: backup read ended by the client", "session", session, "file", name, "bytes", fw.Written(), "err", err)
	default:
		h.log.Error("api: backup read failed; stream cut off", "session", session, "file", name, "bytes", fw.Written(), "err", err)
	}
	panic(http.ErrAbortHandler)
}

// apiStreamWriter sends the 200 and the frame media type with the first
// frame, not before.
type apiStreamWriter struct {
	w       http.ResponseWriter
	started bool
}

func (sw *apiStreamWriter) Write(p []byte) (int, error) {
	if !sw.started {
		sw.started = true
		sw.w.Header().Set("Content-Type", FrameContentType)
		sw.w.WriteHeader(http.StatusOK)
	}
	return sw.w.Write(p)
}

func (h *apiHandler) backupEnd(w http.ResponseWriter, r *http.Request) error {
	session := r.PathValue("session")
	if err := apiCheckName("session", session); err != nil {
		return err
	}
	var req apiBackupEndRequest
	if err := apiDecodeJSON(w, r, apiMaxBody, &req); err != nil {
		return err
	}
	if req.Success == nil {
		return Errorf(CodeBadRequest, "success is required")
	}
	if err := h.n.BackupEnd(r.Context(), session, *req.Success); err != nil {
		return err
	}
	return apiOK(w)
}

func (h *apiHandler) restorePrepare(w http.ResponseWriter, r *http.Request) error {
	var req RestoreRequest
	if err := apiDecodeJSON(w, r, apiMaxBody, &req); err != nil {
		return err
	}
	if err := apiCheckStore(req.Env.Store); err != nil {
		return err
	}
	if err := apiCheckType(req.Env.Type); err != nil {
		return err
	}
	for _, f := range []struct{ what, v string }{
		{"organization", req.Env.Organization}, {"site", req.Env.Site}, {"server", req.Env.Server},
	} {
		if err := apiCheckText(f.what, f.v, true, apiMaxName); err != nil {
			return err
		}
	}
	if err := apiCheckText("signature", req.Env.Signature, false, apiMaxText); err != nil {
		return err
	}
	if req.Env.LowGen > req.Env.HighGen {
		return Errorf(CodeBadRequest, "log generations %d to %d are reversed", req.Env.LowGen, req.Env.HighGen)
	}
	info, err := h.n.RestorePrepare(r.Context(), req)
	if err != nil {
		return err
	}
	apiWriteJSON(w, http.StatusOK, info)
	return nil
}

// restoreWrite hands the node a FrameReader over the body. Whatever the node
// answers, a stream that failed its checks is a bad request; and a node that
// accepted a file without reading all of it has lost data.
func (h *apiHandler) restoreWrite(w http.ResponseWriter, r *http.Request) error {
	session, name := r.PathValue("session"), r.PathValue("name")
	if err := apiCheckName("session", session); err != nil {
		return err
	}
	if err := apiCheckName("file name", name); err != nil {
		return err
	}
	fr := NewFrameReader(r.Body)
	err := h.n.RestoreWrite(r.Context(), session, name, fr)
	if serr := fr.streamErr(); serr != nil {
		return Errorf(CodeBadRequest, "restore of %s: upload failed: %v", name, serr)
	}
	if err != nil {
		return err
	}
	if !fr.Done() {
		// The node may stop right after the last byte without reading the
		// trailer: read it here.
		var b [1]byte
		n, err := fr.Read(b[:])
		if n > 0 {
			return Errorf(CodeInternal, "restore of %s: the server stopped reading after %d bytes", name, fr.Verified()-1)
		}
		if err != io.EOF {
			return Errorf(CodeBadRequest, "restore of %s: upload failed: %v", name, err)
		}
	}
	return apiOK(w)
}

func (h *apiHandler) restoreComplete(w http.ResponseWriter, r *http.Request) error {
	session := r.PathValue("session")
	if err := apiCheckName("session", session); err != nil {
		return err
	}
	res, err := h.n.RestoreComplete(r.Context(), session)
	if err != nil {
		return err
	}
	apiWriteJSON(w, http.StatusOK, res)
	return nil
}

func (h *apiHandler) createMailbox(w http.ResponseWriter, r *http.Request) error {
	var rc Recipient
	if err := apiDecodeJSON(w, r, apiMaxBody, &rc); err != nil {
		return err
	}
	if err := apiCheckText("alias", rc.Alias, true, apiMaxName); err != nil {
		return err
	}
	if strings.ContainsAny(rc.Alias, " /\\@") {
		return Errorf(CodeBadRequest, "alias %q may not contain spaces, slashes or @", rc.Alias)
	}
	if err := apiCheckText("display name", rc.DisplayName, false, apiMaxText); err != nil {
		return err
	}
	if err := apiCheckText("home server", rc.HomeServer, false, apiMaxName); err != nil {
		return err
	}
	if err := h.n.CreateMailbox(r.Context(), rc); err != nil {
		return err
	}
	return apiOK(w)
}

func (h *apiHandler) deliver(w http.ResponseWriter, r *http.Request) error {
	var m Message
	if err := apiDecodeJSON(w, r, apiMaxMessageBody, &m); err != nil {
		return err
	}
	if err := apiCheckText("mailbox", m.Mailbox, true, apiMaxName); err != nil {
		return err
	}
	if err := apiCheckText("folder", m.Folder, false, apiMaxName); err != nil {
		return err
	}
	if err := apiCheckText("from", m.From, false, apiMaxText); err != nil {
		return err
	}
	for _, to := range m.To {
		if err := apiCheckText("recipient", to, true, apiMaxText); err != nil {
			return err
		}
	}
	if err := apiCheckText("subject", m.Subject, false, apiMaxText); err != nil {
		return err
	}
	for _, a := range m.Attachments {
		if err := apiCheckText("attachment name", a.Name, true, apiMaxName); err != nil {
			return err
		}
	}
	if err := h.n.Deliver(r.Context(), m); err != nil {
		return err
	}
	return apiOK(w)
}

func (h *apiHandler) post(w http.ResponseWriter, r *http.Request) error {
	var p Post
	if err := apiDecodeJSON(w, r, apiMaxBody, &p); err != nil {
		return err
	}
	if err := apiCheckText("folder", p.Folder, true, apiMaxName); err != nil {
		return err
	}
	if err := apiCheckText("from", p.From, false, apiMaxText); err != nil {
		return err
	}
	if err := apiCheckText("subject", p.Subject, false, apiMaxText); err != nil {
		return err
	}
	if err := h.n.Post(r.Context(), p); err != nil {
		return err
	}
	return apiOK(w)
}

func (h *apiHandler) digest(w http.ResponseWriter, r *http.Request) error {
	d, err := h.n.Digest(r.Context())
	if err != nil {
		return err
	}
	apiWriteJSON(w, http.StatusOK, d)
	return nil
}

// apiRecorder notes what was answered, for the request log.
type apiRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rec *apiRecorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *apiRecorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(p)
	rec.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (rec *apiRecorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// NewServer returns an HTTPS server for h on addr with cert: TLS 1.3 only,
// HTTP/2 and HTTP/1.1, a deadline on request headers but none on bodies, so
// that a database of any size can stream. Start it with
// ListenAndServeTLS("", "") or ServeTLS(listener, "", ""); Server.Serve
// gives it a listener whose connections also batch the TLS records of
// file streams (streamConn).
func NewServer(addr string, cert tls.Certificate, h http.Handler) *http.Server {
	return &http.Server{
		Addr:    addr,
		Handler: h,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS13,
			NextProtos:   []string{"h2", "http/1.1"},
		},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		HTTP2:             apiHTTP2Config(),
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
		ConnContext:       withStreamConn,
	}
}

// apiHTTP2Config widens HTTP/2's flow-control windows so that one stream can
// fill a fast link; the defaults are sized for browsers.
func apiHTTP2Config() *http.HTTP2Config {
	return &http.HTTP2Config{
		MaxReceiveBufferPerConnection: 4<<20 - 1,
		MaxReceiveBufferPerStream:     4<<20 - 1,
		MaxReadFrameSize:              1 << 20,
	}
}
