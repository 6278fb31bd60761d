package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"exbackup/exchange"
)

// A restore arrives set by set into a staging area beside the live files,
// and a marker (restore.json) records the sets staged so far. Nothing of a
// set counts until its completion rewrites the marker: a set that fails
// part-way, or whose console goes away, is aborted and its files cleared,
// and the marker is as it was before it. The chain's recovery runs when
// the service starts (recovery.go), as in Exchange 5.5.
const (
	restoreMarker = "restore.json"
	stagingDir    = "restore"  // the staging area of markers written before it was named in them
	stagingPrefix = "restore-" // staging areas: restore-<session>
	retiredPrefix = "retired-" // databases a swap replaced, logs a backup truncated: being deleted
	phaseStaging  = "staging"  // sets of a chain are staged
	phaseSwap     = "swap"     // recovery is done; staged files are being swapped in
)

// restoreIdle is how long a restore session may receive nothing before the
// server aborts it: its console was killed, or the network between them
// is gone.
var restoreIdle = 60 * time.Second

// restoreTakeOver is how long a session must have been idle, with nothing
// in flight, before a new restore of the same store may abort it and take
// its place.
const restoreTakeOver = 10 * time.Second

// marker is the restore-in-progress state of one store.
type marker struct {
	Phase   string               `json:"phase"`
	Env     exchange.RestoreEnv  `json:"env"` // of the full set that began the chain
	Erase   bool                 `json:"erase"`
	Private bool                 `json:"private"`
	Public  bool                 `json:"public"`
	HighGen uint32               `json:"highGen"` // last generation staged so far
	HighLSN uint64               `json:"highLSN"`
	Started time.Time            `json:"started"`
	Staging string               `json:"staging,omitempty"` // the staging folder; "" is stagingDir
	Sets    []exchange.StagedSet `json:"sets,omitempty"`
	Error   string               `json:"error,omitempty"` // why the last start could not recover the chain

	// Set for the swap phase.
	Databases []string `json:"databases,omitempty"` // staged files to rename over the live ones
	Logs      string   `json:"logs,omitempty"`      // "keep", "erase" or "aside"
	AsideDir  string   `json:"asideDir,omitempty"`
	NewGen    uint32   `json:"newGen,omitempty"` // first generation of the new log set
	NewLSN    uint64   `json:"newLSN,omitempty"` // its first LSN
	NewSig    string   `json:"newSig,omitempty"`
}

func (m *marker) staging(dir string) string {
	if m.Staging == "" {
		return filepath.Join(dir, stagingDir)
	}
	return filepath.Join(dir, m.Staging)
}

func (m *marker) wants(db string) bool {
	switch db {
	case privEDB:
		return m.Private
	case pubEDB:
		return m.Public
	}
	return true
}

