package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"exbackup/exchange"

	"exbackup/exchange/xlog"

	bolt "go.etcd.io/bbolt"
)

// asideName names the folder a recovery that cannot roll forward moves the
// server's logs into, to the minute of the recovery.
func asideName() string {
	return "logs-before-restore-" + time.Now().UTC().Format("20060102-1504")
}

// clearStaleLogs removes staged log generations that no completed set
// staged (an aborted set's, left by a crash), so recovery replays exactly
// the sets the marker records.
func (s *store) clearStaleLogs(mk *marker) {
	logs := filepath.Join(mk.staging(s.dir), "logs")
	ents, _ := os.ReadDir(logs)
	for _, e := range ents {
		if g, ok := parseGen(e.Name()); ok && g > mk.HighGen {
			os.Remove(filepath.Join(logs, e.Name()))
		}
	}
}

// recoverStaged runs the recovery of a staged chain: hard recovery replays
// the restored logs into the restored databases in the staging folder;
// unless the chain began with Erase, recovery rolls forward through the
// logs on the server; then the live files are swapped. It runs when the
// service starts, with s.mu held. Until the swap begins nothing live is
// touched, so a recovery that fails leaves the chain staged and the old
// data as it was.
func (s *store) recoverStaged(mk *marker) (exchange.RestoreResult, error) {
	var res exchange.RestoreResult
	if len(mk.Sets) > 0 {
		res.Messages = append(res.Messages, fmt.Sprintf("Recovering the restore staged on %s (%s).", s.what(), describeSets(mk.Sets)))
	}
	staging := mk.staging(s.dir)
	aside := asideName()
	s.clearStaleLogs(mk)
	var names []string
	for _, name := range s.dbNames {
		if mk.wants(name) {
			names = append(names, name)
		}
	}
	dbs, last, err := hardRecovery(staging, filepath.Join(staging, "logs"), names, mk.Env.BaseLSN, mk.HighLSN)
	if err != nil {
		return res, exchange.Errorf(exchange.CodeInternal, "%s: %w; the live files are untouched", s.what(), err)
	}
	closeAll := func() {
		for _, db := range dbs {
			db.Close()
		}
	}
	res.Messages = append(res.Messages, fmt.Sprintf("Hard recovery replayed the restored logs through LSN %d.", last))

	mk.Logs = "erase"
	sameServer := mk.Env.Server == s.server
	switch {
	case mk.Erase:
		res.Messages = append(res.Messages, "Existing data was erased: the store is as it was at the end of the backup.")
	case !sameServer:
		res.Messages = append(res.Messages, "Restored from another server: nothing was rolled forward.")
	default:
		sig, err := liveSignature(s.dir)
		switch {
		case err != nil:
			mk.Logs = "aside"
			res.Warnings = append(res.Warnings, fmt.Sprintf("Roll-forward was not possible (%v): the store is as it was at the end of the backup, and changes made after it are not in it; the server's logs were kept aside in %s.", err, aside))
		case sig == "":
			res.Messages = append(res.Messages, "There were no logs on the server to roll forward.")
		case sig != mk.Env.Signature:
			mk.Logs = "aside"
			res.Warnings = append(res.Warnings, fmt.Sprintf("The logs on the server belong to another log set: nothing was rolled forward, so changes made after the backup are not in the store; they were kept aside in %s.", aside))
		default:
			fwd, err := replayInto(s.dir, last, dbs)
			if err != nil {
				mk.Logs = "aside"
				res.Warnings = append(res.Warnings, fmt.Sprintf("Roll-forward stopped: %v. The store is as it was at the end of the backup, and changes made after it are not in it; the server's logs were kept aside in %s.", err, aside))
			} else {
				mk.Logs = "keep"
				res.RolledForward = true
				res.Messages = append(res.Messages, fmt.Sprintf("Rolled forward through the logs on the server to LSN %d: nothing committed after the backup was lost.", fwd))
				last = fwd
			}
		}
	}
	if err := markRevalidate(dbs[privEDB], mk.Logs != "keep"); err != nil {
		closeAll()
		return res, exchange.Errorf(exchange.CodeInternal, "%s: hard recovery: %w; the live files are untouched", s.what(), err)
	}
	closeAll()

	// The kept databases (the store not chosen of Private/Public) stay as
	// they were; a new log set must start above everything they applied.
	startLSN := last
	for _, name := range s.dbNames {
		if mk.wants(name) {
			continue
		}
		if a, err := dbApplied(filepath.Join(s.dir, name)); err == nil && a > startLSN {
			startLSN = a
		}
		res.Messages = append(res.Messages, fmt.Sprintf("The %s was not restored and was left as it was.", dbTitle(name)))
	}
	if mk.Logs != "keep" {
		if l, err := liveLastLSN(s.dir); err == nil && l > startLSN && mk.Env.Server == s.server && !mk.Erase {
			startLSN = l
		}
		// A new log set gets a signature of its own: sets taken from the
		// old lineage after this backup must never chain onto it.
		mk.NewGen, mk.NewLSN, mk.NewSig = mk.HighGen+1, startLSN+1, randomSig()
		if mk.Logs == "aside" {
			mk.AsideDir = aside
		}
	}
	for _, name := range s.dbNames {
		if mk.wants(name) {
			mk.Databases = append(mk.Databases, name)
		}
	}
	mk.Phase, mk.Error = phaseSwap, ""
	if err := writeMarker(s.dir, mk); err != nil {
		return res, exchange.Errorf(exchange.CodeInternal, "%s: %w", s.what(), err)
	}
	if err := s.finishSwap(mk); err != nil {
		return res, exchange.Errorf(exchange.CodeInternal, "%s: swapping in the restored files: %w (the swap finishes when the service starts)", s.what(), err)
	}
	res.Recovered, res.LastLSN = true, last
	return res, nil
}

