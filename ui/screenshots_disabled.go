//go:build !screenshots && !ci

package ui

import "errors"

// ScreenshotsBuiltIn says the binary was built with the screenshot tour;
// a product build is not.
const ScreenshotsBuiltIn = false

// Screenshots is not in a product build: the tour and its X11 capture are
// for scripts/screenshots.sh and the tests, built with -tags screenshots.
func (c *Console) Screenshots(dir string) error {
	return errors.New("the screenshot tour is not built into this binary (build it with -tags screenshots)")
}
