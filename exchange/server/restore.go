package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"exbackup/exchange"

	"exbackup/exchange/server/xlog"
	"exbackup/internal/durable"

	bolt "go.etcd.io/bbolt"
)

// The restore-in-progress marker and the staging area, beside the live
// files of the store. While the marker exists the service refuses to start.
const (
	restoreMarker = "restore.json"
	stagingDir    = "restore"
	retiredPrefix = "retired-" // databases a swap replaced, logs a backup truncated: being deleted
	phaseStaging  = "staging"  // sets of a chain are arriving
	phaseSwap     = "swap"     // recovery is done; staged files are being swapped in
)

// marker is the restore-in-progress state of one store.
type marker struct {
	Phase   string              `json:"phase"`
	Env     exchange.RestoreEnv `json:"env"` // of the full set that began the chain
	Erase   bool                `json:"erase"`
	Private bool                `json:"private"`
	Public  bool                `json:"public"`
	HighGen uint32              `json:"highGen"` // last generation staged so far
	HighLSN uint64              `json:"highLSN"`
	Started time.Time           `json:"started"`

	// Set for the swap phase.
	Databases []string `json:"databases,omitempty"` // staged files to rename over the live ones
	Logs      string   `json:"logs,omitempty"`      // "keep", "erase" or "aside"
	AsideDir  string   `json:"asideDir,omitempty"`
	NewGen    uint32   `json:"newGen,omitempty"` // first generation of the new log set
	NewLSN    uint64   `json:"newLSN,omitempty"` // its first LSN
	NewSig    string   `json:"newSig,omitempty"`
}

func readMarker(dir string) (*marker, error) {
	data, err := os.ReadFile(filepath.Join(dir, restoreMarker))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m marker
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("restore marker %s: %w", restoreMarker, err)
	}
	return &m, nil
}

func writeMarker(dir string, m *marker) error {
	data, _ := json.MarshalIndent(m, "", "  ")
	return writeFileAtomic(filepath.Join(dir, restoreMarker), data)
}

// restoreSession receives one set.
type restoreSession struct {
	id       string
	st       *store
	req      exchange.RestoreRequest
	mk       *marker
	mu       sync.Mutex
	received map[string]bool
}

var logNameRE = regexp.MustCompile(`^edb([0-9A-F]{5})\.log$`)

func parseGen(name string) (uint32, bool) {
	m := logNameRE.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	g, err := strconv.ParseUint(m[1], 16, 32)
	return uint32(g), err == nil
}

