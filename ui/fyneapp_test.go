package ui

import (
	"os"
	"regexp"
	"testing"
)

// FyneApp.toml names the same app ID as the code and says the console has
// moved to fyne.Do.
func TestFyneAppToml(t *testing.T) {
	data, err := os.ReadFile("../FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`(?m)^\s*ID = "` + regexp.QuoteMeta(AppID) + `"$`,
		`(?m)^\[Details\]$`, `(?m)^\s*Icon = "assets/icon.png"$`, `(?m)^\s*Name = "exbackup"$`,
		`(?m)^\[LinuxAndBSD\]$`, `(?m)^\s*GenericName = "Backup"$`,
		`(?ms)^\[Migrations\]\s*fyneDo = true$`,
	} {
		if !regexp.MustCompile(re).Match(data) {
			t.Errorf("FyneApp.toml does not match %s", re)
		}
	}
	if _, err := os.Stat("../assets/icon.png"); err != nil {
		t.Error(err)
	}
}
