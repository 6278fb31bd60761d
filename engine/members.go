package engine

import (
	"context"
	"errors"
	"fmt"
	"os"

	"exbackup/tape"
)

// Sets that go on past the end of their medium: the next member of the
// media family is found among the files the administrator gave
// (--member), then among the tapes the catalog knows of that family whose
// files are still where they were, and last asked for (the console's
// "Insert the next tape" dialog) when the job's context carries an asker.

// MemberNeed is the member of a media family a job needs next.
type MemberNeed struct {
	Tape     string // the tape the set starts on
	Set      int    // its number
	Family   uint32 // media family id
	Sequence int    // the member needed: 2 for the second
	// Problem says why the file given last was not that member; "" when
	// asking the first time.
	Problem string
}

// AskMember asks the administrator for the .bkf file of a member. It
// returns tape.ErrMemberNotGiven (or the context's error) when none is
// given: the job then stops before it writes anything.
type AskMember func(ctx context.Context, need MemberNeed) (path string, err error)

type askerKey struct{}

// WithMemberAsker gives a job's context the asker its jobs call when a set
// needs a member of its media family that no given file and no cataloged
// tape is.
func WithMemberAsker(ctx context.Context, ask AskMember) context.Context {
	return context.WithValue(ctx, askerKey{}, ask)
}

func askerOf(ctx context.Context) AskMember {
	if ctx == nil {
		return nil
	}
	ask, _ := ctx.Value(askerKey{}).(AskMember)
	return ask
}

// memberFinder answers a set's request for the next member of its family:
// from the files given, the catalog, then the asker in ctx.
func (e *Engine) memberFinder(ctx context.Context, tapeName string, set int, given []string) tape.NextMember {
	return func(family uint32, seq int) (string, error) {
		for _, p := range given {
			if tape.CheckMember(p, family, seq) == nil {
				return p, nil
			}
		}
		if p := e.catalogedMember(family, seq); p != "" {
			return p, nil
		}
		ask := askerOf(ctx)
		if ask == nil {
			if len(given) > 0 {
				return "", fmt.Errorf("none of the %s given is member %d of media family %08X", Plural(len(given), "file", "files"), seq, family)
			}
			return "", nil
		}
		need := MemberNeed{Tape: tapeName, Set: set, Family: family, Sequence: seq}
		for {
			p, err := ask(ctx, need)
			if err != nil {
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					err = fmt.Errorf("%w: %w", tape.ErrMemberNotGiven, err)
				}
				return "", err
			}
			if err := tape.CheckMember(p, family, seq); err != nil {
				need.Problem = err.Error()
				continue
			}
			return p, nil
		}
	}
}

// catalogedMember is the file of a cataloged tape that is member seq of
// the family and still at its place, or "".
func (e *Engine) catalogedMember(family uint32, seq int) string {
	if family == 0 {
		return ""
	}
	tapes, err := e.cat.Tapes()
	if err != nil {
		return ""
	}
	for _, t := range tapes {
		if t.FamilyID != family || int(t.Sequence) != seq || t.Location == "" {
			continue
		}
		if _, err := os.Stat(t.Location); err == nil && tape.CheckMember(t.Location, family, seq) == nil {
			return t.Location
		}
	}
	return ""
}

// missingMember returns the *tape.MemberError among a tree's problems: the
// set goes on on a member that was not found.
func missingMember(tr *tape.Tree) *tape.MemberError {
	for _, p := range tr.Problems {
		var me *tape.MemberError
		if errors.As(p, &me) {
			return me
		}
	}
	return nil
}
