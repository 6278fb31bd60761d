package engine

import (
	"fmt"
	"strings"

	"exbackup/catalog"
	"exbackup/exchange"
	"exbackup/tape"
)

// The console speaks of backup types as exchange.BackupType everywhere.
// The catalog stores the same words ("normal", "incremental"…); the tape
// stores MTF's attribute bits, whose names are converted here only.

// ParseBackupType reads a backup type as an administrator writes it, in
// any case: "normal", "Incremental", "/t copy".
func ParseBackupType(s string) (exchange.BackupType, error) {
	t := exchange.BackupType(strings.ToLower(strings.TrimSpace(s)))
	if !t.Valid() {
		return "", fmt.Errorf("unknown backup type %q (normal, copy, incremental, differential)", s)
	}
	return t, nil
}

// TypeTitle is a backup type as NT Backup wrote it: Normal, Copy,
// Incremental, Differential; "—" for a set of no known type.
func TypeTitle(t exchange.BackupType) string {
	switch t {
	case exchange.Normal:
		return "Normal"
	case exchange.Copy:
		return "Copy"
	case exchange.Incremental:
		return "Incremental"
	case exchange.Differential:
		return "Differential"
	case "":
		return "—"
	}
	// Another writer's type (Daily, Transfer), as the catalog holds it.
	return strings.ToUpper(string(t[:1])) + string(t[1:])
}

// typeArticle is "an incremental", "a differential", "a normal".
func typeArticle(t exchange.BackupType) string {
	if t == exchange.Incremental {
		return "an incremental"
	}
	if !t.Valid() {
		return "a"
	}
	return "a " + strings.ToLower(TypeTitle(t))
}

// SetType is a cataloged set's backup type ("" for a foreign set whose
// type Exchange does not know).
func SetType(s catalog.Set) exchange.BackupType {
	t := exchange.BackupType(strings.ToLower(s.Type))
	if !t.Valid() {
		return ""
	}
	return t
}

// SetStore is the store a cataloged set holds (exbackup writes one per set).
func SetStore(s catalog.Set) exchange.StoreID {
	if len(s.Stores) == 0 {
		return ""
	}
	return exchange.StoreID(strings.ToUpper(s.Stores[0]))
}

// tapeType is the MTF type a set of backup type t is written with.
func tapeType(t exchange.BackupType) tape.BackupType {
	switch t {
	case exchange.Copy:
		return tape.Copy
	case exchange.Incremental:
		return tape.Incremental
	case exchange.Differential:
		return tape.Differential
	}
	return tape.Normal
}

// typeOfTape is the backup type of a set as the tape records it: "" for
// MTF's types Exchange has not (Daily, Transfer: other writers' sets).
func typeOfTape(t tape.BackupType) exchange.BackupType {
	switch t {
	case tape.Normal:
		return exchange.Normal
	case tape.Copy:
		return exchange.Copy
	case tape.Incremental:
		return exchange.Incremental
	case tape.Differential:
		return exchange.Differential
	}
	return ""
}
