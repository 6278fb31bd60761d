package exchange

import (
	"fmt"
	"time"
)

// Items: single mailboxes, folders, messages and posts of an Information
// Store, as a set recovered from tape shows them (browse, export) and as
// they go back into a live store (item-level restore).

// MailboxSummary is one mailbox of a store.
type MailboxSummary struct {
	Recipient        // alias, display name, server
	Folders   int    `json:"folders"`
	Messages  int    `json:"messages"`
	Size      int64  `json:"size"`
	Address   string `json:"address,omitempty"` // alias@first domain, when the store knows one
}

// FolderSummary is one folder of a mailbox, or a public folder.
type FolderSummary struct {
	Path     string `json:"path"` // "Inbox", "Projects/2026"; "/" separates levels
	Messages int    `json:"messages"`
	Size     int64  `json:"size"`
}

// ItemSummary is one message of a mailbox folder or one post of a public
// folder: what a list shows and a search filters on.
type ItemSummary struct {
	// ID is the message's UID in its folder, or the post's LSN in pub.edb.
	ID          uint64    `json:"id"`
	MessageID   string    `json:"messageID,omitempty"` // without angle brackets
	Date        time.Time `json:"date"`                // the Date: field, else the date it was stored
	Received    time.Time `json:"received"`            // when the store took it (IMAP's internal date)
	From        string    `json:"from"`                // as shown: "Name <addr>" or addr
	To          []string  `json:"to,omitempty"`
	Subject     string    `json:"subject"`
	Size        int64     `json:"size"`
	Flags       []string  `json:"flags,omitempty"`       // IMAP flags: \Seen, \Flagged, …
	Attachments []string  `json:"attachments,omitempty"` // file names, in order
	SHA256      string    `json:"sha256,omitempty"`      // of the RFC 5322 bytes
}

// ImportMessage is one message to put back into a live mailbox folder,
// with its exact RFC 5322 bytes, its flags and its internal date.
type ImportMessage struct {
	Mailbox string    `json:"mailbox"` // alias
	Folder  string    `json:"folder"`  // created (with its parents) when missing
	Data    []byte    `json:"data"`
	Flags   []string  `json:"flags,omitempty"`
	Date    time.Time `json:"date"` // internal date
}

// ImportRequest is one batch of an item-level restore. The server applies
// it online, through its log like any other change: mailboxes named in
// Create that do not exist are created first (their Directory entries
// recreated from the backup); then each message goes into its folder
// unless the folder already holds one with the same Message-ID and the
// same bytes, and each post into its public folder unless an equal post
// is there.
type ImportRequest struct {
	Create   []Recipient     `json:"create,omitempty"`
	Messages []ImportMessage `json:"messages,omitempty"`
	Posts    []Post          `json:"posts,omitempty"`
}

// MaxImportBytes bounds the message data (the sum of ImportMessage.Data)
// of one ImportRequest: a batch is one log record of the store, and goes
// over the API as one JSON body (exchange/wire's limit for POST /v1/items
// leaves room for base64 and the other fields). A restore sends a larger
// folder in several batches. A batch of a single message may hold up to
// MaxImportMessage, more than the store's mail front ends take in (25 MiB),
// so that every message a store holds can go back.
const (
	MaxImportBytes   = 16 << 20
	MaxImportMessage = 32 << 20
)

// ImportTooLarge says why a batch is too large for one request, or ""
// when it is not: clients and servers check the same rule.
func ImportTooLarge(req ImportRequest) string {
	var size int64
	for _, m := range req.Messages {
		size += int64(len(m.Data))
	}
	switch {
	case len(req.Messages) == 1 && size > MaxImportMessage:
		return fmt.Sprintf("message of %d MiB is larger than the %d MiB a store takes", (size+1<<20-1)>>20, MaxImportMessage>>20)
	case len(req.Messages) > 1 && size > MaxImportBytes:
		return fmt.Sprintf("the batch holds %d MiB of messages, more than the %d MiB a server takes at once: send fewer messages per batch (a message alone may have up to %d MiB)",
			(size+1<<20-1)>>20, MaxImportBytes>>20, MaxImportMessage>>20)
	}
	return ""
}

// ImportResult says what a batch did.
type ImportResult struct {
	Imported         int      `json:"imported"`           // messages and posts stored
	Duplicates       int      `json:"duplicates"`         // already there, left as they were
	FoldersCreated   []string `json:"foldersCreated"`     // "alias/Path", "Public Folders/Path"
	MailboxesCreated []string `json:"mailboxesCreated"`   // aliases
	Messages         []string `json:"messages,omitempty"` // what an administrator should read
}
