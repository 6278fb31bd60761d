package server

import (
	"errors"
	"os"
	"testing"

	"exbackup/exchange"
)

// A server's errors keep their cause in-process: a log generation that
// vanished from disk during a backup is an internal error that is also
// os.ErrNotExist.
func TestServerErrorsKeepTheirCause(t *testing.T) {
	s := newTestServer(t, "Contoso", "Redmond", "EXCH01", false)
	deliver(t, s, "jsmith", 3, "before")
	info, err := s.BackupPrepare(bg, exchange.StoreIS, exchange.Normal)
	if err != nil {
		t.Fatal(err)
	}
	var log string
	for _, f := range info.Files {
		if f.Kind == exchange.KindLog {
			log = f.Name
		}
	}
	if log == "" {
		t.Fatal("the backup holds no log generation")
	}
	_, sess, err := s.backupSession(info.Session)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(sess.paths[log]); err != nil {
		t.Fatal(err)
	}
	_, err = s.BackupRead(bg, info.Session, log)
	if !errors.Is(err, os.ErrNotExist) || !errors.Is(err, exchange.ErrInternal) || exchange.CodeOf(err) != exchange.CodeInternal {
		t.Fatalf("reading a vanished %s: %v (code %s)", log, err, exchange.CodeOf(err))
	}
	s.BackupEnd(bg, info.Session, false)
}
