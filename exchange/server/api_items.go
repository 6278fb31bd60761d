package server

import (
	"fmt"
	"net/http"
	"strings"

	"exbackup/exchange"
	"exbackup/exchange/wire"
)

// importItems serves POST /v1/items: one batch of an item-level restore.
// Its body may be far larger than the other JSON calls' (wire.MaxImportBody);
// a larger one is refused before any of it is applied.
func (h *apiHandler) importItems(w http.ResponseWriter, r *http.Request) error {
	var req exchange.ImportRequest
	if err := apiDecodeJSON(w, r, wire.MaxImportBody, &req); err != nil {
		if se, ok := err.(apiStatusError); ok && se.status == http.StatusRequestEntityTooLarge {
			return apiStatusError{se.status, exchange.Errorf(exchange.CodeBadRequest,
				"the batch of items is larger than the %d MiB the server takes at once: send fewer messages per batch", wire.MaxImportBody>>20)}
		}
		return err
	}
	if err := checkImport(req); err != nil {
		return err
	}
	res, err := h.n.ImportItems(r.Context(), req)
	if err != nil {
		return mailToAPI(err)
	}
	apiWriteJSON(w, http.StatusOK, res)
	return nil
}

// checkImport checks what a batch names before anything is logged: the
// aliases, folders and sizes. The server's ImportItems checks it too.
func checkImport(req exchange.ImportRequest) error {
	for _, rc := range req.Create {
		if err := checkAlias(rc.Alias); err != nil {
			return err
		}
		if err := wire.CheckText("display name", rc.DisplayName, false, wire.MaxText); err != nil {
			return err
		}
	}
	for i, m := range req.Messages {
		if err := checkAlias(m.Mailbox); err != nil {
			return fmt.Errorf("message %d of the batch: %w", i+1, err)
		}
		if err := validFolderName(m.Folder); err != nil {
			return exchange.Errorf(exchange.CodeBadRequest, "message %d of the batch (mailbox %s): folder name %q is not valid", i+1, m.Mailbox, m.Folder)
		}
		if len(m.Data) == 0 {
			return exchange.Errorf(exchange.CodeBadRequest, "message %d of the batch (mailbox %s, folder %s) is empty", i+1, m.Mailbox, m.Folder)
		}
		for _, f := range m.Flags {
			if err := wire.CheckText("flag", f, true, wire.MaxName); err != nil {
				return err
			}
			if strings.ContainsAny(strings.TrimPrefix(f, `\`), " ()\"\\{}%*]") {
				return exchange.Errorf(exchange.CodeBadRequest, "message %d of the batch: flag %q is not an IMAP flag", i+1, f)
			}
		}
	}
	if why := exchange.ImportTooLarge(req); why != "" {
		return exchange.Errorf(exchange.CodeBadRequest, "%s", why)
	}
	for i, p := range req.Posts {
		if err := wire.CheckText("public folder", p.Folder, true, wire.MaxName); err != nil {
			return fmt.Errorf("post %d of the batch: %w", i+1, err)
		}
		if err := wire.CheckText("from", p.From, false, wire.MaxText); err != nil {
			return err
		}
		if err := wire.CheckText("subject", p.Subject, false, wire.MaxText); err != nil {
			return err
		}
	}
	return nil
}

func checkAlias(alias string) error {
	if err := wire.CheckText("alias", alias, true, wire.MaxName); err != nil {
		return err
	}
	if strings.ContainsAny(alias, " /\\@") {
		return exchange.Errorf(exchange.CodeBadRequest, "alias %q may not contain spaces, slashes or @", alias)
	}
	return nil
}
