package assets

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"strings"
	"testing"
)

func TestSVGsAreWellFormed(t *testing.T) {
	for _, ic := range All() {
		if !strings.HasSuffix(ic.Name, ".svg") {
			continue
		}
		t.Run(ic.Name, func(t *testing.T) {
			if len(ic.Data) == 0 {
				t.Fatal("empty")
			}
			dec := xml.NewDecoder(bytes.NewReader(ic.Data))
			var root *xml.StartElement
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed XML: %v", err)
				}
				if se, ok := tok.(xml.StartElement); ok && root == nil {
					se := se.Copy()
					root = &se
				}
			}
			if root == nil || root.Name.Local != "svg" {
				t.Fatalf("root element is not <svg>")
			}
			var viewBox bool
			for _, a := range root.Attr {
				if a.Name.Local == "viewBox" {
					viewBox = true
				}
			}
			if !viewBox {
				t.Error("no viewBox: the icon would not scale")
			}
			// Fyne's SVG renderer does not follow references; keep icons self-contained.
			if bytes.Contains(ic.Data, []byte("url(#")) {
				t.Error("uses a url(#…) reference")
			}
		})
	}
}

func TestAppIconPNG(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(AppIconPNG))
	if err != nil {
		t.Fatalf("icon.png: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 512 || b.Dy() != 512 {
		t.Errorf("icon.png is %dx%d, want 512x512 (what fyne package expects)", b.Dx(), b.Dy())
	}
}
