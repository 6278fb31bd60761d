package tape

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Progress, when set, is called after each chunk read with the bytes
	// verified so far, and once per file with the file done.
	Progress func(e Entry, bytesDone int64)
	// Keys unlock an encrypted set. Without them (or with a provider that
	// has no key) Verify checks what it can: the blocks and the CSUM of
	// the encrypted data, not the contents; it then returns a *KeyError.
	Keys KeyProvider
}

// VerifyReport sums up a verify pass.
type VerifyReport struct {
	Set    int
	Files  int     // files read
	Bytes  int64   // bytes read
	Failed []error // one per file (or metadata problem) that failed
	// Sealed is set when the set is encrypted and its contents could not
	// be checked for want of its key: only blocks and CSUMs were.
	Sealed bool
}

// Verify reads a set back whole and checks everything recorded: the MTF
// header and stream checksums, each file's CSUM, CRC-32C and digest, and
// the set's metadata digest. It returns an error naming the tape, the set
// and the first file that failed; the report lists them all.
func (t *Tape) Verify(ctx context.Context, number int, o VerifyOptions) (VerifyReport, error) {
	rep := VerifyReport{Set: number}
	s, err := t.Set(number)
	if err != nil {
		return rep, err
	}
	if s.State != SetComplete {
		rep.Failed = append(rep.Failed, s.Err)
		return rep, fmt.Errorf("tape %q, set %d is %s: %w", s.Tape, number, s.State, s.Err)
	}
	var keyErr error
	if s.Encrypted {
		if keyErr = t.checkKey(s, o.Keys); keyErr != nil {
			rep.Sealed = true
			if ke := (*KeyError)(nil); !errors.As(keyErr, &ke) {
				rep.Failed = append(rep.Failed, keyErr)
			}
		}
	}
	ro := ReadOptions{Keys: o.Keys, sealed: rep.Sealed}
	buf := make([]byte, 1<<20)
	for _, e := range s.Entries {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if s.Exbackup && e.Hash.IsZero() {
			rep.Failed = append(rep.Failed, fmt.Errorf("tape %q, set %d, file %q: no hash recorded", s.Tape, number, e.Path))
			continue
		}
		n, err := t.verifyEntry(ctx, e, buf, ro, o.Progress)
		rep.Bytes += n
		rep.Files++
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return rep, err
			}
			rep.Failed = append(rep.Failed, err)
		}
	}
	// The media based catalog, when the tape has one, must say what the
	// blocks say.
	rep.Failed = append(rep.Failed, t.catalogProblems(number)...)
	if len(rep.Failed) > 0 {
		return rep, fmt.Errorf("%d of %d files failed verification; first: %w", len(rep.Failed), len(s.Entries), rep.Failed[0])
	}
	if rep.Sealed {
		return rep, fmt.Errorf("%w; only its blocks and the checksums of the encrypted data of its %d files were checked, not their contents", keyErr, rep.Files)
	}
	return rep, nil
}

func (t *Tape) verifyEntry(ctx context.Context, e Entry, buf []byte, o ReadOptions, progress func(Entry, int64)) (int64, error) {
	if n, done, err := t.verifyForeign(ctx, e, progress); done {
		return n, err
	}
	r, err := t.OpenEntry(e, o)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var done int64
	for {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		n, err := r.Read(buf)
		done += int64(n)
		if progress != nil && n > 0 {
			progress(e, done)
		}
		if err == io.EOF {
			return done, nil
		}
		if err != nil {
			return done, err
		}
	}
}

// verifyForeign reads a file that other writers' streams hold — LZS
// frames, sparse extents — as extraction would, checking every CSUM; done
// is false for plain data, which OpenEntry reads.
func (t *Tape) verifyForeign(ctx context.Context, e Entry, progress func(Entry, int64)) (n int64, done bool, err error) {
	f, r, err := t.open()
	if err != nil {
		return 0, true, err
	}
	defer f.Close()
	b, err := r.ReadBlockAt(e.Offset)
	if err != nil {
		return 0, true, locate(err, e)
	}
	c := b.Content()
	if !c.Compressed && (!c.Encrypted || c.Sealed) && len(c.Sparse) == 0 {
		return 0, false, nil
	}
	x := &extractor{r: r, ra: f}
	n, err = x.content(ctx, discard{}, r, f, b, c, e.Path)
	if progress != nil {
		progress(e, n)
	}
	if err != nil {
		err = fmt.Errorf("tape %q, set %d, file %q: %w", t.displayName(), e.Set, e.Path, err)
	}
	return n, true, err
}
