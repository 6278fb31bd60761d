package server

import (
	"context"
	"fmt"
	"io"
	"strings"

	"exbackup/exchange"
)

// Starting and stopping the services, and the online backup and restore
// sessions that run on them.

// StartService implements Node: a staged restore is recovered first.
func (s *Server) StartService(ctx context.Context, id exchange.StoreID) (exchange.RestoreResult, error) {
	st, err := s.storeOf(id)
	if err != nil {
		return exchange.RestoreResult{}, err
	}
	if id == exchange.StoreIS && !s.ds.isRunning() {
		return exchange.RestoreResult{}, exchange.Errorf(exchange.CodeRefused, "the Microsoft Information Store on %s needs the Microsoft Directory: start the Directory first", s.cfg.Name)
	}
	s.log.Info("starting service", "store", id)
	res, err := st.startReport()
	s.logRecovery(st, res, err)
	if err == nil {
		res.Started = true
	}
	return res, err
}

func (s *Server) logRecovery(st *store, res exchange.RestoreResult, err error) {
	if !res.Recovered && err == nil {
		return
	}
	s.log.Info("restore recovered at service start", "store", st.id, "recovered", res.Recovered, "lastLSN", res.LastLSN, "rolledForward", res.RolledForward, "err", err)
	for _, w := range res.Warnings {
		s.log.Warn("restore", "store", st.id, "warning", w)
	}
}

// StopService implements Node. Stopping the Directory stops the Information
// Store first, which depends on it. A service whose backup streams is not
// stopped: that would cut the backup off.
func (s *Server) StopService(ctx context.Context, id exchange.StoreID) error {
	st, err := s.storeOf(id)
	if err != nil {
		return err
	}
	for _, b := range []*store{st, s.is} {
		if b != st && id != exchange.StoreDS {
			continue
		}
		if run, ok := b.backupRunning(); ok {
			what := b.what()
			if b != st {
				what += ", which depends on the Directory,"
			}
			return exchange.Errorf(exchange.CodeConflict, "%s is not stopped: a %s backup of it is streaming (started %s); stop it when the backup has ended", what, titleCase(string(run.Type)), run.Started.Local().Format("3:04:05 PM"))
		}
	}
	s.log.Info("stopping service", "store", id)
	if id == exchange.StoreDS {
		if _, err := s.Topology(ctx); err != nil {
			s.log.Warn("topology not cached", "err", err)
		}
		if err := s.is.stop(); err != nil {
			return exchange.Errorf(exchange.CodeInternal, "stopping the Microsoft Information Store on %s: %w", s.cfg.Name, err)
		}
	}
	if err := st.stop(); err != nil {
		return exchange.Errorf(exchange.CodeInternal, "stopping %s: %w", st.what(), err)
	}
	return nil
}

// BackupPrepare implements Node.
func (s *Server) BackupPrepare(ctx context.Context, id exchange.StoreID, t exchange.BackupType) (exchange.BackupInfo, error) {
	st, err := s.storeOf(id)
	if err != nil {
		return exchange.BackupInfo{}, err
	}
	sess, err := st.backupPrepare(t, exchange.RestoreEnv{Organization: s.cfg.Organization, Site: s.cfg.Site, Server: s.cfg.Name})
	if err != nil {
		return exchange.BackupInfo{}, err
	}
	s.log.Info("backup prepared", "store", id, "type", t, "session", sess.id, "low", sess.info.Env.LowGen, "high", sess.info.Env.HighGen)
	return sess.info, nil
}

func (s *Server) backupSession(id string) (*store, *backupSession, error) {
	for _, st := range []*store{s.ds, s.is} {
		st.smu.Lock()
		sess := st.session
		st.smu.Unlock()
		if sess != nil && sess.id == id {
			return st, sess, nil
		}
	}
	return nil, nil, exchange.Errorf(exchange.CodeNotFound, "no backup session %q on %s (it ended or was abandoned)", id, s.cfg.Name)
}

// BackupRead implements Node.
func (s *Server) BackupRead(ctx context.Context, session, file string) (io.ReadCloser, error) {
	_, sess, err := s.backupSession(session)
	if err != nil {
		return nil, err
	}
	return sess.open(file)
}

// BackupEnd implements Node.
func (s *Server) BackupEnd(ctx context.Context, session string, success bool) error {
	st, _, err := s.backupSession(session)
	if err != nil {
		return err
	}
	err = st.backupEnd(session, success)
	s.log.Info("backup ended", "store", st.id, "session", session, "success", success, "err", err)
	return err
}

