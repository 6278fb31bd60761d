package app

import (
	"bytes"
	"log"
	"os"
	"path/filepath"
	"testing"
)

// The toolkit's reports about the desktop folders its file dialog lacks and
// about a preferences file read while it is rewritten are dropped; any
// other report, a preferences error with another cause included, passes.
func TestFyneLogDropsOnlyTheHarmlessReports(t *testing.T) {
	var out bytes.Buffer
	l := log.New(&fyneLog{out: &out}, "", 0)
	l.Println("Fyne error: ", "Getting favorite locations")
	l.Println("  Cause:", "this computer does not define a VIDEOS folder")
	l.Printf("  At: %s:%d", "dialog/file.go", 396)
	l.Println("Fyne error: ", "Preferences load error:")
	l.Println("  Cause:", "EOF")
	l.Printf("  At: %s:%d", "app/preferences.go", 103)
	l.Println("Fyne error: ", "Preferences load error:")
	l.Println("  Cause:", "invalid character 'x'")
	l.Println("something else")
	want := "Fyne error:  Preferences load error:\n  Cause: invalid character 'x'\nsomething else\n"
	if out.String() != want {
		t.Errorf("passed through:\n%s\nwant:\n%s", out.String(), want)
	}
}

// An empty preferences file becomes an empty set of preferences; a damaged
// one is kept beside; a good one and a missing one are left alone.
func TestRepairPreferences(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "preferences.json")
	if err := repairPreferences(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("a missing file was made: %v", err)
	}
	os.WriteFile(p, nil, 0o600)
	if err := repairPreferences(p); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "{}\n" {
		t.Errorf("empty file repaired to %q", b)
	}
	os.WriteFile(p, []byte(`{"theme":`), 0o600)
	if err := repairPreferences(p); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p + ".damaged"); string(b) != `{"theme":` {
		t.Errorf("damaged file kept as %q", b)
	}
	os.WriteFile(p, []byte(`{"theme":2}`), 0o600)
	repairPreferences(p)
	if b, _ := os.ReadFile(p); string(b) != `{"theme":2}` {
		t.Errorf("good file changed to %q", b)
	}
}
