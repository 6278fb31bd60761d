package engine

import (
	"context"
	"fmt"
	"os"
	"strings"

	"exbackup/tape"
)

// Browsing and extracting single files of a set, for any MTF tape: a tape
// of the library by name, or any .bkf file by path (NT Backup's or Backup
// Exec's as well as ours).

// ExtractRequest is what `exbackup extract` or the GUI's Extract dialog
// asks for.
type ExtractRequest struct {
	Tape  string   // tape name, or the path of a .bkf file
	Set   int      // data set number
	Dir   string   // destination folder; the volume is its first folder (DIR/C/…)
	Items []string // tree paths ("C:/Documents"); none = the whole set
	// Existing says what becomes of a file already there: skip (the
	// default), overwrite, or keep both.
	Existing tape.Existing
	// AlternateStreams extracts NTFS alternate data streams beside their
	// files, as "name%3Astream".
	AlternateStreams bool
	// Members are the other .bkf files of the tape's media family, in any
	// order, for a set that goes on past the end of its medium. Members
	// the catalog knows of, at their place, need not be given; a member
	// still missing stops the extraction before anything is written (an
	// asker in the context is asked first, see WithMemberAsker).
	Members []string
}

// openAnyTape opens a tape by library name or by the path of a .bkf file.
func (e *Engine) openAnyTape(nameOrPath string) (*tape.Tape, error) {
	if strings.HasSuffix(strings.ToLower(nameOrPath), tape.Ext) {
		if _, err := os.Stat(nameOrPath); err == nil {
			return tape.Open(nameOrPath)
		}
	}
	t, _, err := e.openTape(nameOrPath)
	if err != nil {
		return nil, err
	}
	ft, ok := t.(fileTape)
	if !ok {
		return nil, fmt.Errorf("tape %q is not a file tape: its files cannot be browsed", nameOrPath)
	}
	return ft.Tape, nil
}

// checkSetAccess refuses a restricted set to anyone but its owner or an
// administrator, as restoring it would be.
func (e *Engine) checkSetAccess(t *tape.Tape, set int) error {
	s, err := t.Set(set)
	if err != nil {
		return err
	}
	return e.mayRead(t.Info().Name, s.Restricted, s.Owner)
}

// BrowseSet returns a set's folder tree: Browse(path) lists a folder's
// children (one line each with Child.String), Lookup finds one node, and a
// tree widget walks Node.Children. The media based catalog is used when the
// tape has one; members are the other files of the media family, read
// when the set goes on past the end of its medium (see BrowseSetContext).
func (e *Engine) BrowseSet(nameOrPath string, set int, members ...string) (*tape.Tree, error) {
	return e.BrowseSetContext(context.Background(), nameOrPath, set, members...)
}

// BrowseSetContext is BrowseSet whose set, when it goes on past the end of
// its medium, finds the next members among those given, the cataloged
// tapes of its family, or from the asker ctx carries (WithMemberAsker).
// A member still missing is a *tape.MemberError among the tree's
// Problems; a member the asker was refused (tape.ErrMemberNotGiven) is
// the error.
func (e *Engine) BrowseSetContext(ctx context.Context, nameOrPath string, set int, members ...string) (*tape.Tree, error) {
	t, err := e.openAnyTape(nameOrPath)
	if err != nil {
		return nil, err
	}
	if err := e.checkSetAccess(t, set); err != nil {
		return nil, err
	}
	if len(members) == 0 {
		// The media based catalog lists a finished set at its cost; a set
		// it does not show finished may go on on another member.
		if tr, err := t.QuickTree(set); err != nil || tr.Complete {
			return tr, err
		}
	}
	return t.FamilyTree(set, e.memberFinder(ctx, t.Info().Name, set, members))
}

// ExtractFiles extracts files of a set into a folder (see tape.ExtractTree):
// progress reports each file; the result lists what was skipped, renamed,
// failed and lost. The error is set when anything asked for was not
// extracted, the result then marked incomplete.
func (e *Engine) ExtractFiles(ctx context.Context, req ExtractRequest, p *Progress) (res tape.ExtractResult, err error) {
	defer func() { p.finish(err) }()
	if req.Dir == "" {
		return res, fmt.Errorf("no destination folder given")
	}
	t, err := e.openAnyTape(req.Tape)
	if err != nil {
		return res, err
	}
	if err := e.checkSetAccess(t, req.Set); err != nil {
		return res, err
	}
	info := t.Info()
	p.update(func(s *Snapshot) { s.Tape, s.Set = info.Name, fmt.Sprintf("Set %d", req.Set) })
	p.logf(fmt.Sprintf("Extracting set %d of tape %q to %s", req.Set, info.Name, req.Dir))
	tr, err := t.FamilyTree(req.Set, e.memberFinder(ctx, info.Name, req.Set, req.Members))
	if err != nil {
		return res, err
	}
	if me := missingMember(tr); me != nil {
		// Nothing is written: what this member holds of the set would be
		// a part presented as the whole.
		return res, me
	}
	_, total, err := tr.Select(req.Items)
	if err != nil {
		return res, err
	}
	p.update(func(s *Snapshot) { s.TotalBytes = total })
	files := 0
	res, err = t.ExtractTree(ctx, tr, req.Dir, req.Items, tape.ExtractOptions{
		Existing:         req.Existing,
		AlternateStreams: req.AlternateStreams,
		Progress: func(path string, bytes int64) {
			files++
			p.update(func(s *Snapshot) { s.Current, s.Files, s.Bytes = path, files, bytes })
		},
	})
	p.update(func(s *Snapshot) {
		s.Files, s.Bytes, s.Dirs, s.Skipped, s.Corrupt = res.Files, res.Bytes, res.Dirs, len(res.Skipped), len(res.Failed)
	})
	for _, r := range res.Renamed {
		p.logf(fmt.Sprintf("%s extracted as %s (%s)", r.Path, r.Disk, r.Reason))
	}
	for _, f := range res.Failed {
		p.logf("Not extracted: " + f.Error())
	}
	for _, l := range res.Lost {
		p.logf("Lost on tape: " + l.Error())
	}
	p.logf(fmt.Sprintf("Extracted %d files, %d bytes.", res.Files, res.Bytes))
	return res, err
}

// TapeSetStore says what a set on tape holds: "" for files (another program's backup
// of folders, browsed and extracted as such), or the Exchange store a set
// of ours backed up ("IS", "DS"), whose contents are mailboxes and folders
// inside its databases rather than the database files themselves.
func (e *Engine) TapeSetStore(nameOrPath string, set int) (string, error) {
	t, err := e.openAnyTape(nameOrPath)
	if err != nil {
		return "", err
	}
	s, err := t.Set(set)
	if err != nil {
		return "", err
	}
	if env, ok := setEnv(s); ok {
		return string(env.Store), nil
	}
	return "", nil
}
