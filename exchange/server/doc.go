// Package server is the Exchange-style server that exbackup backs up
// (exserver): its two services, their stores and transaction logs, the
// online backup and restore sessions, and the HTTPS API that offers them
// (NewHandler serves any exchange.Node; Server is the real one).
//
// An organization has sites; a site has servers; each server runs two
// services, the Directory (DS: dsadata/dir.edb) and the Information Store
// (IS: mdbdata/priv.edb and mdbdata/pub.edb). Each .edb is a bbolt file.
// Every change is first appended to its store's write-ahead transaction log
// (package xlog: edb.log, rolled into generations edbXXXXX.log, checkpoint
// edb.chk), then applied to bbolt together with its LSN in one bbolt
// transaction. Starting a service replays the logs after the checkpoint.
//
// The online backup and restore API mirrors Exchange 5.5's HrBackupPrepare …
// HrBackupEnd and HrRestorePrepare … HrRestoreEnd: databases stream as
// consistent snapshots while mail keeps flowing. A restore stages its sets,
// one session each, and the store stays restore-pending; as in Exchange
// 5.5 the chain's recovery runs when the service starts (Start Service
// After Restore, StartService, or the server's next start): hard recovery,
// a roll-forward through the logs already on the server unless the chain
// began with Erase, and only then the swap of the live files. A session
// whose set fails, or whose console goes away or sends nothing for
// restoreIdle, is aborted and its files cleared: the marker is as it was
// before that set, and the service can start at once. A service under a
// running backup refuses to stop.
//
// Restored databases are written with direct I/O and so are not in the
// page cache when the start opens them; bbolt maps them with MADV_RANDOM,
// one read per faulted page. boltOpen first reads the freelist bbolt loads
// at open in large reads (prefetch.go), and the files a swap retired are
// deleted only after the store has opened (removeRetired), as freeing
// their blocks keeps the disk busy.
//
// Server implements exchange.Node locally, the handler serves it over
// HTTPS, and package client speaks it remotely, with the organization's
// access key on every request and the server's certificate fingerprint
// pinned. The server dials the other servers of its organization with that
// client too, to pass server objects on.
//
// # Item-level recovery
//
// RecoverOffline recovers the files of a chain's sets of an Information
// Store, staged in a folder of their own, with the same hard recovery a
// staged restore runs (hardRecovery), and opens the result read-only as an
// OfflineStore: mailboxes, folders, messages and posts to browse and
// export, with no server involved. Listings read a summary index written
// at the end of the recovery (items.idx), never the databases, whose
// mapped pages would count in the reader's memory; recovered.json marks a
// folder finished and locates the index; ReopenOffline opens it again. ImportItems puts a batch of messages and
// posts back into the running store: the batch is one log record
// (items.import; post.import per post) whose apply skips what the folder
// already holds, so replay imports exactly what the live server did.
//
// # Clients without the key
//
// The handler compares the key before it reads anything of a body, and
// answers a request without it at once, closing the connection. The
// listener (connLimiter) bounds the connections that have not yet made an
// authenticated request, per client address and in all, and closes one
// that has not within Limits.AuthWithin; all connections together stay
// below the file limit. Failed attempts are throttled per address
// (authThrottle: a token bucket; 429 with Retry-After) and logged in
// summary (refusalLog). Bodies must arrive at a minimum rate
// (bodyDeadline), never under a total deadline: a restore uploads whole
// databases.
//
// # Files
//
// A server's data folder:
//
//	server.json        Config: organization, site, name, access key
//	run.json           RunInfo, while the server serves
//	tls/cert.pem       the self-signed certificate (fingerprint pinned by consoles)
//	tls/key.pem
//	dsadata/           the Directory: dir.edb, its logs edb*.log, edb.chk, backup.json
//	mdbdata/           the Information Store: priv.edb, pub.edb, their shared logs
//
// beside which a store may hold restore.json and restore-*/ (a staged
// restore: its marker and staging folder), retired-* (files being deleted)
// and logs-before-restore-* (logs a recovery could not roll forward
// through, kept aside).
//
// # Schema of the .edb files
//
// Each .edb is one bbolt file. Values are JSON of the exchange types, with
// their json tags; keys named <lsn> are the big-endian uint64 LSN of the
// log record that wrote the value, so a folder walks in delivery order and
// replaying a record rewrites the same key.
//
//	dir.edb
//	  meta
//	    applied                 → uint64: LSN of the last record applied
//	    schema                  → uint64: the schema version (1); absent from older files: 1
//	  org
//	    name                    → the organization's name
//	  sites
//	    <site>                  one bucket per site
//	      <server>              → ServerInfo
//	  recipients
//	    <alias>                 → Recipient
//
//	priv.edb
//	  meta                      applied, schema: as in dir.edb
//	  mailboxes
//	    <alias>                 one bucket per mailbox
//	      info                  → Recipient
//	      folders
//	        <folder>            Inbox, Outbox, Sent Items, Deleted Items, Calendar, Contacts, …
//	          <lsn>             → Message
//
//	pub.edb
//	  meta                      applied, schema: as in dir.edb
//	  folders
//	    <path>                  one bucket per public folder
//	      <lsn>                 → Post
//
// # Versions
//
// A file without meta/schema is of version 1, the schema above. Opening a
// database writable records the version it is written in; a file of a
// version newer than this server knows is refused, naming the file and
// its version, and is left as it is.
package server
