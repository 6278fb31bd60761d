package client

import "errors"

// chunkFunc adapts a function to wire.ChunkReader.
type chunkFunc func() ([]byte, uint32, error)

func (f chunkFunc) ReadChunk() ([]byte, uint32, error) { return f() }

func (f chunkFunc) Read([]byte) (int, error) {
	return 0, errors.New("a chunk source is read by its chunks")
}

// readerFunc adapts a function to io.Reader.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
