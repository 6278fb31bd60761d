// Package engine runs the console's jobs: backup, restore, verify,
// catalog-a-tape and erase. It joins the Exchange-style servers (through the
// exchange client), the tapes (package tape) and the catalog. The GUI and the
// CLI are two faces of the same calls: each job takes a context to cancel
// it, reports through a *Progress that both poll, and writes the
// administrator's log in NT Backup's wording.
package engine
