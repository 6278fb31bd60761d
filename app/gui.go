package app

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"runtime/debug"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	_ "exbackup/app/locale" // before Fyne reads the locale
	"exbackup/engine"
	"exbackup/ui"
)

// runGUI starts the demo organization when no other is configured and runs
// the console until its window closes. With EXBACKUP_SCREENSHOTS=DIR it
// saves a PNG of every window and dialog into DIR and exits instead
// (scripts/screenshots.sh; only in a binary built with -tags screenshots).
func runGUI(eng *engine.Engine) error {
	dir := os.Getenv("EXBACKUP_SCREENSHOTS")
	if dir != "" && !ui.ScreenshotsBuiltIn {
		// Said before the demo organization starts or a window opens.
		return errors.New("EXBACKUP_SCREENSHOTS: the screenshot tour is not built into this binary (build it with -tags screenshots)")
	}
	if os.Getenv("GOGC") == "" {
		// The console's live heap is small (fonts, the demo's servers) and
		// its jobs allocate in bursts: collecting at half the default
		// growth keeps what it holds from the system close to what it
		// uses, for a collection of a few milliseconds now and then.
		debug.SetGCPercent(50)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	d, err := ensureOrg(ctx, eng, true)
	cancel()
	if err != nil {
		return err
	}
	defer d.stop()
	if err := repairPreferences(preferencesFile()); err != nil {
		fmt.Fprintf(os.Stderr, "exbackup: the console's preferences: %v\n", err)
	}
	log.SetOutput(&fyneLog{out: os.Stderr})
	fyneapp.SetMetadata(fyne.AppMetadata{ID: ui.AppID, Name: "exbackup", Version: Version, Icon: ui.AppIcon(),
		Migrations: map[string]bool{"fyneDo": true}})
	a := fyneapp.NewWithID(ui.AppID)
	c := ui.New(a, eng, ui.Options{Version: Version, Demo: eng.Settings().Demo})
	if dir != "" {
		if err := c.Screenshots(dir); err != nil {
			return fmt.Errorf("screenshots: %w", err)
		}
		return nil
	}
	c.ShowAndRun()
	return nil
}
