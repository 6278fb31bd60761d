package tape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"exbackup/tape/mtf"
	"exbackup/tape/mtf/mtftest"
)

// writeFamily writes a media family of two members: set 1 starts on the
// first, the medium ends inside big.bin, and the second member takes the
// set up again (continuation SSET, VOLB, DIRB, FILE) and finishes it.
func writeFamily(t *testing.T) (first, second string, big []byte) {
	t.Helper()
	big = noise(20000, 9)
	first, second = mtftest.WriteFamily(t, big, foreignWhen)
	return first, second, big
}

func TestFamilySpansMembers(t *testing.T) {
	first, second, big := writeFamily(t)
	tp, err := Open(first)
	if err != nil {
		t.Fatal(err)
	}
	// Alone, the first member lists its part of the set as going on.
	alone, err := tp.FamilyTree(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if alone.Complete || len(alone.Problems) != 1 || !strings.Contains(alone.Problems[0].Error(), "member 2 of media family 00000FA1") {
		t.Fatalf("first member alone: complete %v, problems %v", alone.Complete, alone.Problems)
	}
	var asked []int
	next := func(family uint32, seq int) (string, error) {
		asked = append(asked, seq)
		if family != 0xFA1 || seq != 2 {
			return "", errors.New("no such member")
		}
		return second, nil
	}
	tr, err := tp.FamilyTree(1, next)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Complete || len(tr.Problems) != 0 || len(asked) != 1 {
		t.Fatalf("family: complete %v, problems %v, asked %v", tr.Complete, tr.Problems, asked)
	}
	kids, _ := tr.Browse("E:/Big")
	if len(kids) != 3 || kids[0].Name != "big.bin" || kids[0].Size != int64(len(big)) {
		t.Fatalf("E:/Big: %+v", kids)
	}
	if kids[0].Member != 0 || kids[2].Name != "tail.txt" || kids[2].Member != 2 || !strings.HasSuffix(kids[2].String(), "tail.txt  (on member 2)") {
		t.Errorf("members of the listing: %+v", kids)
	}
	if len(tr.Members) != 2 || tr.Members[0] != (Member{Sequence: 1}) || tr.Members[1] != (Member{Path: second, Sequence: 2}) {
		t.Errorf("tree members %+v", tr.Members)
	}
	var got []string
	for _, e := range tr.Entries() {
		got = append(got, fmt.Sprintf("%s@%d:%s", e.Path, e.Member, tr.Volumes[e.Volume].Device))
	}
	if strings.Join(got, " ") != "Big/head.txt@0:E: Big/big.bin@0:E: Big/tail.txt@2:E:" {
		t.Errorf("entries across the members: %v", got)
	}
	dest := t.TempDir()
	res, err := tp.ExtractTree(context.Background(), tr, dest, nil, ExtractOptions{})
	if err != nil || res.Files != 3 || res.Incomplete {
		t.Fatalf("extract: %v %+v", err, res)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "E", "Big", "big.bin")); !bytes.Equal(got, big) {
		t.Errorf("big.bin: %d bytes, not the %d on the two members", len(got), len(big))
	}
	for name, want := range map[string]string{"head.txt": "before the split\n", "tail.txt": "after the split\n"} {
		if got, _ := os.ReadFile(filepath.Join(dest, "E", "Big", name)); string(got) != want {
			t.Errorf("%s = %q", name, got)
		}
	}
	// A member of another family is refused by name.
	if _, _, err := func() (string, string, error) {
		other := filepath.Join(t.TempDir(), "other.bkf")
		b := mtftest.New()
		b.Tape(mtf.TapeHeader{MediaFamilyID: 5, MediaSequence: 2, MediaName: "Other"})
		os.WriteFile(other, b.Bytes(), 0o644)
		tr, _ := tp.FamilyTree(1, func(uint32, int) (string, error) { return other, nil })
		if len(tr.Problems) != 1 || !strings.Contains(tr.Problems[0].Error(), "not member 2 of 00000FA1") {
			return "", "", errors.New(strings.TrimSpace(tr.Problems[0].Error()))
		}
		return "", "", nil
	}(); err != nil {
		t.Errorf("a member of another family: %v", err)
	}
}

func TestFamilyCutFileFailsAlone(t *testing.T) {
	first, _, _ := writeFamily(t)
	tp, _ := Open(first)
	tr, _ := tp.FamilyTree(1, nil)
	dest := t.TempDir()
	res, err := tp.ExtractTree(context.Background(), tr, dest, nil, ExtractOptions{})
	if err == nil || !res.Incomplete || len(res.Failed) != 1 || res.Files != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	if _, err := os.Stat(filepath.Join(dest, "E", "Big", "big.bin")); !os.IsNotExist(err) {
		t.Errorf("half a file is under its name: %v", err)
	}
}

// Reading a cut file from its first member alone is refused, not short.
func TestFamilyCutFileRefusedByOpenEntry(t *testing.T) {
	first, _, _ := writeFamily(t)
	tp, _ := Open(first)
	sets, err := tp.Sets()
	if err != nil || len(sets) != 1 || len(sets[0].Entries) != 2 {
		t.Fatalf("%+v %v", sets, err)
	}
	if sets[0].Err == nil || !strings.Contains(sets[0].Err.Error(), "goes on on the next member") {
		t.Errorf("the first member's part of the set: %v", sets[0].Err)
	}
	if _, err := tp.OpenEntry(sets[0].Entries[1], ReadOptions{}); err == nil || !strings.Contains(err.Error(), "next member of the media family") {
		t.Errorf("open a cut file: %v", err)
	}
}
