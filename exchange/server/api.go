package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
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
	n        exchange.Node
	keySum   [sha256.Size]byte
	hasKey   bool
	log      *slog.Logger
	mux      *http.ServeMux
	lim      Limits
	throttle *authThrottle
	refused  *refusalLog
	refusal  string // the 401's message, naming the server
}

// NewHandler serves n over the API. Every request must carry key; a
// request without it is answered 401 and reaches nothing else. An empty key
// refuses every request. Node methods get the request's context, which is
// cancelled when the client goes away. log may be nil.
//
// Failed attempts are limited per client address (DefaultLimits): past
// the limit, an address is answered 429 with Retry-After, its key not even
// looked at, and refusals are logged in summary.
func NewHandler(n exchange.Node, key string, log *slog.Logger) http.Handler {
	return newHandler(n, key, log, DefaultLimits())
}

func newHandler(n exchange.Node, key string, log *slog.Logger, lim Limits) *apiHandler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &apiHandler{n: n, log: log, mux: http.NewServeMux(), hasKey: key != "", lim: lim,
		throttle: newAuthThrottle(lim.AuthFailBurst, lim.AuthFailEvery),
		refused:  newRefusalLog(log, lim.LogInterval, "api: refused requests without a valid access key"),
		refusal:  "the server refused the access key"}
	if s, ok := n.(interface{ Config() Config }); ok && s.Config().Name != "" {
		h.refusal = "server " + s.Config().Name + " refused the access key"
	}
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
	h.handle("POST /v1/services/{store}/cancel-restore", h.cancelRestore)
	h.handle("POST /v1/mailboxes", h.createMailbox)
	h.handle("POST /v1/mailboxes/{alias}/password", h.setPassword) // api_mail.go
	h.handle("POST /v1/messages", h.deliver)
	h.handle("POST /v1/posts", h.post)
	h.handle("GET /v1/digest", h.digest)
	h.handle("POST /v1/items", h.importItems) // api_items.go
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
	if !h.admit(rec, r) {
		return
	}
	r.Body = newBodyDeadline(rec, r, h.lim)
	if !strings.HasPrefix(r.URL.Path, "/") {
		h.unknown(rec, r) // CONNECT host:port, or worse: the mux would answer in plain text
		return
	}
	h.mux.ServeHTTP(rec, r)
}

// admit checks the key before anything of the request's body is read,
// and answers a request without it at once: 429 while its address has
// failed too often (the key is not even compared), 401 otherwise. Either
// answer closes the connection, so that a body still on its way is never
// waited for. A connection that has once shown the key is not throttled:
// a console behind the same address as a guesser keeps working.
func (h *apiHandler) admit(w http.ResponseWriter, r *http.Request) bool {
	ok := h.check(w, r)
	if !ok {
		// net/http would otherwise drain up to 256 KiB of the body after
		// the answer, at whatever pace the client sends it.
		http.NewResponseController(w).SetReadDeadline(time.Now())
	}
	return ok
}

func (h *apiHandler) check(w http.ResponseWriter, r *http.Request) bool {
	addr := clientKey(r.RemoteAddr)
	tc := trackedConnOf(r.Context())
	now := time.Now()
	if tc == nil || !tc.authenticated() {
		if wait := h.throttle.wait(addr, now); wait > 0 {
			h.refused.note(addr, "too many failed attempts", "method", r.Method, "path", r.URL.Path)
			secs := retryAfter(wait)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			w.Header().Set("Connection", "close")
			apiWriteJSON(w, http.StatusTooManyRequests, wire.ErrorBody{Code: exchange.CodeRateLimited,
				Message: fmt.Sprintf("too many failed attempts from this address; try again in %d s", secs)})
			return false
		}
	}
	if !h.authorized(r) {
		h.throttle.fail(addr, now)
		h.refused.note(addr, "missing or wrong access key", "method", r.Method, "path", r.URL.Path)
		w.Header().Set("WWW-Authenticate", `Bearer realm="exserver"`)
		w.Header().Set("Connection", "close")
		apiWriteJSON(w, http.StatusUnauthorized, wire.ErrorBody{Code: exchange.CodeUnauthorized, Message: h.refusal})
		return false
	}
	if tc != nil {
		tc.authenticate()
	}
	return true
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

// NewHTTPServer returns an HTTPS server for h on addr with cert: TLS 1.3
// only, HTTP/2 and HTTP/1.1, with the bounds of DefaultLimits on headers
// and idle connections. Bodies are bounded by a handler of NewHandler, at
// a minimum rate rather than in total, so that a database of any size can
// stream. Start it with ListenAndServeTLS("", "") or ServeTLS(listener,
// "", ""); Server.Serve gives it a listener that also bounds connections
// (connLimiter) and whose connections batch the TLS records of file
// streams (wire.StreamConn).
func NewHTTPServer(addr string, cert tls.Certificate, h http.Handler) *http.Server {
	return newHTTPServer(addr, cert, h, DefaultLimits(), nil)
}

// newHTTPServer sums failed TLS handshakes up in refused, when not nil.
func newHTTPServer(addr string, cert tls.Certificate, h http.Handler, lim Limits, refused *refusalLog) *http.Server {
	errLog := slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn)
	if refused != nil {
		errLog = log.New(errorLog{refused.log, refused}, "", 0)
	}
	return &http.Server{
		Addr:    addr,
		Handler: h,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS13,
			NextProtos:   []string{"h2", "http/1.1"},
		},
		// Also the TLS handshake's bound: net/http takes the shortest of
		// its read and write timeouts for it.
		ReadHeaderTimeout: lim.ReadHeader,
		IdleTimeout:       lim.Idle,
		MaxHeaderBytes:    16 << 10, // a request carries a key and a path, nothing large
		HTTP2:             wire.HTTP2Config(),
		ErrorLog:          errLog,
		ConnContext:       connContext,
	}
}
