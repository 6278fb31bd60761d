// Package client is the Go client of an exserver: Dial pins the server's
// certificate fingerprint and speaks the API (package exchange's Node)
// remotely with the organization's access key; FetchFingerprint reads a
// certificate for an administrator to confirm first. Files stream as
// verified framed streams (package wire) over connections of their own.
//
// It imports the contract (exchange) and the wire format (exchange/wire),
// never the server.
package client
