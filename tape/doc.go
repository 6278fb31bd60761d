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
// fsyncs: only then is the set complete. A set left without its ESET (a
// crash, a full disk, Abort) lists as SetAborted and is never restorable;
// the next AppendSet writes over it, with its number. The restricted-access
// flag and free properties live in the set's EXBS stream, the owner in the
// SSET user name (see tape/mtf for the layout and exbackup's streams).
//
// Encryption: SetOptions.Encrypt names age recipients; the set gets a
// random data key wrapped for each of them in its SSET, and every file's
// data is sealed under it (an age payload; see tape/mtf), while names,
// sizes and digests stay listable. OpenEntry and Verify take a KeyProvider
// (package internal/keys gives the console's); without a usable key
// OpenEntry fails with a *KeyError ("set 2 on tape "Weekly" is encrypted:
// this console holds only the public key") and Verify checks the blocks
// and the CSUM of the encrypted data only, saying so.
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
