package app

import (
	"exbackup/engine"
	"exbackup/exchange"
	"exbackup/exchange/server"
)

// offlineRecoverer recovers store sets staged by the engine with the
// server's own hard recovery, outside any server (server.RecoverOffline),
// for item-level recovery. The engine sees it only as an
// engine.Recoverer, so that it and the GUI stay free of the server.
type offlineRecoverer struct{}

func (offlineRecoverer) Recover(dir string, sets []exchange.RestoreEnv) (engine.ItemStore, error) {
	s, err := server.RecoverOffline(dir, sets)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (offlineRecoverer) Reopen(dir string) (engine.ItemStore, error) {
	s, err := server.ReopenOffline(dir)
	if err != nil {
		return nil, err
	}
	return s, nil
}

var _ engine.ItemStore = (*server.OfflineStore)(nil)
