package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// CallError is a call to a server that failed: the server answered an
// error, or could not be reached. It names the server once, by its name
// when the client knows it (Name; a console that knows the name before it
// dials may set it), and says what went wrong in an administrator's words.
// Err is the cause, for errors.Is and errors.As.
type CallError struct {
	Name string
	Addr string
	Op   string
	Err  error
}

func (e *CallError) Error() string {
	who := e.Addr
	if e.Name != "" {
		who = e.Name
	}
	if _, ok := unreachable(e.Err, e.Addr); ok {
		return fmt.Sprintf("server %s is not reachable: %s", who, e.Reason())
	}
	return fmt.Sprintf("server %s: %s", who, e.Reason())
}

// Reason is the failure without the server's name, for a list of servers
// that names each: "nothing is listening at 10.0.0.5:7401 (connection
// refused)", "status: the server did not answer in time".
func (e *CallError) Reason() string {
	if why, ok := unreachable(e.Err, e.Addr); ok {
		return why
	}
	return e.Op + ": " + describe(e.Err)
}

func (e *CallError) Unwrap() error { return e.Err }

// Unreachable tells whether err is a failure to reach a server at all
// (nothing listening, no route, no answer to the connection, an unknown
// host name), and says which in words.
func Unreachable(err error) (string, bool) {
	var ce *CallError
	if errors.As(err, &ce) {
		return unreachable(ce.Err, ce.Addr)
	}
	return unreachable(err, "")
}

func unreachable(err error, addr string) (string, bool) {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return fmt.Sprintf("no computer is known by the name %s", dns.Name), true
		}
		return fmt.Sprintf("the name %s could not be looked up (%s)", dns.Name, dns.Err), true
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return "", false
	}
	if addr == "" && op.Addr != nil {
		addr = op.Addr.String()
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing is listening at %s (connection refused)", addr), true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("there is no network route to %s", addr), true
	case errors.Is(err, os.ErrDeadlineExceeded), op.Timeout():
		return fmt.Sprintf("%s did not answer the connection in time", addr), true
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return fmt.Sprintf("connecting to %s: %v", addr, se.Err), true
	}
	return fmt.Sprintf("connecting to %s: %v", addr, op.Err), true
}

// describe says a transport failure in words; an answer of the server is
// said as the server said it.
func describe(err error) string {
	var fe *FingerprintError
	if errors.As(err, &fe) {
		return err.Error()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "the server did not answer in time"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF):
		return "the connection was dropped"
	}
	return err.Error()
}