// hardRecovery opens the restored databases names in dbDir for writing
// (a schema 1 priv.edb is migrated as it opens) and replays into them the
// restored logs in logDir from base, checking that the replay reaches
// high, the last LSN the sets hold. Staged restores (recoverStaged) and
// offline recovery (RecoverOffline) both run it. On success the caller
// closes the databases.
func hardRecovery(dbDir, logDir string, names []string, base, high uint64) (map[string]*bolt.DB, uint64, error) {
	dbs := map[string]*bolt.DB{}
	closeAll := func() {
		for _, db := range dbs {
			db.Close()
		}
	}
	for _, name := range names {
		db, err := boltOpen(filepath.Join(dbDir, name), false)
		if err != nil {
			closeAll()
			return nil, 0, fmt.Errorf("opening the restored %s: %w", name, err)
		}
		dbs[name] = db
	}
	last, err := replayInto(logDir, base, dbs)
	if err != nil {
		closeAll()
		return nil, 0, fmt.Errorf("hard recovery from the restored logs failed: %w", err)
	}
	if last < high {
		closeAll()
		return nil, 0, fmt.Errorf("hard recovery: the restored logs end at LSN %d but the sets hold up to %d", last, high)
	}
	return dbs, last, nil
}

func dbTitle(name string) string {
	switch name {
	case privEDB:
		return "private information store"
	case pubEDB:
		return "public information store"
	}
	return "directory"
}

