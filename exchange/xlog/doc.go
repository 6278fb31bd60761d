// Package xlog is the write-ahead transaction log of the Exchange-style
// server: every change to a store is appended here, made durable with one
// fsync per Append, and only then applied to the store's bbolt files. After a
// crash, Open finds the end of the log and Replay hands the records after the
// checkpoint back to the store.
//
// # Files
//
// A log set lives in one directory (for the Information Store, mdbdata/) and
// is named after a base, "edb" by default:
//
//	edb.log       the current generation, the only file ever written
//	edb00001.log  rolled generations, fmt.Sprintf("edb%05X.log", gen); immutable
//	edb00002.log  …
//	edb.chk       the checkpoint: the LSN through which the databases are durable
//	edb.log.tmp   a new edb.log being created (removed by Open if left over)
//	edb.chk.tmp   a checkpoint being written (removed by Open if left over)
//
// When edb.log reaches Options.MaxFileSize it is renamed to its generation's
// name and a new edb.log with the next generation is created, by writing it
// under a temporary name and renaming it into place, so edb.log is never seen
// half-made. A crash between the two renames leaves no edb.log; Open creates
// it then.
//
// # Format
//
// All integers are little-endian. CRCs are CRC-32C (Castagnoli).
//
// Each log file starts with a 48-byte header:
//
//	0   8  magic "EXBLOG\r\n"
//	8   4  format version, 1
//	12  4  generation, from 1
//	16  8  first LSN: the LSN the file's first record has or will have
//	24  16 log-set signature, random when the set is created, the same in
//	       every file of the set, so logs of another lineage are refused
//	40  4  reserved, zero
//	44  4  CRC of bytes 0..43
//
// Records follow back to back until the end of the file:
//
//	0   4  payload length n, at most MaxPayload
//	4   8  LSN
//	12  n  payload
//	12+n 4 CRC of the length, the LSN and the payload
//
// LSNs are global to the set: they start at 1 and increase by exactly one per
// record, across generations, so a file's first LSN is one more than the last
// LSN of the generation before it. An empty generation is allowed.
//
// The checkpoint file edb.chk is 24 bytes: magic "EXBCHK\r\n", LSN (8),
// generation (4), CRC of the first 20 bytes (4). It is replaced atomically.
//
// # Damage
//
// A record that is not whole (it runs past the end of the file, or its CRC
// is wrong) is a torn tail if no well-formed record follows it anywhere in
// the file: that is what a crash during an append leaves, and Open truncates
// it away (those records were never acknowledged). Anything else — a bad
// record with a valid one after it, an LSN out of sequence, a bad header, a
// generation missing in the middle of the set — is corruption, reported as a
// *DamageError or an error wrapping ErrCorrupt, ErrMissingGeneration or
// ErrSignature, naming the file and the byte offset. Reading never trusts a
// length: no allocation exceeds MaxPayload nor the bytes left in the file.
package xlog
