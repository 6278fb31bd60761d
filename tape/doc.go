// Package tape holds exbackup's tape drives and tape library: file tapes,
// each one .bkf file in the Microsoft Tape Format (package tape/mtf), kept
// in a library folder.
//
// A Library lists, creates (NT Backup's Replace), opens and erases tapes by
// name; names are free text ("Tape created on 11/25/2026") mapped one to one
// to safe file names by FileName. A Tape gives its TAPE header (Info), its
// sets (Scan, Sets, Set), a SetWriter to append a set (AppendSet), a reader
// for one entry's data (OpenEntry) and a Verify pass.
//
// One backup writes one set per store: AppendSet, then BeginVolume with the
// store's device (`\\SERVER\Microsoft Information Store`) and machine, then
// AddFile for each of its files, then End. End writes the ESET, flushes and
// fsyncs: only then is the set complete. A set left without its ESET by
// Abort (a cancel, a failed read, a full disk), which keeps only whole
// blocks, lists as SetAborted; a set the tape file ends inside of, in the
// middle of a block (a file cut short, a writer killed mid-block), lists as
// SetDamaged with EndsAt, the byte the file ends at. Neither is restorable;
// the next AppendSet writes over either, with its number. The restricted-access
// flag and free properties live in the set's EXBS stream, the owner in the
// SSET user name (see tape/mtf for the layout and exbackup's streams).
//
// Integrity: each file's digest (BLAKE3; SHA-256 on the first tapes) and
// CRC-32C are recorded on tape beside the MTF CSUM. OpenEntry checks CSUM,
// CRC-32C and digest (ReadOptions.Fast skips the digest) and Verify
// re-reads a whole set; listing a set checks
// its metadata digest. A mismatch is an error naming the tape, set and file.
//
// File tapes have no hardware compression (Capabilities). At most one set
// writer works on a tape at a time (ErrBusy).
package tape
