package engine

import (
	"io"

	"exbackup/tape"
)

// fileLibrary is the tape library of .bkf files as the engine's Library.
type fileLibrary struct{ lib *tape.Library }

func (l fileLibrary) Open(name string) (Tape, error) { return fileTapeOf(l.lib.Open(name)) }

func (l fileLibrary) OpenPath(path string) (Tape, error) { return fileTapeOf(tape.Open(path)) }

func (l fileLibrary) Create(name string, o tape.CreateOptions) (Tape, error) {
	return fileTapeOf(l.lib.Create(name, o))
}

func (l fileLibrary) Stage(name string, o tape.CreateOptions) (StagedTape, error) {
	t, err := l.lib.Stage(name, o)
	if err != nil {
		return nil, err
	}
	return fileTape{t}, nil
}

func (l fileLibrary) Lock(name, job string) (func(), error) { return l.lib.Lock(name, job) }

func (l fileLibrary) Erase(name string) error { return l.lib.Erase(name) }

func (l fileLibrary) Dir() string { return l.lib.Dir() }

func fileTapeOf(t *tape.Tape, err error) (Tape, error) {
	if err != nil {
		return nil, err
	}
	return fileTape{t}, nil
}

// fileTape is a .bkf tape as the engine's Tape.
type fileTape struct{ *tape.Tape }

func (t fileTape) AppendSet(o tape.SetOptions) (SetWriter, error) {
	w, err := t.Tape.AppendSet(o)
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (t fileTape) OpenEntry(e tape.Entry, o tape.ReadOptions) (io.ReadCloser, error) {
	r, err := t.Tape.OpenEntry(e, o)
	if err != nil {
		return nil, err
	}
	return r, nil
}
