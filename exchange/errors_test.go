package exchange

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// An *Error keeps what its message wrapped with %w: errors.Is reaches the
// cause in-process, the message reads as with %v, and the code still
// decides what the error is.
func TestErrorfWrapsItsCause(t *testing.T) {
	_, statErr := os.Stat(filepath.Join(t.TempDir(), "priv.edb"))
	err := Errorf(CodeInternal, "the Microsoft Information Store on EXCH01: %w", statErr)
	if !errors.Is(err, os.ErrNotExist) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, os.ErrNotExist) = false", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || filepath.Base(pe.Path) != "priv.edb" {
		t.Errorf("errors.As found no *fs.PathError in %v", err)
	}
	if want := "the Microsoft Information Store on EXCH01: " + statErr.Error(); err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	if !errors.Is(err, ErrInternal) || errors.Is(err, ErrNotFound) || CodeOf(err) != CodeInternal {
		t.Errorf("code of %v: %s", err, CodeOf(err))
	}

	// Through further wrapping, and with two causes.
	outer := fmt.Errorf("backup of EXCH01: %w", Errorf(CodeConflict, "%w after %w", context.Canceled, os.ErrClosed))
	if !errors.Is(outer, context.Canceled) || !errors.Is(outer, os.ErrClosed) || !errors.Is(outer, ErrConflict) {
		t.Errorf("%v lost a cause or its code", outer)
	}

	// %v keeps the message only, as before.
	flat := Errorf(CodeInternal, "stopping: %v", context.Canceled)
	if errors.Is(flat, context.Canceled) || flat.Unwrap() != nil {
		t.Errorf("%%v made %v a cause", context.Canceled)
	}
	if flat.Error() != "stopping: context canceled" {
		t.Errorf("message %q", flat.Error())
	}
}
