package app

import (
	"reflect"
	"strings"
	"testing"

	"exbackup/engine"
	"exbackup/exchange"
)

func TestBackupArgsNtbackupSyntax(t *testing.T) {
	req, err := backupArgs([]string{"DS", `\\EXCH01`, "IS", `\EXCH02`, "/t", "Incremental", "/a", "/v", "/r",
		"/d", "nightly run", "/l", "/tmp/x.log", "/e", "/hc:off", "/tape:Tape created on 11/25/2026"})
	if err != nil {
		t.Fatal(err)
	}
	want := engine.BackupRequest{
		Stores:      []engine.StoreRef{{Server: "EXCH01", Store: exchange.StoreDS}, {Server: "EXCH02", Store: exchange.StoreIS}},
		Type:        exchange.Incremental,
		TapeName:    "Tape created on 11/25/2026",
		Append:      true,
		Verify:      true,
		Restrict:    true,
		Description: "nightly run",
		Log:         engine.LogOptions{Path: "/tmp/x.log", ExceptionsOnly: true},
	}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("got  %+v\nwant %+v", req, want)
	}
	req, err = backupArgs([]string{"is", "EXCH01", "/t:copy", "/hc:on"})
	if err != nil || req.Type != exchange.Copy || !req.HardwareCompression || req.Append {
		t.Fatalf("/t:copy /hc:on: %+v %v", req, err)
	}
	if req, _ := backupArgs([]string{"IS", `\\A`}); req.Type != exchange.Normal || req.Append {
		t.Fatalf("defaults: %+v", req)
	}
	for args, want := range map[string]string{
		"":                 "name what to back up",
		"IS":               "needs a server",
		`IS \\A /t weekly`: "backup type",
		`IS \\A /d`:        "needs a value",
		`IS \\A /x`:        "unknown argument",
		`IS \\A /tape:`:    "needs a tape name",
	} {
		_, err := backupArgs(strings.Fields(args))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", args, err, want)
		}
	}
}