// finishSwap moves the recovered databases over the live ones and settles
// the logs; what it moved aside is left for removeRetired. Every step can be repeated, so an interrupted swap is finished
// by running it again.
func (s *store) finishSwap(mk *marker) error {
	staging := mk.staging(s.dir)
	retired := ""
	for _, name := range mk.Databases {
		src, dst := filepath.Join(staging, name), filepath.Join(s.dir, name)
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
			continue // already moved
		}
		// The replaced database is moved aside, not unlinked by the
		// rename: freeing a large file's blocks takes a while, and the
		// service need not wait for it.
		if _, err := os.Stat(dst); err == nil {
			if retired == "" {
				if retired, err = os.MkdirTemp(s.dir, retiredPrefix); err != nil {
					return err
				}
			}
			if err := os.Rename(dst, filepath.Join(retired, name)); err != nil {
				return err
			}
		}
		if err := os.Rename(src, dst); err != nil {
			return err
		}
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	if mk.Logs != "keep" {
		done, err := newLogInPlace(s.dir, mk)
		if err != nil {
			return err
		}
		if !done {
			// Erased logs leave the folder at once and are deleted in the
			// background: a Copy set's store may hold hundreds.
			trash := ""
			if mk.Logs == "erase" {
				if t, err := mkdirRetired(s.dir, retiredPrefix); err == nil {
					trash = t
				}
			}
			if err := clearLogs(s.dir, mk, trash); err != nil {
				return err
			}
			lg, err := xlog.Open(s.dir, xlog.Options{FirstGen: mk.NewGen, FirstLSN: mk.NewLSN, Signature: sigBytes(mk.NewSig)})
			if err != nil {
				return err
			}
			if err := lg.Close(); err != nil {
				return err
			}
		}
		if err := xlog.WriteCheckpoint(s.dir, "", xlog.Checkpoint{LSN: mk.NewLSN - 1, Gen: mk.NewGen}); err != nil {
			return err
		}
	}
	// A restored store has had no Normal backup since.
	if err := os.Remove(filepath.Join(s.dir, marksFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.RemoveAll(staging); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.dir, restoreMarker)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// The retired files are deleted once the service has opened
	// (openLocked), or by the caller when it does not start the service.
	return syncDir(s.dir)
}

// removeRetired deletes, in the background, the given retired folders, or
// all of them when none is given: databases a restore replaced, log
// generations a backup truncated, and those a crash left behind. Nothing
// reads them: they are gone from the store the moment they are moved
// aside. stop waits for the deletion.
func (s *store) removeRetired(dirs ...string) {
	if len(dirs) == 0 {
		dirs, _ = filepath.Glob(filepath.Join(s.dir, retiredPrefix+"*"))
	}
	if len(dirs) == 0 {
		return
	}
	s.retiring.Add(1)
	go func() {
		defer s.retiring.Done()
		for _, d := range dirs {
			if err := removeAll(d); err != nil {
				slog.Warn("removing files the store no longer uses", "store", s.what(), "dir", d, "err", err)
			}
		}
	}()
}

// removeAll deletes a retired folder; tests replace it to see when.
var removeAll = os.RemoveAll

func sigBytes(h string) [16]byte {
	var b [16]byte
	d, _ := hex.DecodeString(h)
	copy(b[:], d)
	return b
}

// newLogInPlace reports whether the new log set of the swap already exists.
func newLogInPlace(dir string, mk *marker) (bool, error) {
	gens, err := xlog.Generations(dir, "")
	if err != nil || len(gens) != 1 {
		return false, nil
	}
	if gens[0].Gen != mk.NewGen || gens[0].FirstLSN != mk.NewLSN {
		return false, nil
	}
	// The old log may start at the same generation and LSN: only the new
	// set's own signature tells them apart.
	sig, err := liveSignature(dir)
	return err == nil && sig == mk.NewSig, nil
}

// clearLogs removes (Erase) or moves aside the live logs and checkpoint.
// Erased logs are moved into trash when it is given.
func clearLogs(dir string, mk *marker, trash string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var aside string
	if mk.Logs == "aside" {
		aside = filepath.Join(dir, mk.AsideDir)
		if err := os.MkdirAll(aside, 0o700); err != nil {
			return err
		}
	}
	for _, e := range entries {
		n := e.Name()
		if !(n == "edb.log" || n == "edb.chk" || logNameRE.MatchString(n)) {
			continue
		}
		p := filepath.Join(dir, n)
		switch {
		case aside != "":
			err = os.Rename(p, filepath.Join(aside, n))
		case trash != "":
			err = os.Rename(p, filepath.Join(trash, n))
		default:
			err = os.Remove(p)
		}
		if err != nil {
			return err
		}
	}
	if aside != "" {
		if err := syncDir(aside); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// liveSignature is the signature of the log set in dir, "" when there is none.
func liveSignature(dir string) (string, error) {
	gens, err := xlog.Generations(dir, "")
	if err != nil {
		return "", err
	}
	if len(gens) == 0 {
		return "", nil
	}
	rd, err := xlog.OpenReader(gens[len(gens)-1].Path)
	if err != nil {
		return "", err
	}
	defer rd.Close()
	sig := rd.Header().Signature
	return hex.EncodeToString(sig[:]), nil
}

func liveLastLSN(dir string) (uint64, error) {
	gens, err := xlog.Generations(dir, "")
	if err != nil || len(gens) == 0 {
		return 0, err
	}
	return xlog.LastLSN(gens[len(gens)-1].Path)
}

func dbApplied(path string) (uint64, error) {
	if _, err := os.Stat(path); err != nil {
		return 0, err
	}
	db, err := boltOpen(path, true)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var a uint64
	err = db.View(func(tx *bolt.Tx) error { a = appliedLSN(tx); return nil })
	return a, err
}

func randomSig() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
