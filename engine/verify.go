package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"exbackup/catalog"
	"exbackup/tape"
)

// Verify re-reads a set, or every set of a tape, and checks every hash.
func (e *Engine) Verify(ctx context.Context, req VerifyRequest, p *Progress) (res VerifyResult, err error) {
	defer func() { p.finish(err) }()
	t, ct, err := e.openTape(req.Tape)
	if err != nil {
		return res, err
	}
	sets, err := t.Sets()
	if err != nil {
		return res, tapeErr(req.Tape, err)
	}
	log, err := e.openLog(req.Log, p)
	if err != nil {
		return res, err
	}
	defer log.close()
	log.summary("Verify Status")
	log.summary("Tape Name: %q", req.Tape)
	p.update(func(s *Snapshot) { s.Tape = req.Tape })
	var todo []tape.Set
	for _, s := range sets {
		if req.Set == 0 || s.Number == req.Set {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return res, fmt.Errorf("tape %q has no set %d", req.Tape, req.Set)
	}
	var total int64
	for _, s := range todo {
		total += s.Bytes
	}
	p.update(func(s *Snapshot) { s.TotalBytes = total })
	for _, s := range todo {
		if err := e.mayRead(req.Tape, s.Restricted || ct.Restricted, firstNonEmpty(s.Owner, ct.Owner)); err != nil {
			return res, err
		}
		if s.State == tape.SetAborted {
			msg := fmt.Sprintf("set %d: aborted (never finished); nothing to verify", s.Number)
			log.exception("%s", msg)
			e.recordAborted(t, ct, s)
			res.Corrupt = append(res.Corrupt, msg)
			continue
		}
		rep, err := e.verifySet(ctx, t, ct, s.Number, req.Keys, log, p)
		res.Sets++
		res.Files += rep.files
		res.Bytes += rep.bytes
		if err != nil {
			if ctx.Err() != nil {
				return res, err
			}
			res.Corrupt = append(res.Corrupt, rep.corrupt...)
		}
		if rep.sealed != "" {
			res.Sealed = append(res.Sealed, rep.sealed)
		}
	}
	if len(res.Corrupt) > 0 {
		return res, fmt.Errorf("verify found damage: %s", strings.Join(res.Corrupt, "; "))
	}
	if len(res.Sealed) > 0 {
		return res, fmt.Errorf("verify could not check everything: %s", strings.Join(res.Sealed, "; "))
	}
	return res, nil
}

type verifyReport struct {
	files   int
	bytes   int64
	corrupt []string
	// sealed says, for an encrypted set read without its key, what was
	// not checked; such a set is neither marked verified nor damaged.
	sealed string
}

func (e *Engine) verifySet(ctx context.Context, t Tape, ct catalog.Tape, number int, kp tape.KeyProvider, log *jobLog, p *Progress) (verifyReport, error) {
	var rep verifyReport
	start := time.Now()
	log.summary("Verify of set #%d started on %s at %s.", number, ntDate(start), ntTime(start))
	var last int64
	var cur string
	vr, err := t.Verify(ctx, number, tape.VerifyOptions{Progress: func(en tape.Entry, done int64) {
		if en.Path != cur {
			cur, last = en.Path, 0
			p.update(func(s *Snapshot) { s.Current = en.Path; s.Files++ })
		}
		p.update(func(s *Snapshot) { s.Bytes += done - last })
		last = done
	}, Keys: kp})
	rep.files, rep.bytes = vr.Files, vr.Bytes
	if err != nil && vr.Sealed && len(vr.Failed) == 0 && IsKeyError(err) {
		rep.sealed = err.Error()
		log.exception("Verify of set #%d on tape %q: %v. The set is not marked verified.", number, t.Info().Name, err)
		return rep, nil
	}
	if err != nil {
		failed := vr.Failed
		if len(failed) == 0 {
			failed = []error{err}
		}
		for _, f := range failed {
			rep.corrupt = append(rep.corrupt, fmt.Sprintf("set %d: %v", number, f))
		}
		p.update(func(s *Snapshot) { s.Corrupt += len(failed) })
		log.exception("Verify of set #%d on tape %q failed: %v", number, t.Info().Name, err)
		if merr := e.recordVerify(t, ct, number, vr, err); merr != nil {
			log.exception("Warning: the catalog could not record that set #%d is damaged (%v).", number, merr)
		}
		return rep, err
	}
	end := time.Now()
	log.summary("Verify completed on %s at %s: %d files, %s bytes, no differences.", ntDate(end), ntTime(end), rep.files, Thousands(rep.bytes))
	if err := e.recordVerify(t, ct, number, vr, nil); err != nil {
		log.exception("Warning: the catalog could not record the verify of set #%d (%v).", number, err)
	}
	return rep, nil
}
