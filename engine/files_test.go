package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBrowseAndExtractForeignTape(t *testing.T) {
	e, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	fixture := filepath.Join("..", "tape", "mtf", "testdata", "foreign-2001.bkf")
	tr, err := e.BrowseSet(fixture, 2)
	if err != nil {
		t.Fatal(err)
	}
	kids, err := tr.Browse("C:/docs2")
	if err != nil || len(kids) != 2 {
		t.Fatalf("browse: %+v %v", kids, err)
	}
	var lines []string
	for _, k := range kids {
		lines = append(lines, k.String())
	}
	if !strings.Contains(strings.Join(lines, "\n"), "3001  big.bin") {
		t.Errorf("listing:\n%s", strings.Join(lines, "\n"))
	}
	dest := t.TempDir()
	p := NewProgress("Extract")
	res, err := e.ExtractFiles(context.Background(), ExtractRequest{Tape: fixture, Set: 2, Dir: dest, Items: []string{`C:\docs2\hello.txt`}}, p)
	if err != nil || res.Files != 1 {
		t.Fatalf("extract: %v %+v", err, res)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "C", "docs2", "hello.txt")); string(got) != "Hello from set 2\n" {
		t.Errorf("hello.txt = %q", got)
	}
	if s := p.Snapshot(); !s.Done || s.Err != nil || s.Files != 1 || s.Bytes != 17 || s.TotalBytes != 17 {
		t.Errorf("progress %+v", s)
	}
	if _, err := e.ExtractFiles(context.Background(), ExtractRequest{Tape: fixture, Set: 9, Dir: dest}, nil); err == nil || !strings.Contains(err.Error(), "set 9") {
		t.Errorf("a set not on tape: %v", err)
	}
}
