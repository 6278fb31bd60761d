package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// Fyne dialogs do not take Enter or Escape, and a focused widget swallows
// every key. The dialog widgets below pass Enter to the dialog's default
// button and Escape to its cancel button; the canvas passes them when
// nothing is focused (Console.typedKey).

// dlgKeys is a dialog's keyboard: what Enter and Escape do.
type dlgKeys struct {
	ok     func() // Enter; nil = nothing
	cancel func() // Escape; nil = nothing
}

// key handles Enter and Escape; it reports whether it did.
func (k *dlgKeys) key(ev *fyne.KeyEvent) bool {
	if k == nil {
		return false
	}
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if k.ok != nil {
			k.ok()
			return true
		}
	case fyne.KeyEscape:
		if k.cancel != nil {
			k.cancel()
			return true
		}
	}
	return false
}

// dlgEntry is a one-line entry in a dialog.
type dlgEntry struct {
	widget.Entry
	keys *dlgKeys
}

func newDlgEntry(keys *dlgKeys) *dlgEntry {
	e := &dlgEntry{keys: keys}
	e.ExtendBaseWidget(e)
	e.Wrapping = fyne.TextWrapOff
	return e
}

func newDlgPassword(keys *dlgKeys) *dlgEntry {
	e := newDlgEntry(keys)
	e.Password = true
	return e
}

func (e *dlgEntry) TypedKey(ev *fyne.KeyEvent) {
	if e.keys.key(ev) {
		return
	}
	e.Entry.TypedKey(ev)
}

// dlgCheck is a check box in a dialog.
type dlgCheck struct {
	widget.Check
	keys *dlgKeys
}

func newDlgCheck(label string, keys *dlgKeys, changed func(bool)) *dlgCheck {
	c := &dlgCheck{keys: keys}
	c.Text = label
	c.OnChanged = changed
	c.ExtendBaseWidget(c)
	return c
}

func (c *dlgCheck) TypedKey(ev *fyne.KeyEvent) {
	if c.keys.key(ev) {
		return
	}
	c.Check.TypedKey(ev)
}

// dlgSelect is a drop-down list in a dialog: Space or the arrows open it,
// Enter is the dialog's.
type dlgSelect struct {
	widget.Select
	keys *dlgKeys
}

func newDlgSelect(options []string, keys *dlgKeys, changed func(string)) *dlgSelect {
	s := &dlgSelect{keys: keys}
	s.Options = options
	s.OnChanged = changed
	s.ExtendBaseWidget(s)
	return s
}

func (s *dlgSelect) TypedKey(ev *fyne.KeyEvent) {
	if s.keys.key(ev) {
		return
	}
	s.Select.TypedKey(ev)
}

// dlgButton is a dialog button: Enter or Space presses it, Escape is the
// dialog's.
type dlgButton struct {
	widget.Button
	keys *dlgKeys
}

func newDlgButton(label string, keys *dlgKeys, tapped func()) *dlgButton {
	b := &dlgButton{keys: keys}
	b.Text = label
	b.OnTapped = tapped
	b.ExtendBaseWidget(b)
	return b
}

func (b *dlgButton) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if !b.Disabled() {
			b.Tapped(nil)
		}
		return
	case fyne.KeyEscape:
		b.keys.key(ev)
		return
	}
	b.Button.TypedKey(ev)
}

// radioGroup is a group of options of which one is chosen, drawn as radio
// buttons. It is made of Check widgets drawn through radioTheme so that it
// takes Enter and Escape like the other dialog fields; Up/Down or
// Left/Right move the choice.
type radioGroup struct {
	options   []string
	items     []*radioItem
	selected  string
	OnChanged func(string)
	box       *fyne.Container
}

func newRadioGroup(options []string, horizontal bool, keys *dlgKeys, changed func(string)) *radioGroup {
	g := &radioGroup{options: options, OnChanged: changed}
	objs := make([]fyne.CanvasObject, len(options))
	for i, o := range options {
		it := &radioItem{group: g, index: i, keys: keys}
		it.Text = o
		it.OnChanged = func(bool) { g.tapped(i) }
		it.ExtendBaseWidget(it)
		g.items = append(g.items, it)
		objs[i] = container.NewThemeOverride(it, radioTheme{fyne.CurrentApp().Settings().Theme()})
	}
	if horizontal {
		g.box = container.NewHBox(objs...)
	} else {
		g.box = container.NewVBox(objs...)
	}
	return g
}

// tapped: a radio button cannot be unticked by tapping it again.
func (g *radioGroup) tapped(i int) {
	g.SetSelected(g.options[i])
}

// SetSelected chooses an option ("" = none) and calls OnChanged if it changed.
func (g *radioGroup) SetSelected(opt string) {
	changed := opt != g.selected
	g.selected = opt
	for i, it := range g.items {
		on := g.options[i] == opt
		if it.Checked != on {
			it.Checked = on
			it.Refresh()
		}
	}
	if changed && g.OnChanged != nil {
		g.OnChanged(opt)
	}
}

// Selected is the chosen option.
func (g *radioGroup) Selected() string { return g.selected }

// SetEnabled enables or greys one option.
func (g *radioGroup) SetEnabled(opt string, on bool) {
	for i, it := range g.items {
		if g.options[i] == opt {
			if on {
				it.Enable()
			} else {
				it.Disable()
			}
		}
	}
}

// item is the radio button of an option.
func (g *radioGroup) item(opt string) *radioItem {
	for i, it := range g.items {
		if g.options[i] == opt {
			return it
		}
	}
	return nil
}

// radioItem is one radio button.
type radioItem struct {
	widget.Check
	group *radioGroup
	index int
	keys  *dlgKeys
}

func (it *radioItem) TypedKey(ev *fyne.KeyEvent) {
	g := it.group
	step := 0
	switch ev.Name {
	case fyne.KeyDown, fyne.KeyRight:
		step = 1
	case fyne.KeyUp, fyne.KeyLeft:
		step = -1
	}
	if step == 0 {
		if !it.keys.key(ev) {
			it.Check.TypedKey(ev)
		}
		return
	}
	for i := it.index + step; i >= 0 && i < len(g.items); i += step {
		if next := g.items[i]; !next.Disabled() {
			g.SetSelected(g.options[i])
			if cv := fyne.CurrentApp().Driver().CanvasForObject(it); cv != nil {
				cv.Focus(next)
			}
			return
		}
	}
}

// TypedRune: Space chooses this option (never unticks it).
func (it *radioItem) TypedRune(r rune) {
	if r == ' ' && !it.Disabled() {
		it.group.SetSelected(it.group.options[it.index])
	}
}

// dlgSelectEntry is an entry with a drop-down of suggestions in a dialog:
// the arrow or Down opens the list, Enter and Escape are the dialog's.
type dlgSelectEntry struct {
	widget.SelectEntry
	keys *dlgKeys
}

func newDlgSelectEntry(options []string, keys *dlgKeys) *dlgSelectEntry {
	e := &dlgSelectEntry{keys: keys}
	e.ExtendBaseWidget(e)
	e.Wrapping = fyne.TextWrapOff
	e.SetOptions(options)
	return e
}

func (e *dlgSelectEntry) TypedKey(ev *fyne.KeyEvent) {
	if e.keys.key(ev) {
		return
	}
	e.SelectEntry.TypedKey(ev)
}
