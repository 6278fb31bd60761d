package app_test

import (
	"strings"
	"testing"
)

// A set description longer than a set takes is refused in one line
// before any tape is written; one of the limit is written.
func TestBackupDescriptionLimit(t *testing.T) {
	o := newOrg(t, "EXCH01/Redmond")
	o.fails("too long: 257 characters, 256 at most", "backup", "IS", `\\EXCH01`, "/tape:Long", "/d", strings.Repeat("d", 257))
	if out := o.ok("tapes"); strings.Contains(out, "Long") {
		t.Fatalf("a refused backup left a tape:\n%s", out)
	}
	o.ok("backup", "IS", `\\EXCH01`, "/tape:Edge", "/d", strings.Repeat("d", 256))
	if out := o.ok("tapes"); !strings.Contains(out, "Edge") {
		t.Fatalf("the backup at the limit is not listed:\n%s", out)
	}
}
