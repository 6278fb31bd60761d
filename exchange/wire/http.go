package wire

import (
	"net/http"

	"exbackup/exchange"
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
//	POST /v1/services/{store}/start           → RestoreResult (a staged restore's recovery)
//	POST /v1/services/{store}/stop            → 204
//	POST /v1/backup                           {store, type} → BackupInfo
//	GET  /v1/backup/{session}/files/{name}    → framed file
//	POST /v1/backup/{session}/end             {success} → 204
//	POST /v1/restore                          RestoreRequest → RestoreInfo
//	PUT  /v1/restore/{session}/files/{name}   framed file → 204
//	POST /v1/restore/{session}/complete       → RestoreResult
//	POST /v1/services/{store}/cancel-restore  → RestoreResult
//	POST /v1/mailboxes                        Recipient → 204
//	POST /v1/messages                         Message → 204
//	POST /v1/posts                            Post → 204
//	GET  /v1/digest                           Digest
//	POST /v1/items                            ImportRequest → ImportResult (item-level restore)

// MaxImportBody bounds the JSON body of POST /v1/items: a batch of
// exchange.MaxImportBytes of message data, or one message of
// exchange.MaxImportMessage, base64 in JSON, with its other fields.
const MaxImportBody = 48 << 20

// BackupRequest is the body of POST /v1/backup.
type BackupRequest struct {
	Store exchange.StoreID    `json:"store"`
	Type  exchange.BackupType `json:"type"`
}

// BackupEndRequest is the body of POST /v1/backup/{session}/end; success
// must be stated, never assumed.
type BackupEndRequest struct {
	Success *bool `json:"success"`
}

// ErrorBody is the JSON of every error answer.
type ErrorBody struct {
	Code    exchange.Code `json:"code"`
	Message string        `json:"message"`
}

// StatusOf maps an error code to the HTTP status the API answers it with.
func StatusOf(c exchange.Code) int {
	switch c {
	case exchange.CodeBadRequest:
		return http.StatusBadRequest
	case exchange.CodeUnauthorized:
		return http.StatusUnauthorized
	case exchange.CodeNotFound:
		return http.StatusNotFound
	case exchange.CodeNotRunning:
		return http.StatusServiceUnavailable
	case exchange.CodeRefused:
		return http.StatusUnprocessableEntity
	case exchange.CodeConflict:
		return http.StatusConflict
	case exchange.CodeRateLimited:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// CodeOfStatus is the code of an answer that carries none (a proxy's, say).
func CodeOfStatus(status int) exchange.Code {
	switch status {
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return exchange.CodeBadRequest
	case http.StatusUnauthorized, http.StatusForbidden:
		return exchange.CodeUnauthorized
	case http.StatusNotFound:
		return exchange.CodeNotFound
	case http.StatusServiceUnavailable:
		return exchange.CodeNotRunning
	case http.StatusUnprocessableEntity:
		return exchange.CodeRefused
	case http.StatusConflict:
		return exchange.CodeConflict
	case http.StatusTooManyRequests:
		return exchange.CodeRateLimited
	}
	return exchange.CodeInternal
}

// HTTP2Config widens HTTP/2's flow-control windows so that one stream can
// fill a fast link; the defaults are sized for browsers.
func HTTP2Config() *http.HTTP2Config {
	return &http.HTTP2Config{
		MaxReceiveBufferPerConnection: 4<<20 - 1,
		MaxReceiveBufferPerStream:     4<<20 - 1,
		MaxReadFrameSize:              1 << 20,
	}
}
