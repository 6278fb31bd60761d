package ui

import (
	"context"

	"exbackup/catalog"
	"exbackup/engine"
	"exbackup/exchange"
)

// Engine is what the console asks of the engine. The real one is
// *engine.Engine; tests pass fakes. Calls that may block (everything but
// Owner) are made off the UI goroutine.
type Engine interface {
	Organization(ctx context.Context) (engine.Org, error)
	FetchFingerprint(ctx context.Context, addr string) (string, error)
	Connect(ctx context.Context, addr, key, fingerprint string) error
	Backup(ctx context.Context, req engine.BackupRequest, p *engine.Progress) (engine.BackupResult, error)
	CheckRestore(req engine.RestoreRequest) (warnings []string, err error) // rules + chain warnings before a job starts
	Restore(ctx context.Context, req engine.RestoreRequest, p *engine.Progress) (engine.RestoreResult, error)
	Verify(ctx context.Context, req engine.VerifyRequest, p *engine.Progress) (engine.VerifyResult, error)
	CatalogTape(ctx context.Context, nameOrPath string, p *engine.Progress) error
	Erase(ctx context.Context, tape string) error
	// Service control of a store; starting one whose restore is staged
	// runs the chain's recovery.
	StartService(ctx context.Context, server string, id exchange.StoreID) (exchange.RestoreResult, error)
	// StopService refuses with an *engine.BackupStreamingError while a
	// backup of the store streams; StopServiceAfterBackup waits for it to
	// end (until ctx ends) and then stops the service.
	StopService(ctx context.Context, server string, id exchange.StoreID) error
	StopServiceAfterBackup(ctx context.Context, server string, id exchange.StoreID) error
	CancelRestore(ctx context.Context, server string, id exchange.StoreID) (exchange.RestoreResult, error)
	Tapes() ([]catalog.Tape, error)
	Sets(tapeID uint64) ([]catalog.Set, error)
	TapePresent(t catalog.Tape) bool
	Owner() string // user@host of whoever runs the console
}

// homer is what the real engine offers beyond Engine to find the default
// log file (Backup.log in its home folder).
type homer interface{ Home() string }
