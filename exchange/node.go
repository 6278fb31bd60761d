package exchange

import (
	"context"
	"io"
)

// Node is what a server offers through the API. The server implements it;
// the HTTPS handler serves it; the client speaks it remotely.
type Node interface {
	Status(ctx context.Context) (Status, error)
	Topology(ctx context.Context) (Topology, error)
	// Join registers a new server with this one, which passes it on to the
	// others; it answers the topology including the new server.
	Join(ctx context.Context, s ServerInfo) (Topology, error)
	// UpdateServer records a server object (new, or a changed address) that
	// another server passes on; it is not passed on again.
	UpdateServer(ctx context.Context, s ServerInfo) error
	Recipients(ctx context.Context) ([]Recipient, error)

	// StartService starts a service. A store with a staged restore first
	// runs its recovery (hard recovery, roll-forward, swap), and the
	// result says what it did.
	StartService(ctx context.Context, id StoreID) (RestoreResult, error)
	// StopService stops a service; it is refused while a backup of the
	// store (or, for the Directory, of the Information Store) streams.
	StopService(ctx context.Context, id StoreID) error

	BackupPrepare(ctx context.Context, id StoreID, t BackupType) (BackupInfo, error)
	// BackupRead streams one file of the session; the caller closes it.
	BackupRead(ctx context.Context, session, file string) (io.ReadCloser, error)
	// BackupEnd ends a session: only with success are logs truncated and
	// the backup marked.
	BackupEnd(ctx context.Context, session string, success bool) error

	RestorePrepare(ctx context.Context, req RestoreRequest) (RestoreInfo, error)
	RestoreWrite(ctx context.Context, session, file string, r io.Reader) error
	RestoreComplete(ctx context.Context, session string) (RestoreResult, error)
	// CancelRestore drops a store's staged restore and aborts a set being
	// received: the store keeps the data it had before the chain began.
	CancelRestore(ctx context.Context, id StoreID) (RestoreResult, error)

	CreateMailbox(ctx context.Context, r Recipient) error
	Deliver(ctx context.Context, m Message) error
	Post(ctx context.Context, p Post) error
	Digest(ctx context.Context) (Digest, error)

	// ImportItems puts one batch of an item-level restore into the
	// running Information Store (see ImportRequest); a batch holds at most
	// MaxImportBytes of message data.
	ImportItems(ctx context.Context, req ImportRequest) (ImportResult, error)
}
