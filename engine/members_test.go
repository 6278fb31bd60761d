package engine

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"exbackup/catalog"
	"exbackup/tape"
	"exbackup/tape/mtf/mtftest"
)

// writeFamily writes a media family of two members; the first medium ends
// inside big.bin, tail.txt is on the second alone.
func writeFamily(t *testing.T) (first, second string) {
	t.Helper()
	big := make([]byte, 20000)
	for i := range big {
		big[i] = byte(i*31 + i/7)
	}
	first, second = mtftest.WriteFamily(t, big, time.Date(2003, 3, 4, 5, 6, 7, 0, time.UTC))
	return first, second
}

// Cataloging a family records each member as a tape, the spanning set on
// the member it starts on with every file, and each file's member.
func TestCatalogFamilyRecordsMembers(t *testing.T) {
	e, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	first, second := writeFamily(t)
	if err := e.CatalogFamily(context.Background(), first, []string{second}, NewProgress("Catalog")); err != nil {
		t.Fatal(err)
	}
	tapes, _ := e.Tapes()
	if len(tapes) != 2 || tapes[0].Sequence != 1 || tapes[1].Sequence != 2 || tapes[0].FamilyID != 0xFA1 || tapes[1].FamilyID != 0xFA1 || tapes[1].Location != second {
		t.Fatalf("tapes: %+v", tapes)
	}
	sets, _ := e.Sets(tapes[0].ID)
	if len(sets) != 1 || sets[0].Member != 1 || sets[0].LastMember != 2 || sets[0].Files != 3 || sets[0].State != "complete" || sets[0].Continued {
		t.Fatalf("the set on member 1: %+v", sets)
	}
	entries, err := e.cat.(*catalog.Catalog).Entries(sets[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	members := map[string]uint16{}
	for _, en := range entries {
		members[en.Path] = en.Member
	}
	if members["Big/head.txt"] != 0 || members["Big/big.bin"] != 0 || members["Big/tail.txt"] != 2 || len(members) != 3 {
		t.Errorf("entries' members: %v", members)
	}
	rest, _ := e.Sets(tapes[1].ID)
	if len(rest) != 1 || !rest[0].Continued || rest[0].Member != 1 {
		t.Errorf("the rest of the set on member 2: %+v", rest)
	}

	// Without --member, the catalog finds the second member.
	tr, err := e.BrowseSet(first, 1)
	if err != nil || !tr.Complete {
		t.Fatalf("browse through the catalog: %v, %+v", err, tr)
	}
	// An asker that declines stops an extraction; one that answers ends it.
	if err := os.Rename(second, second+".moved"); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	declined := WithMemberAsker(context.Background(), func(ctx context.Context, need MemberNeed) (string, error) {
		if need.Family != 0xFA1 || need.Sequence != 2 || need.Set != 1 || need.Tape != "Family 1" {
			t.Errorf("asked for %+v", need)
		}
		return "", tape.ErrMemberNotGiven
	})
	_, err = e.ExtractFiles(declined, ExtractRequest{Tape: first, Set: 1, Dir: dest}, NewProgress("Extract"))
	var me *tape.MemberError
	if !errors.As(err, &me) || !errors.Is(err, tape.ErrMemberNotGiven) || !strings.Contains(err.Error(), "needs member 2 of media family 00000FA1") {
		t.Fatalf("declined: %v", err)
	}
	if left, _ := os.ReadDir(dest); len(left) != 0 {
		t.Errorf("a declined extraction wrote %d entries", len(left))
	}
	var asked []string
	answered := WithMemberAsker(context.Background(), func(ctx context.Context, need MemberNeed) (string, error) {
		asked = append(asked, need.Problem)
		if len(asked) == 1 {
			return first, nil // the wrong member first
		}
		return second + ".moved", nil
	})
	res, err := e.ExtractFiles(answered, ExtractRequest{Tape: first, Set: 1, Dir: dest}, NewProgress("Extract"))
	if err != nil || res.Files != 3 {
		t.Fatalf("answered: %v %+v", err, res)
	}
	if len(asked) != 2 || asked[0] != "" || !strings.Contains(asked[1], "is member 1 of media family 00000FA1, not member 2") {
		t.Errorf("asked %q", asked)
	}
}
