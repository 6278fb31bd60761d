// Package mail is what the server's mail front ends share: the Backend they
// need of the Information Store and the Directory, the metadata parser that
// turns RFC 5322 bytes into the fields a store indexes, password hashing for
// the Directory, and the guards every listener uses (bounded connections,
// throttled wrong passwords).
//
// The front ends live beside it: package smtpd receives mail for the
// organization's mailboxes (go-smtp), package imapd lets mail clients read,
// flag, move and delete it (go-imap v2). Neither knows the store: each takes a
// Backend, so the store implements one small interface and starts both
// listeners, and the unit tests run them against an in-memory Backend.
//
// A Backend may also keep the organization's public folders
// (PublicFolders), which every mailbox reads and none changes over IMAP.
//
// Folder names are paths with Delim between levels, as the store keeps them
// ("Inbox", "Sent Items", "Projects/2026"); the store's "Inbox" is IMAP's
// INBOX. Flags are IMAP's spelling ("\Seen", "\Deleted", or a keyword).
package mail
