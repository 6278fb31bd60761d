package catalog

import (
	"encoding/binary"
	"math"
	"strings"
	"time"
)

var (
	bucketMeta        = []byte("meta")
	bucketTapes       = []byte("tapes")
	bucketSets        = []byte("sets")
	bucketEntries     = []byte("entries")
	bucketSetsByTape  = []byte("sets-by-tape")
	bucketSetsByStore = []byte("sets-by-store")

	keyVersion = []byte("version")
)

func idKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), id)
}

// tapeSetKey is a sets-by-tape key: a cursor walks a tape's sets by number.
func tapeSetKey(tapeID uint64, number int, setID uint64) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 24), tapeID)
	k = binary.BigEndian.AppendUint64(k, uint64(number))
	return binary.BigEndian.AppendUint64(k, setID)
}

// storePrefix starts the sets-by-store keys of one store of one server.
// Server names are NetBIOS names, which ignore case, and are often written
// \\EXCH01: both spellings must find the same backups.
func storePrefix(server, store string) []byte {
	server = strings.ToUpper(strings.TrimLeft(server, `\`))
	store = strings.ToUpper(store)
	k := make([]byte, 0, len(server)+len(store)+2+16)
	k = append(k, server...)
	k = append(k, 0)
	k = append(k, store...)
	return append(k, 0)
}

func storeKey(server, store string, created time.Time, setID uint64) []byte {
	k := storePrefix(server, store)
	k = binary.BigEndian.AppendUint64(k, timeKey(created))
	return binary.BigEndian.AppendUint64(k, setID)
}

var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// timeKey orders times as unsigned big-endian keys. UnixNano is undefined
// outside 1678–2262, so such dates are clamped; flipping the sign bit puts
// dates before 1970 before the later ones.
func timeKey(t time.Time) uint64 {
	switch {
	case t.Before(minNanoTime):
		return 0
	case t.After(maxNanoTime):
		return math.MaxUint64
	}
	return uint64(t.UnixNano()) ^ 1<<63
}
