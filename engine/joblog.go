package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// jobLog writes the administrator's log in NT Backup's wording: to the log
// file (Backup.log by default, appended), and each summary line to the
// job's Progress, which the status dialog and the CLI show.
type jobLog struct {
	f     *os.File
	level LogLevel
	exc   bool
	p     *Progress
}

func (e *Engine) openLog(o LogOptions, p *Progress) (*jobLog, error) {
	l := &jobLog{level: o.Level, exc: o.ExceptionsOnly, p: p}
	if o.Level == LogNone {
		return l, nil
	}
	path := o.Path
	if path == "" {
		path = filepath.Join(e.home, "Backup.log")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("log file %s: %w", path, err)
	}
	l.f = f
	return l, nil
}

// summary is a line of the summary (every level but Don't Log; with /e only
// when it is an exception).
func (l *jobLog) summary(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	l.p.logf(line)
	if l.f != nil && !l.exc {
		fmt.Fprintln(l.f, line)
	}
}

// detail is a line of Full Detail only (each file).
func (l *jobLog) detail(format string, args ...any) {
	if l.f != nil && l.level == LogFull && !l.exc {
		fmt.Fprintf(l.f, format+"\n", args...)
	}
}

// exception is what went wrong: always logged (but with Don't Log).
func (l *jobLog) exception(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	l.p.logf(line)
	if l.f != nil {
		fmt.Fprintln(l.f, line)
	}
}

func (l *jobLog) close() {
	if l.f != nil {
		fmt.Fprintln(l.f, strings.Repeat("-", 70))
		l.f.Sync()
		l.f.Close()
	}
}

// ntDate and ntTime format as NT Backup did: 11/25/2026, 2:59:01 PM.
func ntDate(t time.Time) string { return t.Format("1/2/2006") }
func ntTime(t time.Time) string { return t.Format("3:04:05 PM") }

// DefaultTapeName is NT Backup's default tape name.
func DefaultTapeName(t time.Time) string { return "Tape created on " + ntDate(t) }

// Thousands formats 1234567 as 1,234,567.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// seconds says a duration in seconds as a log line reads it: "12.3", and
// below a second with the precision that shows it ("0.04"), never "0.0".
func seconds(d time.Duration) string {
	switch {
	case d >= 995*time.Millisecond: // "1.0", not "1.00"
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64)
	case d >= 10*time.Millisecond:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64)
	}
	return "less than 0.01"
}

// Plural counts things in words: "1 set", "2 sets", "1,024 files".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Thousands(int64(n)) + " " + many
}

// setTitle names a set the same way in every job's status: by its number
// on its tape, then what it holds and where it stands in the job.
func setTitle(number int, tapeName, what string, i, total int) string {
	return fmt.Sprintf("Set %d on tape %s: %s (%d of %d)", number, tapeName, what, i, total)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Seconds is a duration as the job logs say it, for the command line.
func Seconds(d time.Duration) string { return seconds(d) }
