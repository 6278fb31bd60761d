package server

import (
	"path/filepath"
	"strings"
	"testing"

	"exbackup/exchange"

	bolt "go.etcd.io/bbolt"
)

// setSchema rewrites, or with del removes, the schema version of a
// database of a stopped server, as an older or a newer exserver left it.
func setSchema(t *testing.T, path string, v uint64, del bool) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if del {
			return m.Delete(kSchema)
		}
		return m.Put(kSchema, u64(v))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func schemaIn(t *testing.T, path string) (v uint64, recorded bool) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		v, err = schemaOf(tx)
		recorded = tx.Bucket(bMeta).Get(kSchema) != nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v, recorded
}

// A new server records the schema version in each of its files.
func TestSchemaRecordedInNewFiles(t *testing.T) {
	s := newTestServer(t, "Contoso", "Redmond", "EXCH01", false)
	s.Close()
	for _, p := range []string{"dsadata/dir.edb", "mdbdata/priv.edb", "mdbdata/pub.edb"} {
		if v, ok := schemaIn(t, filepath.Join(s.dir, p)); !ok || v != schemaOfFile(filepath.Base(p)) {
			t.Errorf("%s: schema version %d (recorded %v), want %d", p, v, ok, schemaOfFile(filepath.Base(p)))
		}
	}
}

// A file written before versions were recorded is of version 1: it is
// read as it always was, and opened for writing it is migrated to the
// current version with its digest unchanged.
func TestSchemaFileWithoutVersionIsVersion1(t *testing.T) {
	s := newTestServer(t, "Contoso", "Redmond", "EXCH01", false)
	deliver(t, s, "jsmith", 5, "old")
	want := digest(t, s)
	dir := s.dir
	s.Close()
	priv := filepath.Join(dir, "mdbdata", "priv.edb")
	setSchema(t, priv, 0, true)
	if v, ok := schemaIn(t, priv); ok || v != 1 {
		t.Fatalf("without a version: schema %d (recorded %v), want 1 unrecorded", v, ok)
	}

	// Stopped, the file is read as it is and left without a version.
	stopped, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := stopped.Digest(bg); err != nil || got != want {
		t.Fatalf("digest of the stopped server = %+v, %v; want %+v", got, err, want)
	}
	if _, ok := schemaIn(t, priv); ok {
		t.Fatal("a read-only open wrote the schema version")
	}

	s = openTestServer(t, dir)
	if got := digest(t, s); got != want {
		t.Fatalf("digest after opening a file without a version = %+v, want %+v", got, want)
	}
	msgs, err := s.Messages(bg, "jsmith")
	if err != nil || len(msgs) != 5 {
		t.Fatalf("messages: %d, %v", len(msgs), err)
	}
	s.Close()
	if v, ok := schemaIn(t, priv); !ok || v != 2 {
		t.Errorf("after a start: schema %d (recorded %v), want 2 recorded", v, ok)
	}
}

// A file of a version newer than the server knows is refused, naming the
// file and the version, and is left as it was.
func TestSchemaNewerVersionRefused(t *testing.T) {
	s := newTestServer(t, "Contoso", "Redmond", "EXCH01", false)
	deliver(t, s, "jsmith", 2, "new")
	dir := s.dir
	s.Close()
	newer := uint64(schemaVersion + 1)
	setSchema(t, filepath.Join(dir, "dsadata", "dir.edb"), newer, false)

	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.StartServices()
	if err == nil {
		t.Fatal("a server started on a dir.edb of a newer schema")
	}
	msg := err.Error()
	for _, want := range []string{"Microsoft Directory", "dir.edb", "schema version 3", "newer"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if st, _ := s.Status(bg); st.DS != exchange.Stopped {
		t.Errorf("Directory is %s, want stopped", st.DS)
	}
	// Stopped, it is refused to readers too.
	if _, err := s.Digest(bg); err == nil || !strings.Contains(err.Error(), "dir.edb") || !strings.Contains(err.Error(), "schema version 3") {
		t.Errorf("digest of a newer dir.edb: %v", err)
	}
	if v, _ := schemaIn(t, filepath.Join(dir, "dsadata", "dir.edb")); v != newer {
		t.Errorf("the refused file's version became %d", v)
	}
}
