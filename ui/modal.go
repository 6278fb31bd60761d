package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// modal is one of the console's dialogs: a Fyne custom dialog (a modal
// overlay of the main window) whose Enter and Escape the console routes.
type modal struct {
	c       *Console
	title   string
	d       *dialog.CustomDialog
	keys    *dlgKeys
	focus   fyne.Focusable // focused when shown
	onHide  func()
	visible bool
	// grow makes the dialog take this share of the window (at least its
	// least size) when shown, for dialogs whose content stretches.
	grow fyne.Size
}

// newModal builds a dialog; buttons go along its bottom, in order.
func (c *Console) newModal(title string, content fyne.CanvasObject, keys *dlgKeys, buttons ...fyne.CanvasObject) *modal {
	m := &modal{c: c, title: title, keys: keys}
	// Any dialog fits the window, down to 800×600: what does not fit
	// scrolls, the buttons stay in view.
	// The gutter keeps the scroll bar, drawn over the content, off its
	// fields.
	gutter := canvas.NewRectangle(color.Transparent)
	gutter.SetMinSize(fyne.NewSize(theme.ScrollBarSize(), 0))
	fitted := container.New(&fitWindowLayout{c: c}, container.NewVScroll(container.NewBorder(nil, nil, nil, gutter, content)))
	m.d = dialog.NewCustomWithoutButtons(title, fitted, c.win)
	if len(buttons) > 0 {
		m.d.SetButtons(buttons)
	}
	m.d.SetOnClosed(func() {
		m.visible = false
		c.popKeys(keys)
		if m.onHide != nil {
			m.onHide()
		}
	})
	return m
}

func (m *modal) show() {
	m.visible = true
	m.c.pushKeys(m.keys)
	m.d.Show()
	if !m.grow.IsZero() {
		win := m.c.win.Canvas().Size()
		least := m.d.MinSize()
		m.d.Resize(fyne.NewSize(
			min(max(least.Width, win.Width*m.grow.Width), win.Width-2*dialogMargin),
			min(max(least.Height, win.Height*m.grow.Height), win.Height-2*dialogMargin)))
	}
	if m.focus != nil {
		m.c.win.Canvas().Focus(m.focus)
	}
}

func (m *modal) hide() {
	if m.visible {
		m.d.Hide()
	}
}

// dialogMargin keeps a dialog off the window's edges; dialogChrome is what a
// dialog's title, buttons and padding take around its content.
const dialogMargin = 8

var dialogChrome = fyne.NewSize(48, 140)

// fitWindowLayout gives a dialog's scrolled content its own least size, or
// the window's room when that is less.
type fitWindowLayout struct{ c *Console }

func (l *fitWindowLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	want := objs[0].(*container.Scroll).Content.MinSize()
	room := l.c.win.Canvas().Size().Subtract(dialogChrome).SubtractWidthHeight(2*dialogMargin, 2*dialogMargin)
	if room.Width <= 0 || room.Height <= 0 {
		return want // not laid out yet
	}
	return fyne.NewSize(min(want.Width, room.Width), min(want.Height, room.Height))
}

func (l *fitWindowLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	objs[0].Move(fyne.Position{})
	objs[0].Resize(size)
}

// pushKeys and popKeys keep the stack of open dialogs; the top one gets
// Enter and Escape when no widget has the focus.
// The menu items that act are disabled while a dialog is up.
func (c *Console) pushKeys(k *dlgKeys) {
	c.keys = append(c.keys, k)
	c.updateMenuItems()
}

func (c *Console) popKeys(k *dlgKeys) {
	for i := len(c.keys) - 1; i >= 0; i-- {
		if c.keys[i] == k {
			c.keys = append(c.keys[:i], c.keys[i+1:]...)
			c.updateMenuItems()
			return
		}
	}
}

// modalOpen reports whether a dialog is up: menu and toolbar actions wait.
func (c *Console) modalOpen() bool { return len(c.keys) > 0 }

