package server

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"exbackup/exchange"

	"exbackup/exchange/xlog"
	"exbackup/internal/durable"
)

// Receiving a set's files into the staging area, cancelling a staged
// restore, and what Status says of one.

// heldLogCap bounds the log generation a full set's session holds in
// memory; a larger one is held on disk.
const heldLogCap = 32 << 20

// heldLog is the newest log generation of a full set seen so far that
// starts at or before the set's base LSN: recovery replays from the one
// holding the LSN after the base, so every older one is dropped unwritten.
type heldLog struct {
	gen  uint32
	name string
	data []byte // nil when it is on disk at path
	path string
}

// writeFullLog receives a log generation of a full set. Generations that
// start after the base LSN are staged; of those that start at or before
// it, only the newest can hold what recovery replays: it is held until
// the set completes (in memory when it is small), the others are checked
// and dropped. A Copy set carries every log on the server, and most of it
// is thus never written.
func (r *restoreSession) writeFullLog(name string, gen uint32, dst string, src io.Reader) error {
	fail := func(err error) error {
		r.abort(fmt.Sprintf("receiving %s failed: %v", name, err))
		return exchange.Errorf(exchange.CodeInternal, "%s: receiving %s: %w; the set was not staged and the live files are untouched", r.st.what(), name, err)
	}
	hdr := make([]byte, xlog.HeaderSize)
	if _, err := io.ReadFull(src, hdr); err != nil {
		return fail(err)
	}
	h, err := xlog.ParseHeader(name, hdr)
	if err != nil {
		return fail(err)
	}
	if h.Gen != gen {
		return fail(fmt.Errorf("the file holds log generation %s", genName(h.Gen)))
	}
	if h.FirstLSN > r.req.Env.BaseLSN+1 {
		if err := receiveFileAfter(dst, hdr, src, false); err != nil {
			return fail(err)
		}
		r.mark(name, "")
		return nil
	}
	r.mu.Lock()
	older := r.held != nil && gen < r.held.gen
	r.mu.Unlock()
	if older {
		if _, err := io.Copy(io.Discard, src); err != nil {
			return fail(err)
		}
		r.mark(name, "")
		return nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, xlog.DefaultMaxFileSize+64<<10))
	buf.Write(hdr)
	n, err := io.CopyN(buf, src, heldLogCap)
	if err != nil && err != io.EOF {
		return fail(err)
	}
	held := &heldLog{gen: gen, name: name, data: buf.Bytes()}
	if n == heldLogCap {
		if err := receiveFileAfter(dst, buf.Bytes(), src, false); err != nil {
			return fail(err)
		}
		held.data, held.path = nil, dst
	}
	r.mu.Lock()
	old := r.held
	if old != nil && old.gen > gen {
		old, held = held, old // another upload overtook this one
	}
	r.held = held
	r.mu.Unlock()
	if old != nil && old.path != "" {
		os.Remove(old.path)
	}
	r.mark(name, "")
	return nil
}

// settle writes the held log generation and makes the staged files'
// names durable, before the marker records the set.
func (r *restoreSession) settle() error {
	logs := filepath.Join(r.staging, "logs")
	r.mu.Lock()
	held := r.held
	r.mu.Unlock()
	if held != nil && held.data != nil {
		if err := receiveFile(filepath.Join(logs, held.name), bytes.NewReader(held.data), false); err != nil {
			return fmt.Errorf("staging %s: %w", held.name, err)
		}
	}
	if err := syncDir(logs); err != nil {
		return err
	}
	if err := syncDir(r.staging); err != nil {
		return err
	}
	return syncDir(r.st.dir)
}

// receiveFile writes src to dst through a temporary name, synced, so that
// a file that is there is whole. With syncParent its name is made durable
// too; otherwise the caller syncs the folder once for many files.
func receiveFile(dst string, src io.Reader, syncParent bool) error {
	return receiveFileAfter(dst, nil, src, syncParent)
}

// receiveFileAfter is receiveFile of head and then src. The stream reads
// src itself, so that a framed upload is checked while its next frames
// arrive and no byte of it reaches the file unchecked.
func receiveFileAfter(dst string, head []byte, src io.Reader, syncParent bool) error {
	tmp := dst + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	// Past the page cache where the system allows: a restored database is
	// written once, then read by recovery and the service at their pace.
	// ReadFrom, not io.Copy: a framed upload's WriteTo would hand the
	// stream its own buffer, one copy more per byte.
	st := durable.NewStream(f)
	_, err = st.Write(head)
	if err == nil {
		_, err = st.ReadFrom(src)
	}
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
	if !syncParent {
		return nil
	}
	return syncDir(filepath.Dir(dst))
}

// cancelRestore aborts a set being received and drops the staged chain.
func (s *store) cancelRestore() (exchange.RestoreResult, error) {
	var res exchange.RestoreResult
	if s.isRunning() {
		return res, exchange.Errorf(exchange.CodeRefused, "%s is running: no restore is staged on it", s.what())
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	if r := s.restore; r != nil {
		r.abortLocked("cancelled")
		res.Messages = append(res.Messages, fmt.Sprintf("The set being received for %s was aborted.", s.what()))
	}
	mk, err := readMarker(s.dir)
	if err != nil {
		return res, exchange.Errorf(exchange.CodeInternal, "%s: %w", s.what(), err)
	}
	switch {
	case mk == nil:
		if len(res.Messages) == 0 {
			res.Messages = append(res.Messages, fmt.Sprintf("No restore is staged on %s: there was nothing to cancel.", s.what()))
		}
	case mk.Phase == phaseSwap:
		return res, exchange.Errorf(exchange.CodeRefused, "the restore of %s has already recovered and is being swapped in: it can no longer be cancelled; start the service to finish it", s.what())
	default:
		if err := os.Remove(filepath.Join(s.dir, restoreMarker)); err != nil {
			return res, exchange.Errorf(exchange.CodeInternal, "%s: removing the restore marker: %w", s.what(), err)
		}
		if err := syncDir(s.dir); err != nil {
			return res, exchange.Errorf(exchange.CodeInternal, "%s: %w", s.what(), err)
		}
		s.retire(mk.staging(s.dir))
		res.Messages = append(res.Messages, fmt.Sprintf("The staged restore of %s (%s) was cancelled: the service starts on the data it had before the restore.", s.what(), describeSets(mk.Sets)))
	}
	return res, nil
}

// retire moves a folder out of the store and deletes it in the background.
func (s *store) retire(dir string) {
	if _, err := os.Stat(dir); err != nil {
		return
	}
	trash, err := mkdirRetired(s.dir, retiredPrefix)
	if err != nil {
		os.RemoveAll(dir)
		return
	}
	if err := os.Rename(dir, filepath.Join(trash, filepath.Base(dir))); err != nil {
		os.RemoveAll(dir)
	}
	s.removeRetired(trash)
}

// staged reports the store's staged restore for Status.
func (s *store) staged() (exchange.StagedRestore, bool) {
	receiving := s.receiving()
	mk, err := readMarker(s.dir)
	if err != nil || mk == nil {
		if receiving {
			return exchange.StagedRestore{Store: s.id, Receiving: true}, true
		}
		return exchange.StagedRestore{}, false
	}
	return exchange.StagedRestore{Store: s.id, Sets: mk.Sets, Erase: mk.Erase, Private: mk.Private, Public: mk.Public,
		Began: mk.Started, Receiving: receiving, Error: mk.Error}, true
}
