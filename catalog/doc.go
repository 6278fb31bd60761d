// Package catalog is the bbolt catalog of tapes, backup sets and the files
// in them. It is a cache of the tapes: cataloging a tape rebuilds its records
// from the tape alone (ReplaceTape), and must give the records the backup
// wrote (EqualRecords). The command line lists it (exbackup tapes), the
// Tapes window browses it, and restores ask it for restore chains (ChainFor).
//
// # Schema
//
// The catalog lives in one bbolt file, catalog.db. Integer keys are
// big-endian uint64 drawn from the bucket's NextSequence, so cursors walk in
// id order. Values are JSON with the Go field names of Tape, Set and Entry;
// zero fields are left out.
//
//	meta
//	  version                        → uint64: the schema version (3)
//	tapes                            (sequence: the last tape id)
//	  <tape id>                      → Tape
//	sets                             (sequence: the last set id)
//	  <set id>                       → Set
//	entries
//	  <set id>                       one bucket per set (sequence: the last entry)
//	    <n>                          → Entry, n = 1, 2, … in the order of the tape
//	sets-by-tape
//	  <tape id><set number><set id>  → (empty)
//	sets-by-store                    (schema 2)
//	  SERVER 0x00 STORE 0x00 <created><set id>  → (empty)
//
// Each <…> is a big-endian uint64. sets-by-tape walks a tape's sets by
// number without reading the others; a tape is written front to back, so a
// new set numbered N replaces the tape's sets from N on. In sets-by-store
// the server and store are upper-cased (and the server's leading \\
// dropped), and <created> is the set's creation time in Unix nanoseconds
// with the sign bit flipped, so that one prefix walks one store's backups in
// time order; ChainFor walks it backwards from the newest and stops at the
// latest full backup. Foreign sets (not written by exbackup) cannot be
// restored by it and have no rows there.
//
// # Versions
//
// Open applies the missing migrations of migrations.go in order, one
// transaction each, and refuses a catalog written by a newer exbackup.
//
// # Damage
//
// Open checks the file before bbolt maps it, from a copy read with plain
// reads (pages.go): both meta pages (checksums, consecutive transaction
// ids: a meta page bbolt would silently pass over counts as damage), the
// file's size against the high-water mark, the freelist, and every page of
// every bucket. Then bbolt's tx.Check and a decode of every record and
// index row run in a read transaction, and the first write (the
// migrations) runs with its panics recovered. Any failure is a
// *DamageError; nothing is mapped that could fault, and a fault or panic
// that gets through becomes one too. OpenOrReset moves a damaged file aside
// (catalog.db.damaged-YYYYMMDD-HHMMSS) and starts an empty catalog, which
// the engine rebuilds from the tapes. bbolt runs with NoFreelistSync: the
// freelist is rebuilt from the tree at open instead of trusted from disk.
//
// Each Tape records its file's size and modification time (File) as they
// were when its records last matched the file, so that the engine can tell
// at open which tapes changed behind the catalog and catalog them again.
// A damaged Set says what is wrong in Damage.
//
// Media families (schema 3): each .bkf file of a family is a Tape of its
// own, with the family id, its sequence and its path. A Set records the
// member it starts on (Member, its tape's sequence, which migration 3 gave
// the sets cataloged before) and, when it goes on past the end of its tape,
// the member it ends on (LastMember); its entries then come from all the
// members, each Entry naming the member its file starts on when that is
// not the set's first. The rest of such a set on a later member is
// recorded there too, marked Continued. An extract finds the members from
// the tapes of the family whose files are still at their place.
//
// A Set made with encryption has Encrypted set (a field added without a
// migration: a Set written before it reads as not encrypted, and cataloging
// the tape again fills it in from the set's SSET). The catalog keeps no key
// and no key material; only the tape does, wrapped for its recipients.
//
// # Consistency
//
// Every change is one bbolt transaction: a set is never listed without its
// entries and index rows, a deleted tape takes its sets, entries and index
// rows with it, and a crash leaves the catalog as it was before or after the
// change. Values returned are copies: none alias bolt's memory map, so they
// outlive the transaction and the Catalog. A Catalog may be used from several
// goroutines; readers do not block each other nor the writer.
package catalog