// confirm asks before something that cannot be undone. okLabel names the
// action ("Replace", "Erase"); Enter confirms, Escape cancels.
func (c *Console) confirm(title, message, detail, okLabel string, onOK func()) *modal {
	keys := &dlgKeys{}
	var m *modal
	cancel := newDlgButton("Cancel", keys, func() { m.hide() })
	ok := newDlgButton(okLabel, keys, func() {
		m.hide()
		onOK()
	})
	ok.Importance = widget.HighImportance
	keys.ok, keys.cancel = ok.OnTapped, cancel.OnTapped

	icon := canvas.NewImageFromResource(theme.WarningIcon())
	icon.SetMinSize(fyne.NewSquareSize(40))
	icon.FillMode = canvas.ImageFillContain
	msg := widget.NewLabelWithStyle(message, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	msg.Wrapping = fyne.TextWrapWord
	body := []fyne.CanvasObject{msg}
	if detail != "" {
		d := widget.NewLabel(detail)
		d.Wrapping = fyne.TextWrapWord
		body = append(body, d)
	}
	content := container.NewBorder(nil, nil, container.NewVBox(icon), nil,
		container.New(&wrapLayout{width: 380}, body...))
	m = c.newModal(title, content, keys, cancel, ok)
	m.focus = ok
	m.show()
	return m
}

// info tells something and waits for OK.
func (c *Console) info(title, message string) *modal {
	keys := &dlgKeys{}
	var m *modal
	ok := newDlgButton("OK", keys, func() { m.hide() })
	ok.Importance = widget.HighImportance
	keys.ok, keys.cancel = ok.OnTapped, ok.OnTapped
	icon := canvas.NewImageFromResource(theme.InfoIcon())
	icon.SetMinSize(fyne.NewSquareSize(32))
	icon.FillMode = canvas.ImageFillContain
	msg := widget.NewLabel(message)
	msg.Wrapping = fyne.TextWrapWord
	content := container.NewBorder(nil, nil, container.NewVBox(icon), nil, container.New(&wrapLayout{width: 340}, msg))
	m = c.newModal(title, content, keys, ok)
	m.focus = ok
	m.show()
	return m
}

// wrapLayout stacks its objects at a fixed width, so that word-wrapped
// labels know how wide they are before the dialog sizes itself.
type wrapLayout struct{ width float32 }

func (l *wrapLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	n := 0
	for _, o := range objs {
		if !o.Visible() {
			continue
		}
		if o.Size().Width != l.width {
			o.Resize(fyne.NewSize(l.width, o.MinSize().Height))
		}
		h += o.MinSize().Height
		n++
	}
	if n > 1 {
		h += float32(n-1) * theme.Padding()
	}
	return fyne.NewSize(l.width, h)
}

func (l *wrapLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for _, o := range objs {
		if !o.Visible() {
			continue
		}
		o.Resize(fyne.NewSize(size.Width, o.MinSize().Height))
		o.Move(fyne.NewPos(0, y))
		h := o.MinSize().Height
		o.Resize(fyne.NewSize(size.Width, h))
		y += h + theme.Padding()
	}
}

// group is a titled section of a dialog, as NT Backup drew group boxes.
func group(title string, content ...fyne.CanvasObject) fyne.CanvasObject {
	return container.NewVBox(append([]fyne.CanvasObject{groupHeader(title)}, content...)...)
}

// groupHeader is a group's title and rule.
func groupHeader(title string) fyne.CanvasObject {
	head := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	return container.NewBorder(nil, nil, head, nil, container.NewVBox(layout.NewSpacer(), widget.NewSeparator(), layout.NewSpacer()))
}

// form lays label/field pairs out in two columns.
func form(objs ...fyne.CanvasObject) *fyne.Container {
	return container.New(layout.NewFormLayout(), objs...)
}

// fieldLabelWidth lines up the label columns of a dialog's several forms.
const fieldLabelWidth = 124

// fieldLabel is a form's label, right-aligned next to its field.
func fieldLabel(s string) fyne.CanvasObject {
	l := widget.NewLabelWithStyle(s, fyne.TextAlignTrailing, fyne.TextStyle{})
	return container.New(&minSizeLayout{min: fyne.NewSize(fieldLabelWidth, 0)}, l)
}

// value is a read-only field.
func value(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Truncation = fyne.TextTruncateEllipsis
	return l
}

// errorLine is a dialog's inline validation message, hidden when empty.
type errorLine struct{ *widget.Label }

func newErrorLine() errorLine {
	l := widget.NewLabel("")
	l.Importance = widget.DangerImportance
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return errorLine{l}
}

func (e errorLine) set(msg string) {
	e.SetText(msg)
	if msg == "" {
		e.Hide()
	} else {
		e.Show()
	}
}

// note is a muted explanatory line.
func note(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Importance = widget.LowImportance
	return l
}

// wrappedNote is a muted explanation wrapped to its width: wrapped labels
// go inside a wrapLayout, which tells them their width before they report
// their height.
func wrappedNote(s string) *widget.Label {
	l := note(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}
