package rpc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// hangingBus takes every call and never answers it, as a conductor that
// died after receiving the request.
type hangingBus struct{ got chan string }

func (h *hangingBus) Call(ctx context.Context, _, method string, _, _ any) error {
	h.got <- method
	<-ctx.Done()
	return ctx.Err()
}

func (h *hangingBus) Cast(context.Context, string, string, any) error { return nil }

func (h *hangingBus) Send(context.Context, string, string, any) error { return nil }

// A call in flight to a conductor that died fails at once when the agent
// abandons it, not at its timeout; a call younger than the age asked for
// is left alone, and a later call works as before.
func TestAbandonFailsCallsInFlight(t *testing.T) {
	h := &hangingBus{got: make(chan string, 4)}
	c := &Conductor{Bus: h, Timeout: time.Hour}
	done := make(chan error, 1)
	go func() {
		_, err := c.Get(context.Background(), "i1", false)
		done <- err
	}()
	<-h.got
	if n := c.Abandon(time.Hour); n != 0 {
		t.Fatalf("abandoned %d calls younger than the age", n)
	}
	select {
	case err := <-done:
		t.Fatalf("the call ended before it was abandoned: %v", err)
	default:
	}
	if n := c.Abandon(0); n != 1 {
		t.Fatalf("abandoned %d calls, want 1", n)
	}
	select {
	case err := <-done:
		var f *fault.Error
		if !errors.As(err, &f) || f.Status != 503 || !errors.Is(err, errAbandoned) {
			t.Fatalf("abandoned call: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the abandoned call still waits")
	}
	if n := c.Abandon(0); n != 0 {
		t.Fatalf("abandoned %d calls with none in flight", n)
	}
}
