package server

import (
	"net/http"
	"strings"

	"exbackup/exchange"
	"exbackup/exchange/wire"
)

// Calls about the organization, its services and its mail.

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
	var s exchange.ServerInfo
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
	var s exchange.ServerInfo
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
		rs = []exchange.Recipient{}
	}
	apiWriteJSON(w, http.StatusOK, rs)
	return nil
}

func (h *apiHandler) startService(w http.ResponseWriter, r *http.Request) error {
	id := exchange.StoreID(r.PathValue("store"))
	if err := apiCheckStore(id); err != nil {
		return err
	}
	res, err := h.n.StartService(r.Context(), id)
	if err != nil {
		return err
	}
	apiWriteJSON(w, http.StatusOK, res)
	return nil
}

func (h *apiHandler) stopService(w http.ResponseWriter, r *http.Request) error {
	id := exchange.StoreID(r.PathValue("store"))
	if err := apiCheckStore(id); err != nil {
		return err
	}
	if err := h.n.StopService(r.Context(), id); err != nil {
		return err
	}
	return apiOK(w)
}
func (h *apiHandler) createMailbox(w http.ResponseWriter, r *http.Request) error {
	var rc exchange.Recipient
	if err := apiDecodeJSON(w, r, apiMaxBody, &rc); err != nil {
		return err
	}
	if err := wire.CheckText("alias", rc.Alias, true, wire.MaxName); err != nil {
		return err
	}
	if strings.ContainsAny(rc.Alias, " /\\@") {
		return exchange.Errorf(exchange.CodeBadRequest, "alias %q may not contain spaces, slashes or @", rc.Alias)
	}
	if err := wire.CheckText("display name", rc.DisplayName, false, wire.MaxText); err != nil {
		return err
	}
	if err := wire.CheckText("home server", rc.HomeServer, false, wire.MaxName); err != nil {
		return err
	}
	if err := h.n.CreateMailbox(r.Context(), rc); err != nil {
		return err
	}
	return apiOK(w)
}

func (h *apiHandler) deliver(w http.ResponseWriter, r *http.Request) error {
	var m exchange.Message
	if err := apiDecodeJSON(w, r, apiMaxMessageBody, &m); err != nil {
		return err
	}
	if err := wire.CheckText("mailbox", m.Mailbox, true, wire.MaxName); err != nil {
		return err
	}
	if err := wire.CheckText("folder", m.Folder, false, wire.MaxName); err != nil {
		return err
	}
	if err := wire.CheckText("from", m.From, false, wire.MaxText); err != nil {
		return err
	}
	for _, to := range m.To {
		if err := wire.CheckText("recipient", to, true, wire.MaxText); err != nil {
			return err
		}
	}
	if err := wire.CheckText("subject", m.Subject, false, wire.MaxText); err != nil {
		return err
	}
	for _, a := range m.Attachments {
		if err := wire.CheckText("attachment name", a.Name, true, wire.MaxName); err != nil {
			return err
		}
	}
	if err := h.n.Deliver(r.Context(), m); err != nil {
		return err
	}
	return apiOK(w)
}

func (h *apiHandler) post(w http.ResponseWriter, r *http.Request) error {
	var p exchange.Post
	if err := apiDecodeJSON(w, r, apiMaxBody, &p); err != nil {
		return err
	}
	if err := wire.CheckText("folder", p.Folder, true, wire.MaxName); err != nil {
		return err
	}
	if err := wire.CheckText("from", p.From, false, wire.MaxText); err != nil {
		return err
	}
	if err := wire.CheckText("subject", p.Subject, false, wire.MaxText); err != nil {
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
