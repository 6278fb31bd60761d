package xlog

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// GenInfo describes one generation of a log set.
type GenInfo struct {
	Gen      uint32
	Path     string
	FirstLSN uint64
	Current  bool // it is edb.log
}

type genFile struct {
	GenInfo
	sig [16]byte
}

// Generations lists the log files of a set with their headers checked,
// sorted by generation, edb.log (if present) last.
func Generations(dir, base string) ([]GenInfo, error) {
	files, err := scanDir(dir, baseOr(base))
	if err != nil {
		return nil, err
	}
	out := make([]GenInfo, len(files))
	for i, f := range files {
		out[i] = f.GenInfo
	}
	return out, nil
}

func scanDir(dir, base string) ([]genFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing transaction logs: %w", err)
	}
	var files []genFile
	var cur *genFile
	for _, e := range ents {
		name := e.Name()
		gen, rolled := parseGenName(base, name)
		if !rolled && name != currentName(base) {
			continue
		}
		path := filepath.Join(dir, name)
		h, err := readHeaderFile(path)
		if err != nil {
			return nil, err
		}
		g := genFile{GenInfo{Gen: h.Gen, Path: path, FirstLSN: h.FirstLSN, Current: !rolled}, h.Signature}
		if !rolled {
			cur = &g
			continue
		}
		if h.Gen != gen {
			return nil, &DamageError{Path: path, Offset: 12, Reason: fmt.Sprintf("header says generation %d, the name says %d", h.Gen, gen)}
		}
		files = append(files, g)
	}
	slices.SortFunc(files, func(a, b genFile) int { return cmp.Compare(a.Gen, b.Gen) })
	if cur != nil {
		files = append(files, *cur)
	}
	return files, nil
}

func readHeaderFile(path string) (FileHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileHeader{}, fmt.Errorf("opening transaction log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return FileHeader{}, fmt.Errorf("transaction log %s: %w", path, err)
	}
	return readHeader(path, f, st.Size())
}

// checkChain checks that files (sorted, edb.log last) are one lineage with
// no generation missing between the first and the last.
func checkChain(dir, base string, files []genFile) error {
	for i := 1; i < len(files); i++ {
		prev, g := files[i-1], files[i]
		switch {
		case g.sig != files[0].sig:
			return errorf(ErrSignature, "transaction log %s belongs to another log set: its signature %s differs from %s of %s",
				g.Path, hex.EncodeToString(g.sig[:]), hex.EncodeToString(files[0].sig[:]), filepath.Base(files[0].Path))
		case g.Gen <= prev.Gen:
			return errorf(ErrCorrupt, "transaction log %s has generation %d, not after generation %d of %s",
				g.Path, g.Gen, prev.Gen, filepath.Base(prev.Path))
		case g.Gen != prev.Gen+1:
			return errorf(ErrMissingGeneration, "log generation %s is missing (between %s and %s)",
				genPath(dir, base, prev.Gen+1), filepath.Base(prev.Path), filepath.Base(g.Path))
		case g.FirstLSN < prev.FirstLSN:
			return errorf(ErrCorrupt, "transaction log %s starts at LSN %d, before %s (LSN %d)",
				g.Path, g.FirstLSN, filepath.Base(prev.Path), prev.FirstLSN)
		}
	}
	return nil
}

// Replay calls fn for every record with an LSN greater than after, in LSN
// order, through the rolled generations and then edb.log if present. It
// starts with the last file whose first LSN is at most after+1 and checks
// the files it needs: headers, one signature, no generation missing, every
// CRC, and LSNs without gaps within and across files. A torn tail of the
// last file ends the replay quietly; any other damage is an error. A record
// needed but in no file is ErrMissingGeneration. Replay returns the last LSN
// it saw, or after if none; an error from fn is returned as it is.
//
// On a live directory, a roll during Replay makes it fail; read only rolled
// generations there, or retry.
func Replay(dir, base string, after uint64, fn func(Record) error) (uint64, error) {
	base = baseOr(base)
	files, err := scanDir(dir, base)
	if err != nil {
		return after, err
	}
	if len(files) == 0 {
		return after, errorf(ErrMissingGeneration, "no transaction logs %s*.log in %s: LSN %d is needed", base, dir, after+1)
	}
	if after >= maxFirstLSN {
		return after, fmt.Errorf("replaying transaction logs in %s: LSN %d is out of range", dir, after)
	}
	start := -1
	for i, f := range files {
		if f.FirstLSN <= after+1 {
			start = i
		}
	}
	if start < 0 {
		first := files[0]
		if first.Gen > 1 {
			return after, errorf(ErrMissingGeneration, "log generation %s is missing: LSN %d is needed and the oldest log, %s, starts at LSN %d",
				genPath(dir, base, first.Gen-1), after+1, filepath.Base(first.Path), first.FirstLSN)
		}
		return after, errorf(ErrMissingGeneration, "LSN %d is in no transaction log in %s: the oldest, %s, starts at LSN %d",
			after+1, dir, filepath.Base(first.Path), first.FirstLSN)
	}
	files = files[start:]
	if err := checkChain(dir, base, files); err != nil {
		return after, err
	}
	last := after
	var prevEnd uint64
	for i, g := range files {
		end, err := replayFile(g, i == len(files)-1, after, &last, fn)
		if err != nil {
			return last, err
		}
		if i > 0 && g.FirstLSN != prevEnd+1 {
			return last, errorf(ErrCorrupt, "transaction log %s starts at LSN %d but %s ends at LSN %d",
				g.Path, g.FirstLSN, filepath.Base(files[i-1].Path), prevEnd)
		}
		prevEnd = end
	}
	if prevEnd < after {
		return last, errorf(ErrMissingGeneration, "transaction logs in %s end at LSN %d, before LSN %d: later logs are missing", dir, prevEnd, after)
	}
	return last, nil
}

// replayFile feeds one file's records after `after` to fn and returns the
// file's last LSN.
func replayFile(g genFile, lastFile bool, after uint64, last *uint64, fn func(Record) error) (uint64, error) {
	r, err := OpenReader(g.Path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	if h := r.Header(); h.Gen != g.Gen || h.Signature != g.sig || h.FirstLSN != g.FirstLSN {
		return 0, fmt.Errorf("transaction log %s changed while it was read (a roll?)", g.Path)
	}
	// Records at or before `after` are checked but not kept.
	var scratch []byte
	for {
		var rec Record
		if r.next > after {
			rec, err = r.Next()
		} else {
			rec, err = r.read(&scratch)
		}
		if err == io.EOF || (lastFile && errors.Is(err, ErrTorn)) {
			return r.Last(), nil
		}
		if err != nil {
			return 0, err
		}
		if rec.LSN > after {
			if err := fn(rec); err != nil {
				return 0, err
			}
			*last = rec.LSN
		}
	}
}
