package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
)

// mdi arranges the main window's inner windows (Fyne's MultipleWindows):
// tiled side by side at first, cascaded or tiled again from the Window
// menu, each one maximised, minimised (hidden until the Window menu brings
// it back) or brought forward.
type mdi struct {
	multi *container.MultipleWindows
	wins  []*innerWin
	root  *fyne.Container
	// arranged is how the windows were last laid out ("tile", "cascade");
	// while nobody has moved them since, a resize re-arranges them.
	arranged string
	size     fyne.Size
	onChange func()
}

type innerWin struct {
	w         *container.InnerWindow
	title     string
	maximized bool
	hidden    bool
	normalPos fyne.Position
	normalSz  fyne.Size
	placedPos fyne.Position // where the last arrangement put it
	placedSz  fyne.Size
}

func newInnerWindow(title string, ic fyne.Resource, content fyne.CanvasObject) *innerWin {
	w := container.NewInnerWindow(title, content)
	w.Icon = ic
	return &innerWin{w: w, title: title}
}

func newMDI(wins ...*innerWin) *mdi {
	m := &mdi{wins: wins, arranged: "tile"}
	list := make([]*container.InnerWindow, len(wins))
	for i, iw := range wins {
		list[i] = iw.w
		iw := iw
		iw.w.OnMaximized = func() { m.toggleMaximized(iw) }
		iw.w.OnMinimized = func() { m.hideWin(iw) }
		iw.w.CloseIntercept = func() { m.hideWin(iw) }
		iw.w.OnTappedIcon = func() { m.raise(iw) } // also keeps the icon in colour (a disabled one is greyed)
	}
	m.multi = container.NewMultipleWindows(list...)
	m.root = container.New(&mdiLayout{m: m}, m.multi)
	return m
}

type mdiLayout struct{ m *mdi }

func (l *mdiLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(320, 240) }

func (l *mdiLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	m := l.m
	for _, o := range objs {
		o.Move(fyne.Position{})
		o.Resize(size)
	}
	if size == m.size {
		return
	}
	m.size = size
	maximized := false
	for _, iw := range m.wins {
		if iw.maximized {
			maximized = true
			iw.w.Move(fyne.Position{})
			iw.w.Resize(size)
		}
	}
	switch {
	case maximized:
	case m.arranged == "tile" && m.untouched():
		m.tile()
	case m.arranged == "cascade" && m.untouched():
		m.cascade()
	}
}

// untouched: no window was moved or resized by hand since the last
// arrangement.
func (m *mdi) untouched() bool {
	for _, iw := range m.wins {
		if iw.maximized || iw.hidden {
			continue
		}
		if iw.placedSz.IsZero() {
			continue
		}
		// A place smaller than the window's least size (the first layout,
		// before the window has its size) was never taken.
		if least := iw.w.MinSize(); iw.placedSz.Width < least.Width || iw.placedSz.Height < least.Height {
			continue
		}
		if iw.w.Position() != iw.placedPos || iw.w.Size() != iw.placedSz {
			return false
		}
	}
	return true
}

func (m *mdi) visible() []*innerWin {
	var out []*innerWin
	for _, iw := range m.wins {
		if !iw.hidden {
			out = append(out, iw)
		}
	}
	return out
}

func (m *mdi) place(iw *innerWin, pos fyne.Position, size fyne.Size) {
	if iw.maximized {
		iw.maximized = false
		iw.w.SetMaximized(false)
	}
	iw.w.Move(pos)
	iw.w.Resize(size)
	iw.placedPos, iw.placedSz = pos, size
}

// tile puts the visible windows side by side; the Exchange tree is
// narrower than the Tapes window's columns, so it gets less.
func (m *mdi) tile() {
	m.arranged = "tile"
	vis := m.visible()
	if len(vis) == 0 || m.size.IsZero() {
		return
	}
	const gap = 4
	weights := map[string]float32{"Microsoft Exchange": 0.34, "Tapes": 0.66}
	total := float32(0)
	for _, iw := range vis {
		total += weight(weights, iw.title)
	}
	x := float32(0)
	for i, iw := range vis {
		w := (m.size.Width - gap*float32(len(vis)-1)) * weight(weights, iw.title) / total
		if i == len(vis)-1 {
			w = m.size.Width - x
		}
		m.place(iw, fyne.NewPos(x, 0), fyne.NewSize(w, m.size.Height))
		x += w + gap
	}
	m.changed()
}

func weight(w map[string]float32, title string) float32 {
	if v, ok := w[title]; ok {
		return v
	}
	return 0.5
}

// cascade stacks the visible windows, each a title bar lower and to the
// right of the one behind it.
func (m *mdi) cascade() {
	m.arranged = "cascade"
	vis := m.visible()
	if len(vis) == 0 || m.size.IsZero() {
		return
	}
	const step = 28
	n := float32(len(vis) - 1)
	size := fyne.NewSize(m.size.Width*0.8-step*n, m.size.Height*0.85-step*n)
	for i, iw := range vis {
		m.place(iw, fyne.NewPos(step*float32(i), step*float32(i)), size)
	}
	m.changed()
}

func (m *mdi) toggleMaximized(iw *innerWin) {
	if iw.maximized {
		iw.maximized = false
		iw.w.SetMaximized(false)
		iw.w.Move(iw.normalPos)
		iw.w.Resize(iw.normalSz)
	} else {
		iw.normalPos, iw.normalSz = iw.w.Position(), iw.w.Size()
		iw.maximized = true
		iw.w.SetMaximized(true)
		iw.w.Move(fyne.Position{})
		iw.w.Resize(m.size)
	}
	m.raise(iw)
}

func (m *mdi) hideWin(iw *innerWin) {
	iw.hidden = true
	iw.w.Hide()
	m.changed()
}

// bringForward shows a window (if minimised) and puts it in front.
func (m *mdi) bringForward(iw *innerWin) {
	if iw.hidden {
		iw.hidden = false
		iw.w.Show()
	}
	m.raise(iw)
}

func (m *mdi) raise(iw *innerWin) {
	ws := m.multi.Windows
	for i, w := range ws {
		if w == iw.w {
			ws = append(append(ws[:i:i], ws[i+1:]...), w)
			break
		}
	}
	m.multi.Windows = ws
	m.multi.Refresh()
	m.changed()
}

// front is the window in front.
func (m *mdi) front() *innerWin {
	ws := m.multi.Windows
	for i := len(ws) - 1; i >= 0; i-- {
		for _, iw := range m.wins {
			if iw.w == ws[i] && !iw.hidden {
				return iw
			}
		}
	}
	return nil
}

func (m *mdi) changed() {
	if m.onChange != nil {
		m.onChange()
	}
}
