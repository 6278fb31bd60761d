// Package imapd lets mail clients read the Information Store over IMAP4rev1
// (go-imap v2's imapserver) on TLS: LOGIN and AUTHENTICATE PLAIN, LIST,
// SELECT/EXAMINE, FETCH (BODY[], BODYSTRUCTURE, ENVELOPE …), SEARCH, STORE,
// EXPUNGE, the UID forms, CREATE/DELETE/RENAME, APPEND, COPY/MOVE with
// UIDPLUS answers, IDLE and NAMESPACE. A Backend that keeps public folders
// (mail.PublicFolders) has them shown to every mailbox, read only, under
// PublicRoot ("Public Folders/…", the shared namespace).
//
// Sessions that have the same folder selected share one view of it (a
// folder's message list and an imapserver.MailboxTracker); the view is
// refreshed from the Backend after a session changes the folder and whenever
// the Backend reports a change (a delivery, another client), and the
// differences become the untagged EXISTS, EXPUNGE and FETCH FLAGS each
// session receives at its next command or at once while it idles.
//
// Wrong passwords are slowed down per client address by a mail.Throttle, and
// refusals are logged as a periodic summary.
package imapd
