// Package qmp is a client of the QEMU Machine Protocol on a unix socket.
//
// Every command carries an id; one reader goroutine routes each reply to the
// caller waiting for that id, so callers may run commands concurrently and a
// reply never waits behind an event. Events are fanned out to Events(), a
// buffered channel fed by its own goroutine from an in-memory queue: a slow
// or absent events reader costs memory (bounded; the oldest events are
// dropped first and counted), never a stalled reply. Completions that end
// with an event (DEVICE_DELETED after device_del, SHUTDOWN after
// system_powerdown) register their waiter before the command is sent, so an
// event that overtakes the reply is not missed.
//
// qmp imports only the standard library.
package qmp