// restorePrepare checks the rules that need only the store's own state and
// begins a session. Organization, site and server rules are the caller's.
func (s *store) restorePrepare(req exchange.RestoreRequest) (*restoreSession, []string, error) {
	env := req.Env
	if !env.Type.Valid() {
		return nil, nil, exchange.Errorf(exchange.CodeBadRequest, "the set's backup type %q is unknown", env.Type)
	}
	if env.LowGen == 0 || env.HighGen < env.LowGen {
		return nil, nil, exchange.Errorf(exchange.CodeBadRequest, "the set's log generation range %d–%d is not valid", env.LowGen, env.HighGen)
	}
	if s.isRunning() {
		return nil, nil, exchange.Errorf(exchange.CodeConflict, "%s is running: stop the service before restoring", s.what())
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.restore != nil {
		return nil, nil, exchange.Errorf(exchange.CodeConflict, "a restore of %s is already in progress", s.what())
	}
	mk, err := readMarker(s.dir)
	if err != nil {
		return nil, nil, exchange.Errorf(exchange.CodeInternal, "%s: %w", s.what(), err)
	}
	if mk != nil && mk.Phase == phaseSwap {
		// Recovery finished but the swap was interrupted: finish it first
		// so that the earlier restore is whole before a new one begins.
		if err := s.finishSwap(mk); err != nil {
			return nil, nil, exchange.Errorf(exchange.CodeInternal, "%s: finishing the interrupted restore: %w", s.what(), err)
		}
		mk = nil
	}
	var warnings []string
	staging := filepath.Join(s.dir, stagingDir)
	if env.Type.Full() {
		if mk != nil {
			warnings = append(warnings, fmt.Sprintf("The unfinished restore of %s that began %s was discarded: a full set starts the chain anew.", s.what(), mk.Started.Local().Format("1/2/2006 3:04 PM")))
		}
		if err := os.RemoveAll(staging); err != nil {
			return nil, nil, exchange.Errorf(exchange.CodeInternal, "%s: clearing the staging area: %w", s.what(), err)
		}
		if err := os.MkdirAll(filepath.Join(staging, "logs"), 0o700); err != nil {
			return nil, nil, exchange.Errorf(exchange.CodeInternal, "%s: %w", s.what(), err)
		}
		mk = &marker{Phase: phaseStaging, Env: env, Erase: req.Erase, Private: req.Private, Public: req.Public, Started: time.Now().UTC()}
		if s.id == exchange.StoreDS {
			mk.Private, mk.Public = false, false
		}
		mk.HighGen = env.LowGen - 1
	} else {
		kind := "an incremental"
		if env.Type == exchange.Differential {
			kind = "a differential"
		}
		if mk == nil {
			return nil, nil, exchange.Errorf(exchange.CodeRefused, "You cannot restore %s backup until a full backup has been restored (%s)", kind, s.what())
		}
		if mk.Env.Signature != env.Signature {
			return nil, nil, exchange.Errorf(exchange.CodeRefused, "this %s set does not belong to the chain of the full set being restored on %s", env.Type, s.server)
		}
		if env.LowGen > mk.HighGen+1 {
			return nil, nil, exchange.Errorf(exchange.CodeRefused, "log generations %s to %s are missing between the sets restored so far and this one: restore the sets of the chain in order", genName(mk.HighGen+1), genName(env.LowGen-1))
		}
		if env.HighGen <= mk.HighGen && env.HighLSN <= mk.HighLSN {
			return nil, nil, exchange.Errorf(exchange.CodeRefused, "this %s set holds nothing newer than the sets already restored on %s", env.Type, s.server)
		}
	}
	if err := writeMarker(s.dir, mk); err != nil {
		return nil, nil, exchange.Errorf(exchange.CodeInternal, "%s: writing the restore marker: %w", s.what(), err)
	}
	rs := &restoreSession{id: newSessionID(), st: s, req: req, mk: mk, received: map[string]bool{}}
	s.restore = rs
	return rs, warnings, nil
}

// expected lists the files the set must deliver, and whether each is kept.
func (r *restoreSession) expected() map[string]bool {
	exp := map[string]bool{restoreEnvFile: false}
	if r.req.Env.Type.Full() {
		for _, name := range r.st.dbNames {
			exp[name] = r.wants(name)
		}
	}
	for g := r.req.Env.LowGen; g <= r.req.Env.HighGen; g++ {
		exp[genName(g)] = true
	}
	return exp
}

func (r *restoreSession) wants(db string) bool {
	switch db {
	case privEDB:
		return r.mk.Private
	case pubEDB:
		return r.mk.Public
	}
	return true
}

// write receives one file into the staging area: written to a temporary
// name, synced, then renamed, so a file that is there is whole.
func (r *restoreSession) write(name string, src io.Reader) error {
	exp := r.expected()
	keep, ok := exp[name]
	if !ok {
		return exchange.Errorf(exchange.CodeBadRequest, "%s: the set has no file %q to restore", r.st.what(), name)
	}
	if !keep {
		if _, err := io.Copy(io.Discard, src); err != nil {
			return exchange.Errorf(exchange.CodeBadRequest, "%s: receiving %s: %v", r.st.what(), name, err)
		}
		r.mark(name)
		return nil
	}
	dst := filepath.Join(r.st.dir, stagingDir, name)
	if _, isLog := parseGen(name); isLog {
		dst = filepath.Join(r.st.dir, stagingDir, "logs", name)
	}
	if err := receiveFile(dst, src); err != nil {
		return exchange.Errorf(exchange.CodeInternal, "%s: receiving %s: %w (the live files are untouched)", r.st.what(), name, err)
	}
	r.mark(name)
	return nil
}

func (r *restoreSession) mark(name string) {
	r.mu.Lock()
	r.received[name] = true
	r.mu.Unlock()
}

func receiveFile(dst string, src io.Reader) error {
	tmp := dst + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	// Past the page cache where the system allows: a restored database is
	// written once, then read by recovery and the service at their pace.
	st := durable.NewStream(f)
	_, err = io.Copy(st, src)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(dst))
}

