package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// fit says how a table's columns size to their content: extra is what a
// column's cells draw beside the text (an icon, a check box), limit the
// most a column takes before its text is cut with an ellipsis (none = no
// limit). The full text of a cut cell is in the window's detail line when
// its row is selected.
type fit struct {
	extra, limit map[int]float32
}

// widths are the widths that show each column's title and cells whole, up
// to the column's limit. A drag on a header divider resizes a column until
// the next catalog read.
func (f fit) widths(titles []string, rows [][]string) []float32 {
	size := theme.TextSize()
	pad := 2*theme.InnerPadding() + theme.Padding()
	bold := fyne.TextStyle{Bold: true}
	out := make([]float32, len(titles))
	for i, t := range titles {
		w := fyne.MeasureText(t, size, bold).Width
		for _, r := range rows {
			if i < len(r) {
				w = max(w, fyne.MeasureText(r[i], size, fyne.TextStyle{}).Width)
			}
		}
		w += pad + f.extra[i]
		if l, ok := f.limit[i]; ok && w > l {
			w = l
		}
		out[i] = float32(int(w + 0.999))
	}
	return out
}
