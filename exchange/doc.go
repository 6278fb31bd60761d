// Package exchange is the contract of the Exchange-style server that
// exbackup backs up: the names and types both sides speak (stores, backup
// types, service states, the organization's topology, statuses, restore
// environments and requests, mailboxes, messages and posts), the error
// codes that survive the trip through HTTPS (Error, Errorf, CodeOf), and
// the Node interface a server offers.
//
// It holds no behaviour, so that a console that only shows or chooses
// these values needs nothing else. The server itself is exchange/server,
// the Go client that speaks to it remotely is exchange/client, and what the
// two ends share on the wire is exchange/wire:
//
//	exchange          contract: imports nothing of exbackup
//	exchange/wire     frames, stream connections, status table: imports exchange
//	exchange/client   the client: imports exchange, exchange/wire
//	exchange/server   the server: imports exchange, exchange/wire, exchange/client
//	                  (it dials its peers), exchange/server/xlog, internal/durable
package exchange