// complete ends a set. With the last set of a chain it runs hard recovery
// in the staging area, rolls forward through the logs already on the server
// unless the chain began with Erase, and swaps the live files.
func (r *restoreSession) complete() (exchange.RestoreResult, error) {
	s := r.st
	defer func() {
		s.smu.Lock()
		if s.restore == r {
			s.restore = nil
		}
		s.smu.Unlock()
	}()
	for name := range r.expected() {
		if !r.received[name] {
			return exchange.RestoreResult{}, exchange.Errorf(exchange.CodeRefused, "the set restored to %s is incomplete: %s was not received; the live files are untouched", s.what(), name)
		}
	}
	mk := r.mk
	mk.HighGen, mk.HighLSN = max(mk.HighGen, r.req.Env.HighGen), max(mk.HighLSN, r.req.Env.HighLSN)
	if err := writeMarker(s.dir, mk); err != nil {
		return exchange.RestoreResult{}, exchange.Errorf(exchange.CodeInternal, "%s: %w", s.what(), err)
	}
	if !r.req.Last {
		return exchange.RestoreResult{Messages: []string{fmt.Sprintf("Set staged on %s; the %s stays stopped until the last set of the chain is restored.", s.server, s.id.ServiceName())}}, nil
	}
	res, err := r.recover()
	if err != nil {
		return exchange.RestoreResult{}, err
	}
	if r.req.Start {
		if err := s.start(); err != nil {
			return res, err
		}
		res.Started = true
	}
	return res, nil
}

func (r *restoreSession) recover() (exchange.RestoreResult, error) {
	s, mk := r.st, r.mk
	var res exchange.RestoreResult
	staging := filepath.Join(s.dir, stagingDir)
	dbs := map[string]*bolt.DB{}
	closeAll := func() {
		for _, db := range dbs {
			db.Close()
		}
	}
	for _, name := range s.dbNames {
		if !r.wants(name) {
			continue
		}
		db, err := boltOpen(filepath.Join(staging, name), false)
		if err != nil {
			closeAll()
			return res, exchange.Errorf(exchange.CodeInternal, "%s: opening the restored %s: %w", s.what(), name, err)
		}
		dbs[name] = db
	}
	last, err := replayInto(filepath.Join(staging, "logs"), mk.Env.BaseLSN, dbs)
	if err != nil {
		closeAll()
		return res, exchange.Errorf(exchange.CodeInternal, "%s: hard recovery from the restored logs failed: %w; the live files are untouched", s.what(), err)
	}
	if last < mk.HighLSN {
		closeAll()
		return res, exchange.Errorf(exchange.CodeInternal, "%s: hard recovery: the restored logs end at LSN %d but the sets hold up to %d; the live files are untouched", s.what(), last, mk.HighLSN)
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
			res.Messages = append(res.Messages, fmt.Sprintf("Roll-forward was not possible (%v): the store is as it was at the end of the backup; the server's logs were kept aside.", err))
		case sig == "":
			res.Messages = append(res.Messages, "There were no logs on the server to roll forward.")
		case sig != mk.Env.Signature:
			mk.Logs = "aside"
			res.Messages = append(res.Messages, "The logs on the server belong to another log set: nothing was rolled forward; they were kept aside.")
		default:
			fwd, err := replayInto(s.dir, last, dbs)
			if err != nil {
				mk.Logs = "aside"
				res.Messages = append(res.Messages, fmt.Sprintf("Roll-forward stopped: %v. The store is as it was at the end of the backup; the server's logs were kept aside.", err))
			} else {
				mk.Logs = "keep"
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
		if r.wants(name) {
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
			mk.AsideDir = "logs-before-restore-" + time.Now().UTC().Format("20060102-150405")
		}
	}
	for _, name := range s.dbNames {
		if r.wants(name) {
			mk.Databases = append(mk.Databases, name)
		}
	}
	mk.Phase = phaseSwap
	if err := writeMarker(s.dir, mk); err != nil {
		return res, exchange.Errorf(exchange.CodeInternal, "%s: %w", s.what(), err)
	}
	if err := s.finishSwap(mk); err != nil {
		return res, exchange.Errorf(exchange.CodeInternal, "%s: swapping in the restored files: %w (the swap finishes when the service starts)", s.what(), err)
	}
	res.Recovered, res.LastLSN = true, last
	return res, nil
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
// the logs. Every step can be repeated, so an interrupted swap is finished
// by running it again.
func (s *store) finishSwap(mk *marker) error {
	staging := filepath.Join(s.dir, stagingDir)
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
			if err := clearLogs(s.dir, mk); err != nil {
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
	if err := syncDir(s.dir); err != nil {
		return err
	}
	s.removeRetired()
	return nil
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
			if err := os.RemoveAll(d); err != nil {
				slog.Warn("removing files the store no longer uses", "store", s.what(), "dir", d, "err", err)
			}
		}
	}()
}

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
func clearLogs(dir string, mk *marker) error {
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
		if aside != "" {
			err = os.Rename(p, filepath.Join(aside, n))
		} else {
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

func (r *restoreSession) abort() {
	s := r.st
	s.smu.Lock()
	if s.restore == r {
		s.restore = nil
	}
	s.smu.Unlock()
}

func randomSig() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
