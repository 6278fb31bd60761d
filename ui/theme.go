package ui

import (
	"image/color"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// ThemeMode is the View > Theme choice.
type ThemeMode int

const (
	ThemeSystem ThemeMode = iota // follow the desktop's light or dark setting
	ThemeLight
	ThemeDark
)

// adminTheme is a compact, sober theme for an administration tool: tighter
// padding than Fyne's default so tables and the tree show more rows, a
// blue-grey palette, and flat inner-window frames. Light and dark variants
// share the sizes.
type adminTheme struct {
	fyne.Theme // the default theme: fonts, icons, anything not overridden
	mode       ThemeMode
}

func newAdminTheme(mode ThemeMode) *adminTheme {
	return &adminTheme{Theme: theme.DefaultTheme(), mode: mode}
}

// hex reads "#rrggbb" or "#rrggbbaa".
func hex(s string) color.NRGBA {
	s = strings.TrimPrefix(s, "#")
	v, _ := strconv.ParseUint(s, 16, 32)
	if len(s) == 6 {
		v = v<<8 | 0xff
	}
	return color.NRGBA{R: uint8(v >> 24), G: uint8(v >> 16), B: uint8(v >> 8), A: uint8(v)}
}

var lightPalette = map[fyne.ThemeColorName]color.Color{
	theme.ColorNameBackground:          hex("#f4f5f7"),
	theme.ColorNameOverlayBackground:   hex("#e6eaef"),
	theme.ColorNameMenuBackground:      hex("#ffffff"),
	theme.ColorNameHeaderBackground:    hex("#e3e7ec"),
	theme.ColorNameInputBackground:     hex("#ffffff"),
	theme.ColorNameInputBorder:         hex("#aeb7c2"),
	theme.ColorNameSeparator:           hex("#d3d9e0"),
	theme.ColorNameForeground:          hex("#1d232a"),
	theme.ColorNameDisabled:            hex("#8f98a3"),
	theme.ColorNamePlaceHolder:         hex("#7a838e"),
	theme.ColorNamePrimary:             hex("#1f63b5"),
	theme.ColorNameForegroundOnPrimary: hex("#ffffff"),
	theme.ColorNameFocus:               hex("#1f63b566"),
	theme.ColorNameSelection:           hex("#cfe0f5"),
	theme.ColorNameHover:               hex("#1d232a12"),
	theme.ColorNamePressed:             hex("#1d232a26"),
	theme.ColorNameButton:              hex("#e2e6eb"),
	theme.ColorNameDisabledButton:      hex("#eceff2"),
	theme.ColorNameScrollBar:           hex("#1d232a60"),
	theme.ColorNameScrollBarBackground: hex("#1d232a10"),
	theme.ColorNameShadow:              hex("#00000030"),
	theme.ColorNameHyperlink:           hex("#1f63b5"),
	theme.ColorNameSuccess:             hex("#2e7d32"),
	theme.ColorNameWarning:             hex("#a86200"),
	theme.ColorNameError:               hex("#c62828"),
}

var darkPalette = map[fyne.ThemeColorName]color.Color{
	theme.ColorNameBackground:          hex("#1d2025"),
	theme.ColorNameOverlayBackground:   hex("#2a2f37"),
	theme.ColorNameMenuBackground:      hex("#2a2f37"),
	theme.ColorNameHeaderBackground:    hex("#272c33"),
	theme.ColorNameInputBackground:     hex("#15181c"),
	theme.ColorNameInputBorder:         hex("#4c5561"),
	theme.ColorNameSeparator:           hex("#3a414b"),
	theme.ColorNameForeground:          hex("#e2e6eb"),
	theme.ColorNameDisabled:            hex("#6c7581"),
	theme.ColorNamePlaceHolder:         hex("#8a939e"),
	theme.ColorNamePrimary:             hex("#4a97ec"),
	theme.ColorNameForegroundOnPrimary: hex("#0e1116"),
	theme.ColorNameFocus:               hex("#4a97ec77"),
	theme.ColorNameSelection:           hex("#2c4a70"),
	theme.ColorNameHover:               hex("#ffffff14"),
	theme.ColorNamePressed:             hex("#ffffff26"),
	theme.ColorNameButton:              hex("#353b44"),
	theme.ColorNameDisabledButton:      hex("#2a2f36"),
	theme.ColorNameScrollBar:           hex("#ffffff55"),
	theme.ColorNameScrollBarBackground: hex("#ffffff10"),
	theme.ColorNameShadow:              hex("#00000066"),
	theme.ColorNameHyperlink:           hex("#6aaef5"),
	theme.ColorNameSuccess:             hex("#66bb6a"),
	theme.ColorNameWarning:             hex("#ffb74d"),
	theme.ColorNameError:               hex("#ef5350"),
}

func (t *adminTheme) variant(v fyne.ThemeVariant) fyne.ThemeVariant {
	switch t.mode {
	case ThemeLight:
		return theme.VariantLight
	case ThemeDark:
		return theme.VariantDark
	}
	return v
}

func (t *adminTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	v = t.variant(v)
	p := lightPalette
	if v == theme.VariantDark {
		p = darkPalette
	}
	if c, ok := p[n]; ok {
		return c
	}
	return t.Theme.Color(n, v)
}

func (t *adminTheme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNamePadding:
		return 3
	case theme.SizeNameInnerPadding:
		return 6
	case theme.SizeNameText:
		return 13
	case theme.SizeNameCaptionText:
		return 11
	case theme.SizeNameSubHeadingText:
		return 15
	case theme.SizeNameHeadingText:
		return 19
	case theme.SizeNameInlineIcon:
		return 18
	case theme.SizeNameLineSpacing:
		return 3
	case theme.SizeNameInputRadius:
		return 3
	case theme.SizeNameSelectionRadius:
		return 2
	case theme.SizeNameScrollBar:
		return 10
	case theme.SizeNameScrollBarSmall:
		return 4
	case theme.SizeNameWindowTitleBarHeight:
		return 24
	case theme.SizeNameWindowButtonHeight:
		return 16
	case theme.SizeNameWindowButtonIcon:
		return 14
	case theme.SizeNameWindowButtonRadius:
		return 3
	}
	return t.Theme.Size(n)
}

// radioTheme draws a Check as a radio button: dlgRadio uses it so that
// radio groups take Enter and Escape like every other dialog field.
type radioTheme struct{ fyne.Theme }

func (r radioTheme) Icon(n fyne.ThemeIconName) fyne.Resource {
	switch n {
	case theme.IconNameCheckButton:
		n = theme.IconNameRadioButton
	case theme.IconNameCheckButtonChecked:
		n = theme.IconNameRadioButtonChecked
	case theme.IconNameCheckButtonFill:
		n = theme.IconNameRadioButtonFill
	}
	return r.Theme.Icon(n)
}
