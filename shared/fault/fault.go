// Package fault is the one error type the domain and its services speak: an error
// carries a Code that says what kind of failure it is, whichever adapter noticed
// it. Adapters map their own failures onto codes (a lost DynamoDB conditional
// write is a Conflict, a missing item NotFound); the HTTP layer maps codes onto
// statuses in one place (httpcore.StatusOf). Services test codes with errors.Is
// against the sentinels below, never against an adapter's errors.
package fault

import (
	"errors"
	"strings"
)

// Code names a kind of failure.
type Code string

// Codes. Every code has an HTTP status (httpcore.StatusOf).
const (
	// Invalid: the request is malformed or a field is out of range.
	Invalid Code = "invalid"
	// Unauthorized: the caller did not prove who it is.
	Unauthorized Code = "unauthorized"
	// Forbidden: the caller may not do this.
	Forbidden Code = "forbidden"
	// NotFound: the thing asked for does not exist (for this tenant).
	NotFound Code = "not_found"
	// Conflict: the stored state is not the one the change expected (a stale
	// revision, an item that already exists, a claim someone else holds). The
	// caller re-reads and decides; it is not a fault of the system.
	Conflict Code = "conflict"
	// InProgress: the same idempotent request is being processed right now.
	InProgress Code = "in_progress"
	// Unprocessable: well-formed, but a business rule refuses it.
	Unprocessable Code = "unprocessable"
	// Unavailable: a dependency failed or kept losing races; retrying may succeed.
	Unavailable Code = "unavailable"
	// Internal: anything else (the code of an error that has none).
	Internal Code = "internal"
)

// Codes lists every code, for tests that must cover them all.
func Codes() []Code {
	return []Code{Invalid, Unauthorized, Forbidden, NotFound, Conflict, InProgress, Unprocessable, Unavailable, Internal}
}

// Error is a failure with a code. Op names the operation that failed (for logs),
// Msg is safe to show to the caller, Err is the cause.
type Error struct {
	Code Code
	Op   string
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	msg := e.Msg
	if msg == "" {
		msg = strings.ReplaceAll(string(e.Code), "_", " ")
	}
	switch {
	case e.Op != "" && e.Err != nil:
		return e.Op + ": " + msg + ": " + e.Err.Error()
	case e.Op != "":
		return e.Op + ": " + msg
	case e.Err != nil:
		return msg + ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, fault.ErrNotFound) (a bare code sentinel) true for every
// error of that code. A sentinel with a message (intake.ErrUnknownPatient) matches
// only itself, by identity.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Op == "" && t.Err == nil && t.Code == e.Code
}

// Sentinels of the codes services test for: errors.Is(err, fault.ErrConflict).
var (
	ErrNotFound   = &Error{Code: NotFound}
	ErrConflict   = &Error{Code: Conflict}
	ErrInProgress = &Error{Code: InProgress}
)

// New is an error of code with a message for the caller.
func New(code Code, msg string) *Error { return &Error{Code: code, Msg: msg} }

// Wrap gives err a code, naming the operation; nil stays nil.
func Wrap(code Code, op string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Op: op, Err: err}
}

// CodeOf is the code of the first coded error in err's chain; Internal when none
// has one, "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Message is the first caller-safe message in err's chain, or "" (an internal
// error's text is for logs, not for callers).
func Message(err error) string {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Msg != "" {
			return e.Msg
		}
		err = errors.Unwrap(err)
	}
	return ""
}
