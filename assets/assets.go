// Package assets holds the console's pictures, bundled into the binary: the
// tree and tape icons (SVG, drawn for exbackup), the toolbar icons and the
// application icon (SVG and a 512×512 PNG rendered from it).
//
// It imports nothing: package ui wraps these bytes as Fyne resources, and
// packaging tools read icon.png through FyneApp.toml.
package assets

import _ "embed"

// Tree icons: the organization → site → server → store hierarchy.
var (
	//go:embed organization.svg
	Organization []byte
	//go:embed site.svg
	Site []byte
	//go:embed server.svg
	Server []byte
	//go:embed directory.svg
	Directory []byte
	//go:embed infostore.svg
	InformationStore []byte
)

// Tape icons: a tape (.bkf file) and a backup set on it.
var (
	//go:embed tape.svg
	Tape []byte
	//go:embed set.svg
	Set []byte
)

// Toolbar icons.
var (
	//go:embed backup.svg
	Backup []byte
	//go:embed restore.svg
	Restore []byte
	//go:embed catalog.svg
	Catalog []byte
	//go:embed erase.svg
	Erase []byte
	//go:embed connect.svg
	Connect []byte
)

// The application icon.
var (
	//go:embed icon.svg
	AppIconSVG []byte
	//go:embed icon.png
	AppIconPNG []byte
)

// Icon is one bundled picture under its file name.
type Icon struct {
	Name string
	Data []byte
}

// All lists every bundled picture, for tests and tools.
func All() []Icon {
	return []Icon{
		{"organization.svg", Organization},
		{"site.svg", Site},
		{"server.svg", Server},
		{"directory.svg", Directory},
		{"infostore.svg", InformationStore},
		{"tape.svg", Tape},
		{"set.svg", Set},
		{"backup.svg", Backup},
		{"restore.svg", Restore},
		{"catalog.svg", Catalog},
		{"erase.svg", Erase},
		{"connect.svg", Connect},
		{"icon.svg", AppIconSVG},
		{"icon.png", AppIconPNG},
	}
}
