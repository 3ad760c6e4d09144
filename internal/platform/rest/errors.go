package rest

import (
	"net/http"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// ErrorBody turns a fault into the JSON body a service answers with, or
// into a Text written as it is.
type ErrorBody func(f *fault.Error) any

// Text is an error body that is not JSON, written with its own content
// type: Nova's metadata API answers errors in webob's plain text.
type Text struct {
	ContentType string
	Body        []byte
}

// KeystoneErrors renders {"error": {"code", "title", "message"}}, Keystone's format
// (and keystonemiddleware's, for 401s in front of every service).
func KeystoneErrors(f *fault.Error) any {
	return map[string]any{"error": map[string]any{"code": f.Status, "title": f.Title(), "message": f.Message}}
}

// computeFaultNames are the keys Nova (and Cinder) use for each status.
var computeFaultNames = map[int]string{
	400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
	405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest", 413: "overLimit",
	415: "badMediaType", 429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable",
}

// ComputeErrors returns Nova's renderer: {"itemNotFound": {"code": 404, "message": ...}};
// statuses without a name use fallback ("computeFault" for Nova).
func ComputeErrors(fallback string) ErrorBody {
	return func(f *fault.Error) any {
		name, ok := computeFaultNames[f.Status]
		if !ok {
			name = fallback
		}
		return map[string]any{name: map[string]any{"code": f.Status, "message": f.Message}}
	}
}

// NeutronErrors renders {"NeutronError": {"type", "message", "detail"}}.
func NeutronErrors(f *fault.Error) any {
	typ := f.Type
	if typ == "" {
		typ = neutronTypes[f.Status]
		if typ == "" {
			typ = "HTTP" + http.StatusText(f.Status)
		}
	}
	return map[string]any{"NeutronError": map[string]any{"type": typ, "message": f.Message, "detail": f.Detail}}
}

var neutronTypes = map[int]string{
	400: "BadRequest", 401: "NotAuthorized", 403: "PolicyNotAuthorized", 404: "NotFound",
	405: "HTTPMethodNotAllowed", 409: "Conflict", 412: "PreconditionFailed", 413: "OverQuota",
	500: "InternalError", 501: "NotImplemented", 503: "ServiceUnavailable",
}
