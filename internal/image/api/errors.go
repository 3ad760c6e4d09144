package api

import (
	"fmt"
	"net/http"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Glance raises webob HTTP exceptions, which render as JSON (for a client
// that accepts it) in webob's way: {"message", "code", "title"}, where
// message is the exception's body template filled in — the explanation, a
// "<br /><br />" separator, then the detail — and code is the status line.
// A fault's Message is the explanation (empty: the class default) and its
// Detail the detail, so HTTPForbidden(explanation=msg) is
// fault.Forbidden(msg) and HTTPForbidden(msg) is forbiddenDetail(msg).

// defaultExplanation is webob's explanation of each status, whitespace
// normalised as webob does when it loads.
var defaultExplanation = map[int]string{
	400: "The server could not comply with the request since it is either malformed or otherwise incorrect.",
	401: "This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.",
	403: "Access was denied to this resource.",
	404: "The resource could not be found.",
	409: "There was a conflict when trying to complete your request.",
	410: "This resource is no longer available. No forwarding address is given.",
	413: "The body of your request was too large for this server.",
	416: "The Range requested is not available.",
	500: "The server has either erred or is incapable of performing the requested operation.",
	501: "The server has not been built with the functionality required to fulfill the request.",
	503: "The server is currently unavailable. Please try again at a later time.",
}

// webobTitle is webob's title of a status where it differs from Go's.
var webobTitle = map[int]string{
	416: "Request Range Not Satisfiable",
}

func title(status int) string {
	if t, ok := webobTitle[status]; ok {
		return t
	}
	return http.StatusText(status)
}

// GlanceErrors renders a fault as Glance (webob) does.
func GlanceErrors(f *fault.Error) any {
	st := f.Status
	expl := f.Message
	var body string
	switch st {
	case http.StatusMethodNotAllowed:
		// "The method ${REQUEST_METHOD} is not allowed for this resource. <br /><br />\n${detail}"
		body = expl + " <br /><br />\n" + f.Detail
	case http.StatusUnsupportedMediaType:
		// "The request media type ${CONTENT_TYPE} is not supported by this server.\n<br /><br />\n${detail}"
		body = expl + "\n<br /><br />\n" + f.Detail
	default:
		if st >= 500 && f.Err != nil || expl == "" {
			// A 500 never shows its cause; webob's default says enough.
			expl = defaultExplanation[st]
		}
		body = expl + "<br /><br />\n" + f.Detail + "\n\n"
	}
	return map[string]any{
		"message": body,
		"code":    fmt.Sprintf("%d %s", st, title(st)),
		"title":   title(st),
	}
}

// explain is webob.exc.HTTP<status>(explanation=msg).
func explain(status int, format string, args ...any) *fault.Error {
	return fault.New(status, format, args...)
}

// detailed is webob.exc.HTTP<status>(msg): the message is the detail, shown
// after the status's default explanation.
func detailed(status int, format string, args ...any) *fault.Error {
	f := fault.New(status, "")
	f.Message = defaultExplanation[status]
	f.Detail = fmt.Sprintf(format, args...)
	if len(args) == 0 {
		f.Detail = format
	}
	return f
}

// badRequest is HTTPBadRequest(explanation=...).
func badRequest(format string, args ...any) *fault.Error {
	return explain(http.StatusBadRequest, format, args...)
}

// forbidden is HTTPForbidden(explanation=...).
func forbidden(format string, args ...any) *fault.Error {
	return explain(http.StatusForbidden, format, args...)
}

// notFound is HTTPNotFound(explanation=...); with no message, webob's.
func notFound(format string, args ...any) *fault.Error {
	if format == "" {
		return explain(http.StatusNotFound, defaultExplanation[404])
	}
	return explain(http.StatusNotFound, format, args...)
}

// conflict is HTTPConflict(explanation=...).
func conflict(format string, args ...any) *fault.Error {
	return explain(http.StatusConflict, format, args...)
}

// tooLarge is HTTPRequestEntityTooLarge(explanation=...).
func tooLarge(format string, args ...any) *fault.Error {
	return explain(http.StatusRequestEntityTooLarge, format, args...)
}

// unsupportedMedia is HTTPUnsupportedMediaType(detail=...) for a request
// of the given content type.
func unsupportedMedia(contentType, detail string) *fault.Error {
	f := fault.New(http.StatusUnsupportedMediaType, "The request media type %s is not supported by this server.", contentType)
	if contentType == "" {
		// webob leaves the placeholder when the request has no Content-Type.
		f.Message = "The request media type ${CONTENT_TYPE} is not supported by this server."
	}
	f.Detail = detail
	return f
}

// limitExceeded is Glance's LimitExceeded message around a body.
func limitExceeded(body string) string {
	return "The request returned a 413 Request Entity Too Large. This generally means that rate limiting or a quota threshold was breached.\n\nThe response body:\n" + body
}

// policyForbidden is the 403 of a failed policy check: Glance's Forbidden
// exception names the rule.
func policyForbidden(rule string) *fault.Error {
	return forbidden("You are not authorized to complete %s action.", rule)
}
