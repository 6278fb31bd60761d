package ui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"exbackup/engine"
	"exbackup/exchange"
)

// NT Backup's date and time forms (US locale, as the originals showed them).
func ntDate(t time.Time) string     { return t.Local().Format("1/2/2006") }
func ntTime(t time.Time) string     { return t.Local().Format("3:04 PM") }
func ntDateTime(t time.Time) string { return t.Local().Format("1/2/2006 3:04 PM") }

// defaultTapeName is what Backup Information proposes for a new tape.
func defaultTapeName(now time.Time) string { return "Tape created on " + ntDate(now) }

// thousands writes n with thousands separators: 1,234,567.
func thousands(n int64) string { return engine.Thousands(n) }

// humanBytes is a short size: 0 bytes, 512 bytes, 1.5 KB, 12.3 MB, 4.01 GB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		if n == 1 {
			return "1 byte"
		}
		return strconv.FormatInt(n, 10) + " bytes"
	}
	f := float64(n)
	units := []string{"KB", "MB", "GB", "TB", "PB"}
	i := -1
	for f >= unit && i < len(units)-1 {
		f /= unit
		i++
	}
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f %s", f, units[i])
	case f >= 10:
		return fmt.Sprintf("%.1f %s", f, units[i])
	}
	return fmt.Sprintf("%.2f %s", f, units[i])
}

// clock writes an elapsed time as H:MM:SS.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// rate writes bytes per second as MB/min, NT Backup's unit.
func rate(bps float64) string {
	if bps <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f MB/min", bps*60/(1<<20))
}

// device is NT Backup's "drive" of a store: \\EXCH01 Microsoft Information Store.
func device(server string, id exchange.StoreID) string {
	return `\\` + strings.TrimLeft(server, `\`) + " " + id.ServiceName()
}

// stateWord is a service state as the tree shows it.
func stateWord(s exchange.ServiceState) string {
	switch s {
	case exchange.Running:
		return "running"
	case exchange.Stopped:
		return "stopped"
	case exchange.RestorePending:
		return "restore pending"
	case "":
		return "state unknown"
	}
	return string(s)
}

// oneLine is an error as a status line: its first line, never empty.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.Canceled) {
		return "The operation was aborted."
	}
	s := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "The operation failed."
	}
	r := []rune(s)
	r[0] = []rune(strings.ToUpper(string(r[0])))[0]
	return string(r)
}

// groupFingerprint splits "sha256:HEX" into groups of four for reading
// aloud over the telephone, eight groups a line.
func groupFingerprint(fp string) string {
	algo, h, ok := strings.Cut(fp, ":")
	if !ok {
		algo, h = "", fp
	}
	h = strings.ToUpper(h)
	var b strings.Builder
	if algo != "" {
		b.WriteString(strings.ToUpper(algo) + "\n")
	}
	for i := 0; i < len(h); i += 4 {
		if i > 0 {
			if i%32 == 0 {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(h[i:min(i+4, len(h))])
	}
	return b.String()
}

// upperFirst capitalizes an error's text to stand as a sentence.
func upperFirst(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}

// plural counts: "1 set", "1,234 sets".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return thousands(int64(n)) + " " + many
}
