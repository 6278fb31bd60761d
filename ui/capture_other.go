//go:build (screenshots || ci) && (!linux || !cgo || ci || android || wasm)

package ui

import (
	"image"

	"fyne.io/fyne/v2"
)

// platformCapture has nothing to add where Canvas.Capture works (the test
// driver) or no X server is known.
func platformCapture(fyne.Window) image.Image { return nil }
