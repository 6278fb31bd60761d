package app_test

import (
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"exbackup/ui"
)

// The real console under Xvfb, built with the screenshot tour as
// scripts/screenshots.sh builds it, on a fresh home: it starts the demo
// organization by itself, opens every window and dialog and saves a picture
// of each, which must not be blank. It is started twice on that home, as an
// administrator starts it again the next day: after each start every demo
// server answers (exbackup org fails for one that does not), and the
// console writes no toolkit error, though the second start finds its
// preferences file left empty.
func TestGUISmokeUnderXvfb(t *testing.T) {
	if _, err := exec.LookPath("xvfb-run"); err != nil {
		t.Skip("xvfb-run is not installed (test.sh installs it)")
	}
	console := filepath.Join(t.TempDir(), "exbackup-screenshots")
	if out, err := exec.Command("go", "build", "-tags", "screenshots", "-o", console, "exbackup").CombinedOutput(); err != nil {
		t.Fatalf("building the console with -tags screenshots: %v\n%s", err, out)
	}
	home, config := t.TempDir(), t.TempDir()
	env := append(os.Environ(), "EXBACKUP_HOME="+home, "XDG_CONFIG_HOME="+config)
	for start := 1; start <= 2; start++ {
		if start == 2 {
			// As a console stopped while the toolkit rewrote it leaves it.
			prefs := filepath.Join(config, "fyne", ui.AppID, "preferences.json")
			if err := os.WriteFile(prefs, nil, 0o600); err != nil {
				t.Fatalf("the first start wrote no preferences: %v", err)
			}
		}
		shots := t.TempDir()
		cmd := exec.Command("xvfb-run", "-a", "-s", "-screen 0 1280x900x24", console)
		cmd.Env = append(env, "EXBACKUP_SCREENSHOTS="+shots)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("start %d of the console under Xvfb: %v\n%s%s", start, err, out, stderr.String())
		}
		for _, noise := range []string{"Error parsing user locale", "Fyne error"} {
			if strings.Contains(stderr.String(), noise) {
				t.Errorf("start %d: %q on stderr:\n%s", start, noise, stderr.String())
			}
		}
		checkShots(t, shots, stderr.String())
		if _, err := os.Stat(filepath.Join(home, "demo", "EXCH03", "server.json")); err != nil {
			t.Fatalf("the first run did not create the demo organization: %v", err)
		}
		org := exec.Command(bins.exbackup, "org")
		org.Env = env
		got, err := org.CombinedOutput()
		if err != nil {
			t.Fatalf("exbackup org after start %d of the console: %v\n%s", start, err, got)
		}
		for _, name := range []string{"EXCH01", "EXCH02", "EXCH03"} {
			if !strings.Contains(string(got), name+"     Directory running, Information Store running") {
				t.Errorf("after start %d, %s does not answer as running:\n%s", start, name, got)
			}
		}
	}
}

func checkShots(t *testing.T, shots, out string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(shots, "*.png"))
	if len(files) < 12 {
		t.Fatalf("%d pictures, want every window and dialog:\n%s", len(files), out)
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if blank(img) {
			t.Errorf("%s is blank", filepath.Base(f))
		}
	}
}

// The product binary has no screenshot tour: asked for one, it says so in
// one line before it starts an organization or opens a window, and writes
// no picture.
func TestProductBinaryHasNoScreenshotTour(t *testing.T) {
	home, shots := t.TempDir(), t.TempDir()
	cmd := exec.Command(bins.exbackup)
	cmd.Env = append(os.Environ(), "EXBACKUP_HOME="+home, "EXBACKUP_SCREENSHOTS="+shots)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not built into this binary") {
		t.Fatalf("exbackup with EXBACKUP_SCREENSHOTS: %v\n%s", err, out)
	}
	if ents, _ := os.ReadDir(shots); len(ents) != 0 {
		t.Errorf("%d files written", len(ents))
	}
	if _, err := os.Stat(filepath.Join(home, "demo")); err == nil {
		t.Error("the demo organization was started")
	}
}

func blank(img image.Image) bool {
	b := img.Bounds()
	first := img.At(b.Min.X, b.Min.Y)
	r0, g0, b0, a0 := first.RGBA()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bb, a := img.At(x, y).RGBA()
			if r != r0 || g != g0 || bb != b0 || a != a0 {
				return false
			}
		}
	}
	return true
}
