package exchange

import (
	"errors"
	"fmt"
)

// Code classifies an API error so that it survives the trip through HTTPS:
// the server answers {code, message}, the client rebuilds an *Error, and
// callers compare with errors.Is against the sentinels below.
type Code string

const (
	CodeBadRequest   Code = "bad-request"  // malformed request
	CodeUnauthorized Code = "unauthorized" // missing or wrong access key
	CodeNotFound     Code = "not-found"    // unknown session, file, mailbox
	CodeNotRunning   Code = "not-running"  // the service the request needs is stopped
	CodeRefused      Code = "refused"      // a backup or restore rule forbids it
	CodeConflict     Code = "conflict"     // another session or a restore is in progress
	CodeInternal     Code = "internal"     // the server failed (disk, corruption)
	CodeRateLimited  Code = "rate-limited" // too many failed attempts from the client's address
)

// Error is an error with a code and a one-line message for an administrator.
// In-process it keeps the errors its message wrapped with %w (a file that
// does not exist, a cancelled context), so errors.Is and errors.As reach
// them; over the API only the code and the message travel.
type Error struct {
	Code    Code
	Message string
	Err     error // the cause: what Errorf's %w verbs wrapped, or nil
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches any *Error with the same code, so errors.Is(err, ErrRefused)
// works on errors rebuilt by the client.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
	}
	return false
}

// Sentinels for errors.Is; their messages are empty so they match by code.
var (
	ErrBadRequest   = &Error{Code: CodeBadRequest}
	ErrUnauthorized = &Error{Code: CodeUnauthorized}
	ErrNotFound     = &Error{Code: CodeNotFound}
	ErrNotRunning   = &Error{Code: CodeNotRunning}
	ErrRefused      = &Error{Code: CodeRefused}
	ErrConflict     = &Error{Code: CodeConflict}
	ErrInternal     = &Error{Code: CodeInternal}
	ErrRateLimited  = &Error{Code: CodeRateLimited}
)

// Errorf builds an *Error with a formatted message. As with fmt.Errorf, a
// %w verb formats an error as %v does and also makes it the cause (several
// %w verbs make them all the cause).
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	e := &Error{Code: code, Message: err.Error()}
	switch w := err.(type) {
	case interface{ Unwrap() error }:
		e.Err = w.Unwrap()
	case interface{ Unwrap() []error }:
		e.Err = errors.Join(w.Unwrap()...)
	}
	return e
}

// CodeOf returns the code of err, CodeInternal for errors without one.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
