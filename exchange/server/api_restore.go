package server

import (
	"io"
	"net/http"
	"time"

	"exbackup/exchange"
	"exbackup/exchange/wire"
)

func (h *apiHandler) restorePrepare(w http.ResponseWriter, r *http.Request) error {
	var req exchange.RestoreRequest
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
		if err := wire.CheckText(f.what, f.v, true, wire.MaxName); err != nil {
			return err
		}
	}
	if err := wire.CheckText("signature", req.Env.Signature, false, wire.MaxText); err != nil {
		return err
	}
	if len(req.Skip) > 1<<16 {
		return exchange.Errorf(exchange.CodeBadRequest, "%d files to leave out: too many", len(req.Skip))
	}
	for _, name := range req.Skip {
		if err := wire.CheckName("file name", name); err != nil {
			return err
		}
	}
	if req.Env.LowGen > req.Env.HighGen {
		return exchange.Errorf(exchange.CodeBadRequest, "log generations %d to %d are reversed", req.Env.LowGen, req.Env.HighGen)
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
	if err := wire.CheckName("session", session); err != nil {
		return err
	}
	if err := wire.CheckName("file name", name); err != nil {
		return err
	}
	// A console that stops sending without closing the connection must not
	// hold the session: every read waits at most restoreIdle.
	body := &idleBody{r: r.Body, rc: http.NewResponseController(w), idle: restoreIdle}
	defer body.rc.SetReadDeadline(time.Time{})
	fr := wire.NewFrameReader(body)
	err := h.n.RestoreWrite(r.Context(), session, name, fr)
	if serr := fr.Err(); serr != nil {
		return exchange.Errorf(exchange.CodeBadRequest, "restore of %s: upload failed: %v", name, serr)
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
			return exchange.Errorf(exchange.CodeInternal, "restore of %s: the server stopped reading after %d bytes", name, fr.Verified()-1)
		}
		if err != io.EOF {
			return exchange.Errorf(exchange.CodeBadRequest, "restore of %s: upload failed: %v", name, err)
		}
	}
	return apiOK(w)
}

func (h *apiHandler) restoreComplete(w http.ResponseWriter, r *http.Request) error {
	session := r.PathValue("session")
	if err := wire.CheckName("session", session); err != nil {
		return err
	}
	res, err := h.n.RestoreComplete(r.Context(), session)
	if err != nil {
		return err
	}
	apiWriteJSON(w, http.StatusOK, res)
	return nil
}

func (h *apiHandler) cancelRestore(w http.ResponseWriter, r *http.Request) error {
	id := exchange.StoreID(r.PathValue("store"))
	if err := apiCheckStore(id); err != nil {
		return err
	}
	res, err := h.n.CancelRestore(r.Context(), id)
	if err != nil {
		return err
	}
	apiWriteJSON(w, http.StatusOK, res)
	return nil
}

// idleBody moves the connection's read deadline on before every read of
// an upload, so an upload may take as long as it needs but never stalls
// for longer than idle. Where the connection has no deadlines the reads
// are as they were.
type idleBody struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
	off  bool
}

func (b *idleBody) Read(p []byte) (int, error) {
	if !b.off {
		if err := b.rc.SetReadDeadline(time.Now().Add(b.idle)); err != nil {
			b.off = true
		}
	}
	return b.r.Read(p)
}
