package server

import (
	"fmt"
	"net/http"

	"exbackup/exchange"
	"exbackup/exchange/wire"
)

func (h *apiHandler) backupPrepare(w http.ResponseWriter, r *http.Request) error {
	var req wire.BackupRequest
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
	if err := wire.CheckName("session", session); err != nil {
		return err
	}
	if err := wire.CheckName("file name", name); err != nil {
		return err
	}
	rc, err := h.n.BackupRead(r.Context(), session, name)
	if err != nil {
		return err
	}
	sw := &apiStreamWriter{w: w}
	fw := wire.NewFrameWriter(sw)
	held := wire.StreamConnOf(r.Context())
	if r.ProtoMajor != 1 {
		held = nil // an HTTP/2 connection carries other requests too
	}
	if held != nil {
		held.Hold()
		defer held.Release() // a failed stream; a whole one is released below
	}
	// Over HTTP/1.1 this goroutine also encrypts and sends: all of the
	// stream's work runs at background priority.
	err = inBackground(func() error {
		n, err := fw.ReadFrom(rc)
		if err != nil && fw.WriteErr() == nil {
			err = fmt.Errorf("reading failed after %d bytes: %w", n, err)
			// The frames before the failure go out whole, so that the
			// console's report of the truncation names where it was.
			sw.flush()
		}
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing after %d bytes failed: %w", n, cerr)
		}
		if err == nil {
			err = fw.Close()
		}
		if err == nil && held != nil {
			err = held.Release()
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

// flush sends what the response holds back, once it has begun.
func (sw *apiStreamWriter) flush() {
	if sw.started {
		http.NewResponseController(sw.w).Flush()
	}
}

func (sw *apiStreamWriter) Write(p []byte) (int, error) {
	if !sw.started {
		sw.started = true
		sw.w.Header().Set("Content-Type", wire.FrameContentType)
		sw.w.WriteHeader(http.StatusOK)
	}
	return sw.w.Write(p)
}

func (h *apiHandler) backupEnd(w http.ResponseWriter, r *http.Request) error {
	session := r.PathValue("session")
	if err := wire.CheckName("session", session); err != nil {
		return err
	}
	var req wire.BackupEndRequest
	if err := apiDecodeJSON(w, r, apiMaxBody, &req); err != nil {
		return err
	}
	if req.Success == nil {
		return exchange.Errorf(exchange.CodeBadRequest, "success is required")
	}
	if err := h.n.BackupEnd(r.Context(), session, *req.Success); err != nil {
		return err
	}
	return apiOK(w)
}
