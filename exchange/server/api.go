package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"strings"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/wire"
)

// The routes and their bodies are listed in package wire (http.go); this
// file holds what every call shares: the key check, error answers, JSON
// decoding, the request log and the HTTPS server. The calls themselves are
// in api_admin.go, api_backup.go and api_restore.go.

// Request body limits of the JSON calls: a message may carry attachments.
const (
	apiMaxBody        = 1 << 20
	apiMaxMessageBody = 64 << 20
)

type apiHandler struct {
	n      exchange.Node
	keySum [sha256.Size]byte
	hasKey bool
	log    *slog.Logger
	mux    *http.ServeMux
}

// NewHandler serves n over the API. Every request must carry key; a
// request without it is answered 401 and reaches nothing else. An empty key
// refuses every request. Node methods get the request's context, which is
// cancelled when the client goes away. log may be nil.
func NewHandler(n exchange.Node, key string, log *slog.Logger) http.Handler {
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
	h.handle("POST /v1/mailboxes/{alias}/password", h.setPassword) // api_mail.go
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
			h.writeError(rec, r, exchange.Errorf(exchange.CodeInternal, "internal server error serving %s %s", r.Method, r.URL.Path))
		}
	}()
	rec.Header().Set("Cache-Control", "no-store")
	rec.Header().Set("X-Content-Type-Options", "nosniff")
	if !h.authorized(r) {
		h.log.Warn("api: refused request without a valid access key", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
		rec.Header().Set("WWW-Authenticate", `Bearer realm="exserver"`)
		apiWriteJSON(rec, http.StatusUnauthorized, wire.ErrorBody{Code: exchange.CodeUnauthorized, Message: "missing or wrong access key"})
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
			exchange.Errorf(exchange.CodeBadRequest, "%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", "))})
		return
	}
	h.writeError(w, r, exchange.Errorf(exchange.CodeNotFound, "no API call %s %s", r.Method, r.URL.Path))
}

// apiStatusError gives an error an HTTP status other than its code's.
type apiStatusError struct {
	status int
	err    error
}

func (e apiStatusError) Error() string { return e.err.Error() }
func (e apiStatusError) Unwrap() error { return e.err }
func (h *apiHandler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := exchange.CodeOf(err)
	status := wire.StatusOf(code)
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
	apiWriteJSON(w, status, wire.ErrorBody{Code: code, Message: err.Error()})
}

func apiWriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(wire.ErrorBody{Code: exchange.CodeInternal, Message: "encoding the answer: " + err.Error()})
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
		return apiStatusError{http.StatusRequestEntityTooLarge, exchange.Errorf(exchange.CodeBadRequest, "request body exceeds %d bytes", limit)}
	case err == io.EOF:
		return exchange.Errorf(exchange.CodeBadRequest, "request body is empty: a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return exchange.Errorf(exchange.CodeBadRequest, "request body is truncated JSON")
	case errors.As(err, &syntax):
		return exchange.Errorf(exchange.CodeBadRequest, "request body is malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return exchange.Errorf(exchange.CodeBadRequest, "request body must be a JSON object, not %s", typ.Value)
		}
		return exchange.Errorf(exchange.CodeBadRequest, "%s: expected %s, got JSON %s", typ.Field, apiKindName(typ.Type.Kind()), typ.Value)
	}
	return exchange.Errorf(exchange.CodeBadRequest, "request body: %s", strings.TrimPrefix(err.Error(), "json: "))
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

// NewHTTPServer returns an HTTPS server for h on addr with cert: TLS 1.3 only,
// HTTP/2 and HTTP/1.1, a deadline on request headers but none on bodies, so
// that a database of any size can stream. Start it with
// ListenAndServeTLS("", "") or ServeTLS(listener, "", ""); Server.Serve
// gives it a listener whose connections also batch the TLS records of
// file streams (wire.StreamConn).
func NewHTTPServer(addr string, cert tls.Certificate, h http.Handler) *http.Server {
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
		HTTP2:             wire.HTTP2Config(),
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
		ConnContext:       wire.WithStreamConn,
	}
}
