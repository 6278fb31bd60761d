package catalog

import (
	"encoding/json"
	"strconv"
)

// entrySlab hands out the keys and JSON values of a set's entries from
// large buffers: bbolt keeps each key and value until the transaction
// commits, and a set may hold hundreds of thousands of entries.
type entrySlab struct {
	buf []byte
}

const entrySlabSize = 1 << 20

// take returns b's bytes copied into the slab.
func (s *entrySlab) take(b []byte) []byte {
	if len(s.buf)+len(b) > cap(s.buf) {
		s.buf = make([]byte, 0, max(entrySlabSize, len(b)))
	}
	start := len(s.buf)
	s.buf = append(s.buf, b...)
	return s.buf[start:len(s.buf):len(s.buf)]
}

// appendEntryJSON appends e as json.Marshal encodes it (the fields in
// order, zero ones left out as their omitzero tags say), without its
// reflection.
func appendEntryJSON(b []byte, e Entry) []byte {
	b = append(b, '{')
	first := true
	field := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	if e.Volume != "" {
		field("Volume")
		b = appendJSONString(b, e.Volume)
	}
	if e.Path != "" {
		field("Path")
		b = appendJSONString(b, e.Path)
	}
	if e.Size != 0 {
		field("Size")
		b = strconv.AppendInt(b, e.Size, 10)
	}
	if e.FLA != 0 {
		field("FLA")
		b = strconv.AppendUint(b, e.FLA, 10)
	}
	if e.Hash != "" {
		field("Hash")
		b = appendJSONString(b, e.Hash)
	}
	if e.Member != 0 {
		field("Member")
		b = strconv.AppendUint(b, uint64(e.Member), 10)
	}
	return append(b, '}')
}

// appendJSONString appends s quoted: as it is when it holds nothing JSON
// or json.Marshal would escape, else as json.Marshal writes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
