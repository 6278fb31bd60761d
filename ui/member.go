package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"exbackup/engine"
	"exbackup/tape"
)

// Insert the next tape: a set that goes on past the end of its medium
// needs the next member of its media family, and when neither the files
// given nor the catalog know where it is, the console asks for its .bkf
// file, as NT Backup asked for the next tape. Cancel stops the job before
// it writes anything.

// familyBrowser is what the real engine offers to read a set across the
// members of its media family, asking for those it does not find.
type familyBrowser interface {
	BrowseSetContext(ctx context.Context, nameOrPath string, set int, members ...string) (*tape.Tree, error)
}

// withAsker gives a job's context the console's Insert-the-next-tape
// dialog.
func (c *Console) withAsker(ctx context.Context) context.Context {
	return engine.WithMemberAsker(ctx, c.askMember)
}

// browseSet reads a set's tree for the file pane, asking for the next
// members of its family when it goes on past its medium. Never call it on
// the UI goroutine.
func (c *Console) browseSet(fe fileEngine, where string, set int) (*tape.Tree, error) {
	if fb, ok := c.eng.(familyBrowser); ok {
		return fb.BrowseSetContext(c.withAsker(c.ctx), where, set)
	}
	return fe.BrowseSet(where, set)
}

// memberDialog is Insert Next Tape.
type memberDialog struct {
	c        *Console
	m        *modal
	keys     *dlgKeys
	need     engine.MemberNeed
	path     *dlgEntry
	errLine  errorLine
	ok       *dlgButton
	answer   func(path string, err error)
	answered bool
}

// memberPrompt is the dialog's question.
func memberPrompt(need engine.MemberNeed) string {
	return fmt.Sprintf("Insert the next tape: member %d of media family %08X (set %d of tape %q). Choose its .bkf file…",
		need.Sequence, need.Family, need.Set, need.Tape)
}

// askMember is the console's engine.AskMember: it shows Insert Next Tape
// on the UI goroutine and waits for the administrator (or for the job's
// end). It is called off the UI goroutine.
func (c *Console) askMember(ctx context.Context, need engine.MemberNeed) (string, error) {
	type reply struct {
		path string
		err  error
	}
	ch := make(chan reply, 1)
	var d *memberDialog
	c.do(func() {
		d = c.newMemberDialog(need, func(p string, err error) { ch <- reply{p, err} })
		d.m.show()
	})
	select {
	case r := <-ch:
		return r.path, r.err
	case <-ctx.Done():
		c.do(func() {
			if d != nil {
				d.reply("", ctx.Err())
			}
		})
		return "", ctx.Err()
	}
}

func (c *Console) newMemberDialog(need engine.MemberNeed, answer func(string, error)) *memberDialog {
	d := &memberDialog{c: c, keys: &dlgKeys{}, need: need, answer: answer}
	d.path = newDlgEntry(d.keys)
	d.path.SetPlaceHolder(fmt.Sprintf("the .bkf file of member %d", need.Sequence))
	browse := newDlgButton("Choose File…", d.keys, d.choose)
	d.errLine = newErrorLine()
	if need.Problem != "" {
		d.errLine.set(upperFirst(need.Problem) + ".")
	}
	d.ok = newDlgButton("OK", d.keys, d.submit)
	d.ok.Importance = widget.HighImportance
	cancel := newDlgButton("Cancel", d.keys, d.cancel)
	d.keys.ok, d.keys.cancel = d.submit, d.cancel
	prompt := widget.NewLabel(memberPrompt(need))
	prompt.Wrapping = fyne.TextWrapWord
	content := container.NewVBox(
		container.New(&wrapLayout{width: restoreWidth}, prompt),
		form(fieldLabel("Tape file:"), container.NewBorder(nil, nil, nil, browse, d.path)),
		container.New(&wrapLayout{width: restoreWidth}, note("Cancel reads nothing past this tape: a restore then stops before it writes anything.")),
		container.New(&wrapLayout{width: restoreWidth}, d.errLine.Label),
	)
	d.m = c.newModal("Insert Next Tape", content, d.keys, cancel, d.ok)
	d.m.focus = d.path
	d.m.onHide = func() { d.reply("", tape.ErrMemberNotGiven) }
	return d
}

// choose opens the file chooser on .bkf files.
func (d *memberDialog) choose() {
	fd := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		p := r.URI().Path()
		r.Close()
		d.path.SetText(p)
		d.submit()
	}, d.c.win)
	fd.SetFilter(storage.NewExtensionFileFilter([]string{tape.Ext}))
	fd.SetConfirmText("Use This Tape")
	fd.Show()
}

func (d *memberDialog) submit() {
	p := strings.TrimSpace(d.path.Text)
	if p == "" || !filepath.IsAbs(p) {
		d.errLine.set(fmt.Sprintf("Choose the .bkf file of member %d, or give its full path.", d.need.Sequence))
		return
	}
	d.reply(p, nil)
}

func (d *memberDialog) cancel() { d.reply("", tape.ErrMemberNotGiven) }

// reply answers the engine once and closes the dialog.
func (d *memberDialog) reply(path string, err error) {
	if d.answered {
		return
	}
	d.answered = true
	d.answer(path, err)
	d.m.hide()
}
