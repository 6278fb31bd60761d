package client

import (
	"context"
	"net/http"
	"net/url"
)

// SetPassword gives a mailbox of the server its password for SMTP and
// IMAP (the server keeps only an argon2id hash of it).
func (c *Client) SetPassword(ctx context.Context, alias, password string) error {
	body := struct {
		Password string `json:"password"`
	}{password}
	return c.call(ctx, "setting the password of "+alias, http.MethodPost, "/v1/mailboxes/"+url.PathEscape(alias)+"/password", body, nil)
}
