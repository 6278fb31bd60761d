package mtftest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"exbackup/tape/mtf"
)

// FamilyID is the media family Family writes.
const FamilyID = 0xFA1

// Family returns the two members of a media family FamilyID, "Family 1"
// and "Family 2", written at when. Set 1 ("Spanning", drive E:, folder
// Big) starts on the first with head.txt and big.bin, the first medium
// ends inside big.bin (big is its data), and the second member takes the
// set up again (continuation SSET, VOLB, DIRB, FILE), finishes big.bin and
// ends the set with tail.txt.
func Family(big []byte, when time.Time) (first, second []byte) {
	vol := mtf.Volume{Attributes: mtf.VolumeDriveLetter, Device: "E:", WriteDate: when}
	dirb := mtf.Directory{ID: 1, Name: mtf.DirName([]string{"Big"}), Modified: when}
	sset := mtf.StartSet{Attributes: mtf.SetNormal, Number: 1, Name: "Spanning", WriteDate: when}
	head, tail := []byte("before the split\n"), []byte("after the split\n")

	m1 := New()
	m1.Tape(mtf.TapeHeader{MediaFamilyID: FamilyID, MediaSequence: 1, MediaName: "Family 1"})
	m1.Block(&sset)
	m1.Block(&vol)
	m1.Block(&dirb)
	m1.BlockHeader(mtf.Header{DisplayableSize: uint64(len(head))}, &mtf.File{DirectoryID: 1, ID: 1, Name: "head.txt", Modified: when}, Data(head))
	bigFile := &mtf.File{DirectoryID: 1, ID: 2, Name: "big.bin", Modified: when}
	k := m1.FileSplit(mtf.Header{DisplayableSize: uint64(len(big))}, bigFile, big, 3)

	m2 := New()
	m2.Tape(mtf.TapeHeader{MediaFamilyID: FamilyID, MediaSequence: 2, MediaName: "Family 2"})
	cont := mtf.Header{Attributes: mtf.BlockContinuation}
	m2.BlockHeader(cont, &sset)
	m2.BlockHeader(cont, &vol)
	m2.BlockHeader(cont, &dirb)
	m2.FileContinued(mtf.Header{DisplayableSize: uint64(len(big))}, bigFile, big, big[k:])
	m2.BlockHeader(mtf.Header{DisplayableSize: uint64(len(tail))}, &mtf.File{DirectoryID: 1, ID: 3, Name: "tail.txt", Modified: when}, Data(tail))
	m2.Filemark()
	m2.Block(&mtf.EndSet{Attributes: mtf.SetNormal, Number: 1, WriteDate: when})
	m2.Filemark()
	return m1.Bytes(), m2.Bytes()
}

// WriteFamily writes Family's members into t's temporary folder as
// family-1.bkf and family-2.bkf and returns their paths.
func WriteFamily(t testing.TB, big []byte, when time.Time) (first, second string) {
	t.Helper()
	m1, m2 := Family(big, when)
	dir := t.TempDir()
	first, second = filepath.Join(dir, "family-1.bkf"), filepath.Join(dir, "family-2.bkf")
	if err := os.WriteFile(first, m1, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(second, m2, 0o644); err != nil {
		t.Fatal(err)
	}
	return first, second
}
