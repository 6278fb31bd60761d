package server

import (
	"exbackup/exchange"
	"exbackup/exchange/wire"
)

func apiCheckServer(s exchange.ServerInfo) error {
	if err := wire.CheckText("server name", s.Name, true, wire.MaxName); err != nil {
		return err
	}
	if err := wire.CheckText("site", s.Site, true, wire.MaxName); err != nil {
		return err
	}
	if s.Address != "" {
		if err := wire.CheckAddr(s.Address); err != nil {
			return exchange.Errorf(exchange.CodeBadRequest, "server %s: %v", s.Name, err)
		}
	}
	if s.Fingerprint != "" {
		fp, err := wire.ParseFingerprint(s.Fingerprint)
		if err != nil || fp != s.Fingerprint {
			return exchange.Errorf(exchange.CodeBadRequest, "server %s: certificate fingerprint %q is not sha256: and 64 lowercase hex digits", s.Name, s.Fingerprint)
		}
	}
	return nil
}

func apiCheckStore(s exchange.StoreID) error {
	if !s.Valid() {
		return exchange.Errorf(exchange.CodeBadRequest, "store %q is not %q or %q", s, exchange.StoreDS, exchange.StoreIS)
	}
	return nil
}

func apiCheckType(t exchange.BackupType) error {
	if !t.Valid() {
		return exchange.Errorf(exchange.CodeBadRequest, "backup type %q is not one of normal, copy, incremental, differential", t)
	}
	return nil
}
