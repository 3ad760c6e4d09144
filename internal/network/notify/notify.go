package notify

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Event is one os-server-external-events entry.
type Event struct {
	Name       string `json:"name"`
	ServerUUID string `json:"server_uuid"`
	Tag        string `json:"tag,omitempty"`
	Status     string `json:"status"`
}

// Status values of events.
const (
	Completed = "completed"
	Failed    = "failed"
)

// Notifier sends events to Nova. Notify must not block on Nova: events are
// delivered in the background (or dropped after retries).
type Notifier interface {
	Notify(ctx context.Context, events ...Event)
}

// Discard is a Notifier that drops every event (Nova absent or disabled).
type Discard struct{}

// Notify drops the events.
func (Discard) Notify(context.Context, ...Event) {}

// Recorder is a Notifier that keeps events in memory, for tests.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Notify records the events.
func (r *Recorder) Notify(_ context.Context, events ...Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, events...)
}

// Events returns what was recorded.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Has reports whether an event with that name and tag was recorded.
func (r *Recorder) Has(name, tag string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.events, func(e Event) bool { return e.Name == name && e.Tag == tag })
}

// Wait polls until an event with that name and tag is recorded or the timeout passes.
func (r *Recorder) Wait(name, tag string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if r.Has(name, tag) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return r.Has(name, tag)
}
