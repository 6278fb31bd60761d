// Package locale maps the C and POSIX locales, which mean "no language
// chosen", to English before Fyne reads the locale, so that the console
// starts without Fyne's "Error parsing user locale C" on machines (servers,
// containers, CI) that run in the C locale.
//
// It must be imported by package app: Go initializes packages in import-path
// order once their own imports are ready, so this one runs before
// fyne.io/fyne/v2/lang reads the environment.
package locale

import (
	"os"
	"strings"
)

func init() {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		l := os.Getenv(v)
		if l == "" {
			continue
		}
		if base, _, _ := strings.Cut(l, "."); base == "C" || base == "POSIX" {
			os.Setenv(v, "en_US.UTF-8")
		}
	}
}
