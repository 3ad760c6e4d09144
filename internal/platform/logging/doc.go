// Package logging sets up log/slog for tenku: text or JSON output, a level, and a
// handler that adds the request id (and other context attributes) to every record
// logged with a context that carries them.
//
// logging imports only the standard library.
package logging
