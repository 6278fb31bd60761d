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
// writer works on a tape at a time (ErrBusy), across processes too: a
// writer, a Replace and an erase hold an flock on the tape's lock file
// ".NAME.bkf.lock" beside it (lock.go; Lock holds a tape for a whole job,
// and a tape another process holds is refused at once with a BusyError
// naming its pid and host). The kernel drops the lock when its process
// dies.
//
// A Replace never destroys the old tape before the new one is whole: Stage
// writes the new tape at ".NAME.bkf.new" (hidden from List), its sets are
// appended there, and Commit renames it over the old file and syncs the
// folder; Discard removes it and leaves the old tape as it was.
//
// # Files of any set
//
// Any set of any MTF tape (NT Backup's, Backup Exec's, ours) can be seen as
// folders and its files extracted one by one. Tree reads a set's blocks
// into a Tree: its volumes ("C:", `\EXCH01\Microsoft Information Store`),
// folders and files, each Node with its kind, size, modification time and
// the offset of its block; Browse(path) lists a folder's children (one
// Child each, Child.String being the line `exbackup browse` prints) and
// Lookup finds a node, both through a map per folder. QuickTree and
// QuickScan read the tape's media based catalog instead of its blocks when
// it has one; QuickScan gives exbackup's sets their files' digests from the
// digest table beside the catalog, and reads the blocks, saying why
// (Listing.Fallback), when a set of ours has none or one that does not
// check out.
//
// ExtractTree (Extract, from a set number) writes the chosen items under a
// folder, the volume first (DIR/C/Documents/report.doc). It creates every
// folder and file by descriptor (openat with O_NOFOLLOW): a symbolic link
// already under the folder is never followed and no name climbs out of it.
// Each file goes to a temporary name, is synced, gets its times, and is
// renamed into place only once its checks (CSUM, and CRC-32C and digest on
// our tapes) passed. Names Linux cannot hold are mapped reversibly
// (DiskName, TapeName) and reported. A file already there is skipped,
// overwritten or kept beside (Existing). What the file's streams hold is
// sorted by mtf.Block.Content: plain data, LZS-compressed frames, sparse
// extents (written with their holes), alternate data streams (extracted
// only when asked) and NT streams of no file content (left out). A damaged
// file is named in ExtractResult.Failed with its tape, set, path and
// offset, damaged regions the walk skipped are in Lost, everything else is
// extracted, and the result says it is incomplete.
//
// A set that goes on past the end of its medium (a media family of
// several .bkf files) is read by FamilyTree, which asks a NextMember for
// each next member by family id and sequence (CheckMember tells a file
// that is not it, by name). A member not found is a *MemberError among
// the tree's Problems; a NextMember returning ErrMemberNotGiven (the
// administrator's Cancel) stops the walk. Tree.Members and Entry.Member
// say which member holds what.
//
// Each set exbackup writes on a tape created since the media based catalog
// came (the TAPE block says catalog type 1) ends with one: VerifyCatalog
// and Verify check it, and the digest table, against the blocks.
package tape
