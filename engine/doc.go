// Package engine runs the console's jobs: backup, restore, verify,
// catalog-a-tape and erase. It joins the Exchange-style servers, the tapes
// and the catalog through the small interfaces it declares (Server,
// Library, Tape, SetWriter, Catalog): the real ones are the exchange
// client (connect.go, the only file that knows it), package tape and
// package catalog; tests pass fakes that fail on purpose.
//
// The GUI and the CLI are two faces of the same calls: each job takes a
// context to cancel it, reports through a *Progress that both poll, and
// writes the administrator's log in NT Backup's wording. The rules the
// dialogs show are the engine's too: PlanRestore for Restore Information,
// Restorable for the Tapes window, Org.CheckBackup for Backup Information,
// ParseBackupType and TypeTitle for backup types.
//
// A job that writes a tape (backup, erase, catalog) first holds it: claim
// against this process's other jobs, Library.Lock against other processes;
// then a backup asks every server it names for its state (preflight) before
// any tape is written. A Replace writes its new tape beside the old one
// (Library.Stage) and swaps it in, then its catalog records, only once all
// its sets are whole (Backup, commitReplace).
//
// A set that goes on past the end of its tape needs the next members of
// its media family (members.go): the files a request names, the cataloged
// tapes of the family still at their place, or the AskMember a job's
// context carries (WithMemberAsker). CatalogFamily records which member
// holds what.
//
// Item-level recovery (items*.go, item*.go): OpenItems reads a set of an
// Information Store and the rest of its chain from tape into items/ of
// the home, through the checked reads a restore uses, and has the
// Recoverer that app passes in (exchange/server's offline recovery)
// recover and open it read-only; a stamp written last makes the copy
// reusable. Items browses, searches and opens its mailboxes, folders,
// messages and posts by path; RestoreItems sends chosen ones in batches
// through Server.ImportItems into the running store; ExportItems writes
// .eml or mboxrd files.
package engine
