// Package exchange is the Exchange-style server that exbackup backs up, and
// its Go client.
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
// consistent snapshots while mail keeps flowing; restores stage files, run
// hard recovery, optionally roll forward through the logs already on the
// server, and only then swap the live files.
//
// The Node interface is what a server offers; Server implements it locally,
// the HTTPS handler serves it and Client speaks it remotely, with the
// organization's access key on every request and the server's certificate
// fingerprint pinned.
package exchange
