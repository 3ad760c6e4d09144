package fault

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is a failure with a meaning the API can report: a status code, a type name
// (Neutron's and Nova's exception names, such as "NetworkNotFound"), and a message
// that is safe to show the caller.
type Error struct {
	// Status is the HTTP status code (400, 404, 409, ...).
	Status int
	// Type is an OpenStack exception name; empty means derive one from Status.
	Type string
	// Message is shown to the user.
	Message string
	// Detail is extra text some services report (Neutron's "detail").
	Detail string
	// Header holds response headers the fault carries (Retry-After, Allow, ...).
	Header http.Header
	// Err is the underlying cause, for logs only; it is never shown to the user.
	Err error
}

// Error returns the message.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Title returns the status text ("Not Found").
func (e *Error) Title() string { return http.StatusText(e.Status) }

// WithType returns a copy of e with the exception type name set.
func (e *Error) WithType(t string) *Error {
	c := *e
	c.Type = t
	return &c
}

// WithHeader returns a copy of e with a response header added.
func (e *Error) WithHeader(k, v string) *Error {
	c := *e
	c.Header = e.Header.Clone()
	if c.Header == nil {
		c.Header = http.Header{}
	}
	c.Header.Add(k, v)
	return &c
}

// New returns a fault with the given status and message.
func New(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: msg(format, args)}
}

func msg(format string, args []any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// BadRequest is a 400: the request is malformed or invalid.
func BadRequest(format string, args ...any) *Error {
	return New(http.StatusBadRequest, format, args...)
}

// Unauthorized is a 401: no or bad credentials.
func Unauthorized(format string, args ...any) *Error {
	return New(http.StatusUnauthorized, format, args...)
}

// Forbidden is a 403: authenticated, but not allowed.
func Forbidden(format string, args ...any) *Error { return New(http.StatusForbidden, format, args...) }

// NotFound is a 404.
func NotFound(format string, args ...any) *Error { return New(http.StatusNotFound, format, args...) }

// MethodNotAllowed is a 405.
func MethodNotAllowed(format string, args ...any) *Error {
	return New(http.StatusMethodNotAllowed, format, args...)
}

// NotAcceptable is a 406 (an unsupported microversion, say).
func NotAcceptable(format string, args ...any) *Error {
	return New(http.StatusNotAcceptable, format, args...)
}

// Conflict is a 409: the resource's state forbids the request, or a duplicate.
func Conflict(format string, args ...any) *Error { return New(http.StatusConflict, format, args...) }

// Gone is a 410.
func Gone(format string, args ...any) *Error { return New(http.StatusGone, format, args...) }

// PreconditionFailed is a 412 (If-Match revision mismatch).
func PreconditionFailed(format string, args ...any) *Error {
	return New(http.StatusPreconditionFailed, format, args...)
}

// TooLarge is a 413: body too large, or a quota exceeded as some services report it.
func TooLarge(format string, args ...any) *Error {
	return New(http.StatusRequestEntityTooLarge, format, args...)
}

// UnsupportedMediaType is a 415.
func UnsupportedMediaType(format string, args ...any) *Error {
	return New(http.StatusUnsupportedMediaType, format, args...)
}

// RangeNotSatisfiable is a 416.
func RangeNotSatisfiable(format string, args ...any) *Error {
	return New(http.StatusRequestedRangeNotSatisfiable, format, args...)
}

// Internal is a 500 whose message hides the cause; the cause goes to the log.
func Internal(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Message: "An unexpected error prevented the server from fulfilling your request.", Err: err}
}

// NotImplemented is a 501: tenku does not do this (yet), and says so.
func NotImplemented(format string, args ...any) *Error {
	return New(http.StatusNotImplemented, format, args...)
}

// Unavailable is a 503.
func Unavailable(format string, args ...any) *Error {
	return New(http.StatusServiceUnavailable, format, args...)
}

// As returns err as a *Error: itself if it is one (or wraps one), else a 500 that
// hides the cause.
func As(err error) *Error {
	var f *Error
	if errors.As(err, &f) {
		return f
	}
	return Internal(err)
}

// Is reports whether err is a fault with the given status.
func Is(err error, status int) bool {
	var f *Error
	return errors.As(err, &f) && f.Status == status
}

// IsNotFound reports whether err is a 404 fault.
func IsNotFound(err error) bool { return Is(err, http.StatusNotFound) }

// IsConflict reports whether err is a 409 fault.
func IsConflict(err error) bool { return Is(err, http.StatusConflict) }
