package app_test

import (
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
	console := tourConsole(t)
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
		_, stderr, _ := runTour(t, console, env)
		for _, noise := range []string{"Error parsing user locale", "Fyne error"} {
			if strings.Contains(stderr, noise) {
				t.Errorf("start %d: %q on stderr:\n%s", start, noise, stderr)
			}
		}
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

// tourBuild is the console built with the screenshot tour, as
// scripts/screenshots.sh builds it: once for all the tests that run it.
var tourBuild struct {
	once sync.Once
	path string
	out  []byte
	err  error
}

// tourConsole returns the console with the screenshot tour, building it the
// first time; a test that runs it under Xvfb calls it first.
func tourConsole(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("xvfb-run"); err != nil {
		t.Skip("xvfb-run is not installed (test.sh installs it)")
	}
	tourBuild.once.Do(func() {
		tourBuild.path = filepath.Join(filepath.Dir(bins.exbackup), "exbackup-screenshots")
		tourBuild.out, tourBuild.err = exec.Command("go", "build", "-tags", "screenshots", "-o", tourBuild.path, "exbackup").CombinedOutput()
	})
	if tourBuild.err != nil {
		t.Fatalf("building the console with -tags screenshots: %v\n%s", tourBuild.err, tourBuild.out)
	}
	return tourBuild.path
}

// runTour runs the tour console under Xvfb with env (os.Environ() and the
// home it works on) into a fresh folder of pictures, checks that none is
// blank, and returns what it wrote to stdout (a note beside each picture)
// and stderr, and the folder.
func runTour(t *testing.T, console string, env []string) (out, stderr, shots string) {
	t.Helper()
	shots = t.TempDir()
	cmd := exec.Command("xvfb-run", "-a", "-s", "-screen 0 1280x900x24", console)
	cmd.Env = append(slices.Clip(env), "EXBACKUP_SCREENSHOTS="+shots)
	var errs strings.Builder
	cmd.Stderr = &errs
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("the console under Xvfb: %v\n%s%s", err, b, errs.String())
	}
	checkShots(t, shots, errs.String())
	return string(b), errs.String(), shots
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
