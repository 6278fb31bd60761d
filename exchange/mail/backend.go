package mail

import (
	"context"
	"errors"
	"time"
)

// Delim separates the levels of a folder path.
const Delim = '/'

// Inbox is the folder new mail is delivered to.
const Inbox = "Inbox"

// UID identifies a message within one folder for as long as the folder keeps
// its UIDValidity: UIDs only grow and are never reused.
type UID uint32

// System flags, spelt as IMAP spells them; anything else is a keyword.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
)

// FlagOp says how SetFlags changes a message's flags.
type FlagOp int

const (
	FlagsReplace FlagOp = iota // the flags become exactly the given ones
	FlagsAdd
	FlagsRemove
)

// FolderInfo is one folder of a mailbox, as LIST shows it.
type FolderInfo struct {
	Name        string // full path
	UIDValidity uint32
	UIDNext     UID
	Messages    int
}

// MessageInfo is what a folder listing holds of each message: enough to
// number messages, show flags and sizes and answer searches on them without
// reading the message itself.
type MessageInfo struct {
	UID          UID
	Flags        []string
	InternalDate time.Time // when the store received it
	Size         int64     // of the RFC 5322 bytes
}

// Folder is a snapshot of one folder: its identity and its messages in UID
// order.
type Folder struct {
	FolderInfo
	List []MessageInfo
}

// Delivery is one message accepted by SMTP for one or more mailboxes.
type Delivery struct {
	From       string    // envelope sender (MAIL FROM); empty for the null sender
	Mailboxes  []string  // aliases, as Resolve answered them, without repeats
	Data       []byte    // RFC 5322 bytes as they are to be stored, Received: included
	Meta       Metadata  // parsed from Data
	ReceivedAt time.Time // the internal date of every copy
}

// Change says that a folder of a mailbox changed (messages came, went or
// changed flags, or the folder was renamed or deleted). A Change with no
// Mailbox is about a public folder.
type Change struct {
	Mailbox string
	Folder  string
}

// PublicFolders is what a Backend offers when it also keeps the
// organization's public folders: every mailbox may read them, and the
// front ends change none of them. Their posts are shown as RFC 5322
// messages without flags; UIDs and UIDValidity follow the same rules as a
// mailbox folder's.
type PublicFolders interface {
	// PublicFolders lists the public folders, by full path.
	PublicFolders(ctx context.Context) ([]FolderInfo, error)
	// PublicFolder answers a snapshot of a public folder.
	PublicFolder(ctx context.Context, folder string) (Folder, error)
	// PublicMessage answers a post as RFC 5322 bytes; one that is not
	// there is ErrNoMessage.
	PublicMessage(ctx context.Context, folder string, uid UID) ([]byte, error)
}

// Backend is what the mail front ends need of the store. Every method is
// safe for concurrent use. A mailbox is named by its alias, compared without
// regard to case.
type Backend interface {
	// Authenticate checks a mailbox's password and answers its alias as
	// the store spells it. A wrong alias or password is ErrAuthFailed.
	Authenticate(ctx context.Context, alias, password string) (string, error)
	// Resolve maps a recipient address ALIAS@DOMAIN to a mailbox. An
	// address of another domain is ErrNotLocal; an unknown alias of ours is
	// ErrNoMailbox.
	Resolve(ctx context.Context, address string) (string, error)
	// Deliver stores one message into the Inbox of every mailbox of d, all
	// or none, and returns only once that is durable.
	Deliver(ctx context.Context, d Delivery) error

	// Folders lists a mailbox's folders.
	Folders(ctx context.Context, mailbox string) ([]FolderInfo, error)
	// CreateFolder creates a folder; its parents must exist (ErrNoFolder).
	// A folder of that name is ErrFolderExists.
	CreateFolder(ctx context.Context, mailbox, name string) error
	// RenameFolder renames a folder and its subfolders. Renaming the Inbox
	// moves its messages into a new folder and leaves the Inbox empty, as
	// IMAP has it.
	RenameFolder(ctx context.Context, mailbox, from, to string) error
	// DeleteFolder deletes a folder with its messages; a folder with
	// subfolders, or the Inbox, is ErrFolderInUse.
	DeleteFolder(ctx context.Context, mailbox, name string) error

	// Folder answers a snapshot of a folder.
	Folder(ctx context.Context, mailbox, folder string) (Folder, error)
	// Message answers a message's RFC 5322 bytes, byte for byte as they
	// were delivered or appended. An expunged one is ErrNoMessage.
	Message(ctx context.Context, mailbox, folder string, uid UID) ([]byte, error)
	// SetFlags changes the flags of the given messages; UIDs that are not
	// there are ignored.
	SetFlags(ctx context.Context, mailbox, folder string, uids []UID, op FlagOp, flags []string) error
	// Expunge removes the given messages for good; UIDs that are not there
	// are ignored.
	Expunge(ctx context.Context, mailbox, folder string, uids []UID) error
	// Append stores a message into a folder and answers the folder's
	// UIDValidity and the message's UID, once durable.
	Append(ctx context.Context, mailbox, folder string, data []byte, flags []string, date time.Time) (uint32, UID, error)
	// Copy copies messages into another folder of the same mailbox, with
	// their flags and internal dates; with move they leave the source in
	// the same step. It answers the destination's UIDValidity and, pair by
	// pair, the source UIDs copied and the UIDs they got.
	Copy(ctx context.Context, mailbox, from string, uids []UID, to string, move bool) (uint32, []UID, []UID, error)

	// Watch calls fn after each change, once reads see it. fn must not
	// block; stop ends the calls.
	Watch(fn func(Change)) (stop func())
}

// Errors a Backend answers, wrapped with what failed; compare with errors.Is.
var (
	ErrAuthFailed   = errors.New("wrong mailbox or password")
	ErrNotLocal     = errors.New("not a domain of this organization")
	ErrNoMailbox    = errors.New("no such mailbox")
	ErrNoFolder     = errors.New("no such folder")
	ErrFolderExists = errors.New("folder already exists")
	ErrFolderInUse  = errors.New("folder cannot be deleted")
	ErrNoMessage    = errors.New("no such message")
	// ErrUnavailable: the store is not running (stopped, restoring); the
	// front ends answer with a temporary failure.
	ErrUnavailable = errors.New("the Information Store is not running")
)