func (m *marker) copy() *marker {
	c := *m
	c.Sets = append([]exchange.StagedSet(nil), m.Sets...)
	c.Databases = append([]string(nil), m.Databases...)
	return &c
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
	id      string
	st      *store
	req     exchange.RestoreRequest
	mk      *marker // the marker once this set is complete
	prev    *marker // the marker before it; nil when there was none
	staging string  // where its files go
	full    bool    // it begins a chain in a staging folder of its own

	mu       sync.Mutex
	received map[string]bool
	created  []string // files it added to a chain's staging folder
	busy     int      // writes and the completion in flight
	held     *heldLog
	lastUse  time.Time
	ended    bool
	timer    *time.Timer
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
	s.waitRestoreLocked()
	if s.isRunning() {
		return nil, nil, exchange.Errorf(exchange.CodeConflict, "%s is running: stop the service before restoring", s.what())
	}
	if old := s.restore; old != nil {
		if !old.idleFor(restoreTakeOver) {
			return nil, nil, exchange.Errorf(exchange.CodeConflict, "a restore of %s is already in progress from another console", s.what())
		}
		old.abortLocked("a new restore took its place")
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
		s.removeRetired()
		mk = nil
	}
	s.clearStaleStaging(mk)
	for _, name := range req.Skip {
		if g, ok := parseGen(name); !ok || !env.Type.Full() || g < env.LowGen || g > env.HighGen {
			return nil, nil, exchange.Errorf(exchange.CodeBadRequest, "%q cannot be left out of this set: only log generations of a full set can", name)
		}
	}
	rs := &restoreSession{id: newSessionID(), st: s, req: req, prev: mk, received: map[string]bool{}, lastUse: time.Now()}
	set := exchange.StagedSet{Type: env.Type, Server: env.Server, Created: env.Created, LowGen: env.LowGen, HighGen: env.HighGen}
	var warnings []string
	if env.Type.Full() {
		if mk != nil {
			warnings = append(warnings, fmt.Sprintf("The staged restore of %s that began %s (%s) will be discarded when this full set is staged: a full set starts the chain anew.", s.what(), mk.Started.Local().Format("1/2/2006 3:04 PM"), describeSets(mk.Sets)))
		}
		rs.full = true
		name := stagingPrefix + rs.id
		rs.staging = filepath.Join(s.dir, name)
		if err := os.MkdirAll(filepath.Join(rs.staging, "logs"), 0o700); err != nil {
			return nil, nil, exchange.Errorf(exchange.CodeInternal, "%s: creating the staging area: %w", s.what(), err)
		}
		rs.mk = &marker{Phase: phaseStaging, Env: env, Erase: req.Erase, Private: req.Private, Public: req.Public,
			Started: time.Now().UTC(), Staging: name, HighGen: env.LowGen - 1}
		if s.id == exchange.StoreDS {
			rs.mk.Private, rs.mk.Public = false, false
		}
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
		rs.mk = mk.copy()
		rs.mk.Error = ""
		rs.staging = mk.staging(s.dir)
		if err := os.MkdirAll(filepath.Join(rs.staging, "logs"), 0o700); err != nil {
			return nil, nil, exchange.Errorf(exchange.CodeInternal, "%s: %w", s.what(), err)
		}
	}
	rs.mk.Sets = append(rs.mk.Sets, set)
	rs.timer = time.AfterFunc(restoreIdle, rs.idleCheck)
	s.restore = rs
	return rs, warnings, nil
}

// waitRestoreLocked gives a restore session that is ending a moment to
// end: a console killed in the middle of a file, or whose tape failed, is
// noticed when its upload breaks off, which may be just after the same
// administrator (or that console, settling) calls again. The caller holds
// s.smu; it is released while waiting.
func (s *store) waitRestoreLocked() {
	for wait := 0; s.restore != nil && wait < 40; wait++ {
		s.smu.Unlock()
		time.Sleep(50 * time.Millisecond)
		s.smu.Lock()
	}
}

// clearStaleStaging removes what aborted sessions and crashes left:
// staging folders the marker does not name, and log generations above the
// last one a completed set staged. The caller holds s.smu.
func (s *store) clearStaleStaging(mk *marker) {
	keep := ""
	if mk != nil {
		keep = mk.staging(s.dir)
	}
	dirs, _ := filepath.Glob(filepath.Join(s.dir, stagingPrefix+"*"))
	dirs = append(dirs, filepath.Join(s.dir, stagingDir))
	for _, d := range dirs {
		if d != keep {
			os.RemoveAll(d)
		}
	}
	if mk == nil {
		return
	}
	ents, _ := os.ReadDir(filepath.Join(keep, "logs"))
	for _, e := range ents {
		g, ok := parseGen(e.Name())
		if (ok && g > mk.HighGen) || strings.HasSuffix(e.Name(), ".tmp") {
			os.Remove(filepath.Join(keep, "logs", e.Name()))
		}
	}
}

