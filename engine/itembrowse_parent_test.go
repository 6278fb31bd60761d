package engine

import (
	"fmt"
	"reflect"
	"testing"

	"exbackup/exchange"
)

// parentlessStore lists the public folder General/Sub but not General,
// and, as the server's offline store does, refuses to list the posts of
// a folder it does not hold.
type parentlessStore struct{ *fakeItemStore }

func (s parentlessStore) Posts(folder string) ([]exchange.ItemSummary, error) {
	for _, f := range s.public {
		if f.Path == folder {
			return s.posts[folder], nil
		}
	}
	return nil, fmt.Errorf("there is no public folder %s in the backup", folder)
}

// A parent folder the store does not hold itself browses as its
// subfolders, and a search walks past it.
func TestItemsParentFolderNotInStore(t *testing.T) {
	st := newFakeItemStore(1)
	st.public = []exchange.FolderSummary{{Path: "General/Sub", Messages: 1, Size: 100}}
	st.posts = map[string][]exchange.ItemSummary{"General/Sub": {{ID: 9, From: "alice", Subject: "Notice", Date: day, Size: 100}}}
	it := &Items{Tape: "T", Set: 1, store: parentlessStore{st}}
	got, err := it.Browse("Public Folders/General")
	if err != nil || !reflect.DeepEqual(names(got), []string{"Public Folders/General/Sub"}) {
		t.Fatalf("Browse(General) = %q, %v", names(got), err)
	}
	found, err := it.Search(ItemFilter{Subject: "notice"})
	if err != nil || !reflect.DeepEqual(names(found), []string{"Public Folders/General/Sub/#9"}) {
		t.Fatalf("Search = %q, %v", names(found), err)
	}
}
