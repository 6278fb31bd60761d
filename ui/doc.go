// Package ui is the console's Fyne face: NT Backup's main window with its two
// inner windows (Microsoft Exchange: the organization tree with check boxes;
// Tapes: tapes and their sets, another program's file set as folders
// with check boxes, and a store set as mailboxes, folders and messages
// with check boxes), its menus and toolbar, and its dialogs
// (Microsoft Exchange…, Backup Information, Restore Information, the status
// dialogs and the confirmations).
//
// It holds no business logic: every job goes through the Engine interface
// declared in engine.go, and the rules the dialogs check before a job starts
// are only those an administrator sees on the form (the engine checks them
// again). Work that may block — the organization, the catalog, the jobs —
// runs in goroutines and comes back to widgets through Console.do (fyne.Do),
// a few times a second at most.
//
// The menu items that act are enabled only when they can: none while a
// dialog is up, and the service items by the selected store's state
// (Console.updateMenuItems, run on every change of either); items that
// need a selection elsewhere explain what to select when chosen.
//
// Files: console.go (main window, menus, toolbar, status bar), mdi.go (the
// inner windows), orgindex.go and exchange.go (the tree and its index),
// tapesmodel.go, tapes.go and columns.go (the Tapes window, its columns
// sized to their text), filetree.go (a file set's folders under its row,
// with their index and ticks) and extract.go (Restore Information for those
// files: an alternate folder), member.go (Insert Next Tape: the .bkf file
// of the next member of a media family, asked for by a job),
// items.go (a store set's mailboxes, folders
// and messages under its row, read branch by branch, and their search),
// ticks.go (tri-state ticks of a tree read lazily), itemviewer.go (a
// message, read-only, in a window of its own) and itemjobs.go (Restore
// Information and Export to Folder for ticked items), connect.go, backup.go and backupsets.go
// (Backup Information, one row per set), restore.go and status.go (the
// dialogs and the job runner), ops.go (Verify, Catalog, Erase Tape, About),
// service.go (Start Service, Stop Service with its offer to wait for a
// streaming backup, Cancel Restore, and storeActions: what the selected
// store's state allows, which enables them in the tree's context menu and
// in the Operations menu alike),
// modal.go (dialog frame fitted to the window, confirmations, form
// helpers), dlgwidgets.go (keyboard-aware dialog
// widgets), theme.go, icons.go, format.go, quitguard.go (ShowAndRun and
// the guard against a run loop that hangs at quit), screenshots.go and
// capture_*.go (Console.Screenshots, built in only with -tags screenshots
// or the tests' ci tag; screenshots_disabled.go stands in otherwise).
package ui