func describeSets(sets []exchange.StagedSet) string {
	if len(sets) == 0 {
		return "no set"
	}
	var parts []string
	for _, st := range sets {
		parts = append(parts, fmt.Sprintf("%s %s–%s", st.Type, genName(st.LowGen), genName(st.HighGen)))
	}
	return fmt.Sprintf("%d %s staged: %s", len(sets), plural(len(sets), "set", "sets"), strings.Join(parts, ", "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// expected lists the files the set must deliver, and whether each is kept.
// A log generation is kept when recovery may replay it; the others are
// received, checked and dropped.
func (r *restoreSession) expected() map[string]bool {
	exp := map[string]bool{restoreEnvFile: false}
	if r.req.Env.Type.Full() {
		for _, name := range r.st.dbNames {
			exp[name] = r.mk.wants(name)
		}
	}
	for g := r.req.Env.LowGen; g <= r.req.Env.HighGen; g++ {
		exp[genName(g)] = true
	}
	for _, name := range r.req.Skip {
		delete(exp, name)
	}
	return exp
}

// checkSkip checks, when a full set completes, the console's claim that
// the generations it left out are never replayed: each lies before the
// generation held as the one recovery starts from.
func (r *restoreSession) checkSkip() error {
	if len(r.req.Skip) == 0 {
		return nil
	}
	r.mu.Lock()
	held := r.held
	r.mu.Unlock()
	for _, name := range r.req.Skip {
		g, _ := parseGen(name)
		if held == nil || g >= held.gen {
			return fmt.Errorf("log generation %s was left out, but recovery needs it", name)
		}
	}
	return nil
}

// use notes activity; done ends it. A session with nothing in flight for
// restoreIdle is aborted.
func (r *restoreSession) use() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return exchange.Errorf(exchange.CodeConflict, "the restore session of %s was aborted: start the restore of this set again", r.st.what())
	}
	r.busy++
	r.lastUse = time.Now()
	return nil
}

func (r *restoreSession) done() {
	r.mu.Lock()
	r.busy--
	r.lastUse = time.Now()
	r.mu.Unlock()
}

func (r *restoreSession) idleFor(d time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.busy == 0 && time.Since(r.lastUse) >= d
}

func (r *restoreSession) idleCheck() {
	r.mu.Lock()
	ended, busy, left := r.ended, r.busy, restoreIdle-time.Since(r.lastUse)
	r.mu.Unlock()
	if ended {
		return
	}
	if busy > 0 || left > 0 {
		r.timer.Reset(max(left, time.Second))
		return
	}
	r.abort(fmt.Sprintf("no data from the console for %s", restoreIdle))
}

// write receives one file into the staging area: written to a temporary
// name, synced, then renamed, so a file that is there is whole. A file
// that fails on the way aborts the session.
func (r *restoreSession) write(name string, src io.Reader) error {
	if err := r.use(); err != nil {
		return err
	}
	defer r.done()
	exp := r.expected()
	keep, ok := exp[name]
	if !ok {
		return exchange.Errorf(exchange.CodeBadRequest, "%s: the set has no file %q to restore", r.st.what(), name)
	}
	if !keep {
		if _, err := io.Copy(io.Discard, src); err != nil {
			r.abort(fmt.Sprintf("receiving %s failed: %v", name, err))
			return exchange.Errorf(exchange.CodeBadRequest, "%s: receiving %s: %v; the set was not staged", r.st.what(), name, err)
		}
		r.mark(name, "")
		return nil
	}
	dst := filepath.Join(r.staging, name)
	if g, isLog := parseGen(name); isLog {
		dst = filepath.Join(r.staging, "logs", name)
		if r.full {
			return r.writeFullLog(name, g, dst, src)
		}
	}
	existed := false
	if !r.full {
		_, err := os.Stat(dst)
		existed = err == nil
	}
	if err := receiveFile(dst, src, false); err != nil {
		r.abort(fmt.Sprintf("receiving %s failed: %v", name, err))
		return exchange.Errorf(exchange.CodeInternal, "%s: receiving %s: %w; the set was not staged and the live files are untouched", r.st.what(), name, err)
	}
	created := ""
	if !r.full && !existed {
		created = dst
	}
	r.mark(name, created)
	return nil
}

func (r *restoreSession) mark(name, created string) {
	r.mu.Lock()
	r.received[name] = true
	if created != "" {
		r.created = append(r.created, created)
	}
	r.mu.Unlock()
}

// complete ends a set: the marker now records it. With Start Service
// After Restore the service starts, which recovers the chain staged so
// far; without it the store stays restore-pending.
func (r *restoreSession) complete() (exchange.RestoreResult, error) {
	s := r.st
	if err := r.use(); err != nil {
		return exchange.RestoreResult{}, err
	}
	for name := range r.expected() {
		r.mu.Lock()
		got := r.received[name]
		r.mu.Unlock()
		if !got {
			r.done()
			r.abort(fmt.Sprintf("%s was not received", name))
			return exchange.RestoreResult{}, exchange.Errorf(exchange.CodeRefused, "the set restored to %s is incomplete: %s was not received; the set was not staged and the live files are untouched", s.what(), name)
		}
	}
	mk := r.mk
	mk.HighGen, mk.HighLSN = max(mk.HighGen, r.req.Env.HighGen), max(mk.HighLSN, r.req.Env.HighLSN)
	if err := r.checkSkip(); err != nil {
		r.done()
		r.abort(err.Error())
		return exchange.RestoreResult{}, exchange.Errorf(exchange.CodeRefused, "the set restored to %s is incomplete: %v; the set was not staged and the live files are untouched", s.what(), err)
	}
	if err := r.settle(); err != nil {
		r.done()
		r.abort(fmt.Sprintf("staging failed: %v", err))
		return exchange.RestoreResult{}, exchange.Errorf(exchange.CodeInternal, "%s: %w; the set was not staged and the live files are untouched", s.what(), err)
	}
	s.smu.Lock()
	if s.restore != r {
		s.smu.Unlock()
		r.done()
		return exchange.RestoreResult{}, exchange.Errorf(exchange.CodeConflict, "the restore session of %s was aborted: start the restore of this set again", s.what())
	}
	err := writeMarker(s.dir, mk)
	if err != nil {
		r.done()
		r.abortLocked(fmt.Sprintf("writing the restore marker failed: %v", err))
		s.smu.Unlock()
		return exchange.RestoreResult{}, exchange.Errorf(exchange.CodeInternal, "%s: writing the restore marker: %w; the set was not staged", s.what(), err)
	}
	r.endLocked()
	s.smu.Unlock()
	r.done()
	if r.prev != nil && r.prev.staging(s.dir) != r.staging {
		s.retire(r.prev.staging(s.dir))
	}
	var res exchange.RestoreResult
	if r.prev != nil && r.full {
		res.Messages = append(res.Messages, fmt.Sprintf("The restore staged before on %s (%s) was discarded: this full set starts the chain anew.", s.server, describeSets(r.prev.Sets)))
	}
	res.Staged = len(mk.Sets)
	if !r.req.Start {
		res.Messages = append(res.Messages, fmt.Sprintf("Set staged on %s (%s). The %s stays stopped, restore-pending: the chain's recovery runs when the service starts (Start Service After Restore on a later set, the console's Start Service, or the server's next start).", s.server, describeSets(mk.Sets), s.id.ServiceName()))
		return res, nil
	}
	rec, err := s.startReport()
	rec.Messages = append(res.Messages, rec.Messages...)
	rec.Warnings = append(res.Warnings, rec.Warnings...)
	rec.Staged = 0
	if err != nil {
		return rec, err
	}
	rec.Started = true
	return rec, nil
}

// endLocked ends the session. The caller holds s.smu.
func (r *restoreSession) endLocked() {
	r.mu.Lock()
	r.ended = true
	r.mu.Unlock()
	r.timer.Stop()
	if r.st.restore == r {
		r.st.restore = nil
	}
}

// abort ends the session without staging its set: its files are cleared
// and the marker stays as it was before it.
func (r *restoreSession) abort(why string) {
	r.st.smu.Lock()
	defer r.st.smu.Unlock()
	r.abortLocked(why)
}

func (r *restoreSession) abortLocked(why string) {
	s := r.st
	if s.restore != r {
		return
	}
	r.endLocked()
	if r.full {
		os.RemoveAll(r.staging)
	} else {
		r.mu.Lock()
		for _, p := range r.created {
			os.Remove(p)
		}
		r.mu.Unlock()
	}
	state := "nothing is staged"
	if r.prev != nil {
		state = "the restore staged before stays staged (" + describeSets(r.prev.Sets) + ")"
	}
	s.events.Warn("restore session aborted", "store", s.what(), "session", r.id, "why", why, "state", state)
}
