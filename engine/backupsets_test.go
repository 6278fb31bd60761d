package engine

import (
	"strings"
	"testing"

	"exbackup/exchange"
)

// Each store's set takes its own type and description.
func TestBackupSetsOwnTypeAndDescription(t *testing.T) {
	e, _ := newEnv(t)
	stores := []StoreRef{{Server: "EX1", Store: exchange.StoreDS}, {Server: "EX1", Store: exchange.StoreIS}}
	res, err := e.Backup(bg, BackupRequest{Stores: stores, TapeName: "Rows", Description: "both",
		Sets: []SetChoice{{Description: "directory only"}, {Type: exchange.Copy}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := e.cat.TapeByName(res.Tape)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := e.cat.Sets(ct.ID)
	if err != nil || len(sets) != 2 {
		t.Fatalf("sets %v: %v", sets, err)
	}
	if SetType(sets[0]) != exchange.Normal || sets[0].Description != "directory only" {
		t.Errorf("set 1: %s %q", SetType(sets[0]), sets[0].Description)
	}
	if SetType(sets[1]) != exchange.Copy || sets[1].Description != "both" {
		t.Errorf("set 2: %s %q", SetType(sets[1]), sets[1].Description)
	}
}

// A description longer than MaxDescription is refused before any tape is
// touched, whether it is the request's or one set's.
func TestBackupDescriptionTooLong(t *testing.T) {
	e, _ := newEnv(t)
	long := strings.Repeat("d", MaxDescription+1)
	for _, req := range []BackupRequest{
		{Stores: isEX1, TapeName: "Long", Description: long},
		{Stores: isEX1, TapeName: "Long", Sets: []SetChoice{{Description: long}}},
	} {
		_, err := e.Backup(bg, req, nil)
		if err == nil || !strings.Contains(err.Error(), "too long: 257 characters, 256 at most") {
			t.Errorf("long description: %v", err)
		}
	}
	if _, err := e.cat.TapeByName("Long"); err == nil {
		t.Error("a refused backup cataloged a tape")
	}
	if _, err := e.Backup(bg, BackupRequest{Stores: isEX1, TapeName: "Edge", Description: strings.Repeat("é", MaxDescription)}, nil); err != nil {
		t.Errorf("a description of %d characters: %v", MaxDescription, err)
	}
}
