package app

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"exbackup/ui"
)

// The GUI toolkit reports through the standard logger. Two of its reports
// are not problems of this console and would only alarm an administrator:
//
//   - the file dialog looks up the desktop's usual folders (Documents,
//     Music, Videos …) for its side bar each time it opens, and reports
//     every one this computer lacks; the dialog works without them;
//   - its preferences file is watched, and the watcher can read it in the
//     instant it is rewritten (empty): at exit, or when another console
//     saves. The file itself is whole, and one that truly is empty or
//     damaged is repaired before the toolkit reads it (repairPreferences).
//
// fyneLog passes everything else through unchanged.
type fyneLog struct {
	mu   sync.Mutex
	out  io.Writer
	held []byte // a report's first line, until its cause shows whether it is one of the two
	skip bool   // dropping the rest of a report ("  Cause:", "  At:")
}

func (l *fyneLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := string(p)
	if l.held != nil {
		held := l.held
		l.held = nil
		if strings.Contains(line, "  Cause: EOF") {
			l.skip = true
			return len(p), nil
		}
		if _, err := l.out.Write(held); err != nil {
			return 0, err
		}
		l.skip = false // the held report's cause and place follow
		return l.out.Write(p)
	}
	switch {
	case strings.Contains(line, "Fyne error:  Getting favorite locations"):
		l.skip = true
		return len(p), nil
	case strings.Contains(line, "Fyne error:  Preferences load error"):
		l.held = append([]byte(nil), p...)
		return len(p), nil
	case l.skip && (strings.Contains(line, "  Cause: ") || strings.Contains(line, "  At: ")):
		return len(p), nil
	}
	l.skip = false
	return l.out.Write(p)
}

// preferencesFile is where the toolkit keeps the console's preferences
// (fyne's rootConfigDir for the desktop systems it runs on).
func preferencesFile() string {
	var root string
	switch runtime.GOOS {
	case "darwin":
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, "Library", "Preferences")
	case "windows":
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, "AppData", "Roaming")
	default:
		root, _ = os.UserConfigDir()
	}
	if root == "" {
		return ""
	}
	return filepath.Join(root, "fyne", ui.AppID, "preferences.json")
}

// repairPreferences makes the toolkit's preferences file one it can read:
// a file left empty by a console stopped while saving it is given an
// empty set of preferences; one that is not JSON is kept beside as
// preferences.json.damaged. A missing file is fine as it is.
func repairPreferences(path string) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	var v map[string]any
	if json.Unmarshal(b, &v) == nil {
		return nil
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := os.Rename(path, path+".damaged"); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte("{}\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