// CancelRestore implements Node.
func (s *Server) CancelRestore(ctx context.Context, id exchange.StoreID) (exchange.RestoreResult, error) {
	st, err := s.storeOf(id)
	if err != nil {
		return exchange.RestoreResult{}, err
	}
	res, err := st.cancelRestore()
	s.log.Info("restore cancelled", "store", id, "err", err)
	return res, err
}

func titleCase(w string) string {
	if w == "" {
		return w
	}
	return strings.ToUpper(w[:1]) + w[1:]
}

// RestorePrepare implements Node: the rules of Exchange 5.5 are checked
// before anything is touched.
func (s *Server) RestorePrepare(ctx context.Context, req exchange.RestoreRequest) (exchange.RestoreInfo, error) {
	env := req.Env
	st, err := s.storeOf(env.Store)
	if err != nil {
		return exchange.RestoreInfo{}, err
	}
	if env.Organization != s.cfg.Organization {
		return exchange.RestoreInfo{}, exchange.Errorf(exchange.CodeRefused, "the set belongs to organization %q; %s is in %q: a set restores only within its organization", env.Organization, s.cfg.Name, s.cfg.Organization)
	}
	if env.Site != s.cfg.Site {
		return exchange.RestoreInfo{}, exchange.Errorf(exchange.CodeRefused, "the set comes from site %q; %s is in site %q: a set restores only to a server of its own site", env.Site, s.cfg.Name, s.cfg.Site)
	}
	var warnings []string
	if env.Store == exchange.StoreDS {
		if env.Server != s.cfg.Name {
			return exchange.RestoreInfo{}, exchange.Errorf(exchange.CodeRefused, "the Directory of %s can only be restored to %s, its original server", env.Server, env.Server)
		}
		topo := s.topo
		var others []string
		for _, site := range topo.Sites {
			if site.Name != s.cfg.Site && len(site.Servers) > 0 {
				others = append(others, site.Name)
			}
		}
		if len(others) > 0 {
			warnings = append(warnings, fmt.Sprintf("Sites %s still hold the server object of %s: until directory replication catches up they may show invalid users.", strings.Join(others, ", "), s.cfg.Name))
		}
	} else if env.Type.Full() {
		if !req.Private && !req.Public {
			return exchange.RestoreInfo{}, exchange.Errorf(exchange.CodeBadRequest, "choose Private, Public or both to restore the Information Store")
		}
		if env.Server != s.cfg.Name && !(req.Erase && req.Private && req.Public) {
			return exchange.RestoreInfo{}, exchange.Errorf(exchange.CodeRefused, "restoring the Information Store of %s to %s requires Erase all existing data and both Private and Public", env.Server, s.cfg.Name)
		}
	}
	rs, w, err := st.restorePrepare(req)
	if err != nil {
		return exchange.RestoreInfo{}, err
	}
	s.log.Info("restore prepared", "store", env.Store, "type", env.Type, "from", env.Server, "session", rs.id)
	return exchange.RestoreInfo{Session: rs.id, Warnings: append(warnings, w...)}, nil
}

func (s *Server) restoreSession(id string) (*restoreSession, error) {
	for _, st := range []*store{s.ds, s.is} {
		st.smu.Lock()
		rs := st.restore
		st.smu.Unlock()
		if rs != nil && rs.id == id {
			return rs, nil
		}
	}
	return nil, exchange.Errorf(exchange.CodeNotFound, "no restore session %q on %s", id, s.cfg.Name)
}

// RestoreWrite implements Node.
func (s *Server) RestoreWrite(ctx context.Context, session, file string, r io.Reader) error {
	rs, err := s.restoreSession(session)
	if err != nil {
		return err
	}
	return rs.write(file, r)
}

// RestoreComplete implements Node.
func (s *Server) RestoreComplete(ctx context.Context, session string) (exchange.RestoreResult, error) {
	rs, err := s.restoreSession(session)
	if err != nil {
		return exchange.RestoreResult{}, err
	}
	if rs.req.Start && rs.st.id == exchange.StoreIS && !s.ds.isRunning() {
		if err := s.ds.start(); err != nil {
			return exchange.RestoreResult{}, err
		}
	}
	res, err := rs.complete()
	s.log.Info("restore set completed", "store", rs.st.id, "staged", res.Staged, "recovered", res.Recovered, "err", err)
	return res, err
}
