package tape

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// extractBytes is the size of the set BenchmarkExtract extracts: 256 MiB
// unless EXBACKUP_EXTRACT_BYTES says otherwise.
func extractBytes() int64 {
	if v, err := strconv.ParseInt(os.Getenv("EXBACKUP_EXTRACT_BYTES"), 10, 64); err == nil && v > 0 {
		return v
	}
	return 256 << 20
}

// BenchmarkExtract extracts a set of four files (extractBytes in all) to
// a folder on the same disk: each file read from the tape, checked (CSUM,
// CRC-32C, BLAKE3), written under a temporary name, synced and renamed.
// scripts/bench-extract.sh sets it beside dd copying as many bytes. With
// EXBACKUP_BENCH_DROP_CACHES=1 each timed pass starts with the page cache
// emptied, the tape then coming from the disk.
func BenchmarkExtract(b *testing.B) {
	dir := benchDir(b)
	l, err := OpenLibrary(filepath.Join(dir, "tapes"))
	if err != nil {
		b.Fatal(err)
	}
	tp, err := l.Create("bench", CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	total := extractBytes()
	w, err := tp.AppendSet(SetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	w.BeginVolume("C:", "BENCH")
	for i := range 4 {
		if _, err := w.AddFile(fmt.Sprintf("data/part%d.bin", i), total/4, when, newPatternReader(total/4)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := w.End(); err != nil {
		b.Fatal(err)
	}
	tr, err := tp.Tree(1)
	if err != nil {
		b.Fatal(err)
	}
	// One untimed pass: the tape comes into the page cache as dd's file
	// does in the script.
	dest := filepath.Join(dir, "out")
	if _, err := tp.ExtractTree(context.Background(), tr, dest, nil, ExtractOptions{}); err != nil {
		b.Fatal(err)
	}
	settle()
	b.SetBytes(total / 4 * 4)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		os.RemoveAll(dest)
		settle()
		if os.Getenv("EXBACKUP_BENCH_DROP_CACHES") == "1" && !dropCaches() {
			b.Fatal("cannot drop the page cache: EXBACKUP_BENCH_DROP_CACHES=1 needs root on Linux")
		}
		b.StartTimer()
		res, err := tp.ExtractTree(context.Background(), tr, dest, nil, ExtractOptions{})
		if err != nil || res.Files != 4 {
			b.Fatalf("%v %+v", err, res)
		}
	}
}
