package xlog

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	if cp, err := ReadCheckpoint(dir, ""); cp != (Checkpoint{}) || err != nil {
		t.Fatalf("missing checkpoint: %+v, %v", cp, err)
	}
	for _, want := range []Checkpoint{{LSN: 1, Gen: 1}, {LSN: 1<<40 + 3, Gen: 0x12345}} {
		if err := WriteCheckpoint(dir, "", want); err != nil {
			t.Fatal(err)
		}
		if cp, err := ReadCheckpoint(dir, "edb"); cp != want || err != nil {
			t.Fatalf("read %+v, %v; want %+v", cp, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "edb.chk.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left: %v", err)
	}
	if err := WriteCheckpoint(dir, "other", Checkpoint{LSN: 9}); err != nil {
		t.Fatal(err)
	}
	if cp, _ := ReadCheckpoint(dir, "other"); cp.LSN != 9 {
		t.Fatalf("base other: %+v", cp)
	}
}

func TestCheckpointCorrupt(t *testing.T) {
	dir := t.TempDir()
	WriteCheckpoint(dir, "", Checkpoint{LSN: 77, Gen: 3})
	path := filepath.Join(dir, "edb.chk")
	good, _ := os.ReadFile(path)
	for i := range good {
		b := append([]byte(nil), good...)
		b[i] ^= 0x10
		os.WriteFile(path, b, 0o600)
		if _, err := ReadCheckpoint(dir, ""); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	for _, b := range [][]byte{nil, good[:10], append(good, 0)} {
		os.WriteFile(path, b, 0o600)
		if _, err := ReadCheckpoint(dir, ""); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%d bytes: %v", len(b), err)
		}
	}
}
