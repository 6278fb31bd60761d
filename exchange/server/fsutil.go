package server

import "exbackup/internal/durable"

// writeFileAtomic replaces path with data so that a crash leaves either the
// old file or the new one.
func writeFileAtomic(path string, data []byte) error { return durable.WriteFile(path, data, 0o600) }

// syncDir makes a directory's entries durable.
func syncDir(dir string) error { return durable.SyncDir(dir) }
