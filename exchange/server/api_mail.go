package server

import (
	"context"
	"errors"
	"net/http"

	"exbackup/exchange"
	"exbackup/exchange/mail"
	"exbackup/exchange/wire"
)

// mailAdmin is what a Node offers beyond exchange.Node for mail: the real
// server has it; the API serves it when the Node does.
type mailAdmin interface {
	SetPassword(ctx context.Context, alias, password string) error
}

// PasswordBody is the body of POST /v1/mailboxes/{alias}/password.
type PasswordBody struct {
	Password string `json:"password"`
}

func (h *apiHandler) setPassword(w http.ResponseWriter, r *http.Request) error {
	ma, ok := h.n.(mailAdmin)
	if !ok {
		return exchange.Errorf(exchange.CodeBadRequest, "this server keeps no mail passwords")
	}
	alias := r.PathValue("alias")
	if err := wire.CheckText("alias", alias, true, wire.MaxName); err != nil {
		return err
	}
	var b PasswordBody
	if err := apiDecodeJSON(w, r, apiMaxBody, &b); err != nil {
		return err
	}
	if err := wire.CheckText("password", b.Password, true, 1024); err != nil {
		return err
	}
	if err := ma.SetPassword(r.Context(), alias, b.Password); err != nil {
		return mailToAPI(err)
	}
	return apiOK(w)
}

// mailToAPI gives the store's mail errors their API codes.
func mailToAPI(err error) error {
	switch {
	case errors.Is(err, mail.ErrNoMailbox):
		return exchange.Errorf(exchange.CodeNotFound, "%v", err)
	case errors.Is(err, mail.ErrUnavailable):
		return exchange.Errorf(exchange.CodeNotRunning, "%v", err)
	}
	return err
}
