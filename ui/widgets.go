package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"
)

// themedRect is a background in a theme colour that follows theme changes.
type themedRect struct {
	widget.BaseWidget
	name fyne.ThemeColorName
}

func (r *themedRect) CreateRenderer() fyne.WidgetRenderer {
	r.ExtendBaseWidget(r)
	rect := canvas.NewRectangle(r.Theme().Color(r.name, fyne.CurrentApp().Settings().ThemeVariant()))
	return &themedRectRenderer{r: r, rect: rect}
}

type themedRectRenderer struct {
	r    *themedRect
	rect *canvas.Rectangle
}

func (t *themedRectRenderer) Layout(s fyne.Size)           { t.rect.Resize(s) }
func (t *themedRectRenderer) MinSize() fyne.Size           { return fyne.Size{} }
func (t *themedRectRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{t.rect} }
func (t *themedRectRenderer) Destroy()                     {}
func (t *themedRectRenderer) Refresh() {
	t.rect.FillColor = t.r.Theme().Color(t.r.name, fyne.CurrentApp().Settings().ThemeVariant())
	t.rect.Refresh()
}

// icon is a fixed-size picture.
func icon(res fyne.Resource, size float32) *canvas.Image {
	img := canvas.NewImageFromResource(res)
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSquareSize(size))
	return img
}

// minSizeLayout gives its objects at least a minimum size and fills them
// to the space given.
type minSizeLayout struct{ min fyne.Size }

func (l *minSizeLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	s := l.min
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return s
}

func (l *minSizeLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.Position{})
		o.Resize(size)
	}
}
