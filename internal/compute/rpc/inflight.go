package rpc

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// ConductorStartedSubject is where a conductor says it has started, to every
// agent (a plain subject, not a queue group).
const ConductorStartedSubject = "compute.conductors.started"

// ConductorStarted is the method of that announcement.
const ConductorStarted = "conductor_started"

// StartedArgs are a conductor's start announcement.
type StartedArgs struct {
	Holder string `json:"holder"`
}

// errAbandoned is the cause of a call given up by Abandon.
var errAbandoned = errors.New("the conductor this call went to is gone")

// inflight is one conductor call waiting for its reply.
type inflight struct {
	start  time.Time
	cancel context.CancelCauseFunc
}

// conductorCalls tracks a Conductor's calls in flight.
type conductorCalls struct {
	mu    sync.Mutex
	calls map[*inflight]struct{}
}

// track registers a call in flight; untrack removes it.
func (c *conductorCalls) track(f *inflight) (untrack func()) {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[*inflight]struct{}{}
	}
	c.calls[f] = struct{}{}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.calls, f)
		c.mu.Unlock()
	}
}

// Abandon fails at once every call in flight for at least age, and reports
// how many. A request on the bus whose conductor died after receiving it
// gets no reply and no error until its timeout (the bus cannot tell a dead
// responder from a slow one), and the agent's operation waiting on it holds
// its instance's lock that long, so that neither it nor the stranded task
// sweep moves the instance on. The agent abandons its calls when it learns
// that their conductor is gone: none listens any more (age 0), or one has
// just started (age 1 s: a call to a live conductor has long been answered;
// one older than the gap of a restart went to the dead one). An abandoned
// call fails with 503 as when no conductor listens; a save it carried may
// have been made, and like every failed save it is settled by compare-and-
// swap and the stranded task sweeps.
func (c *Conductor) Abandon(age time.Duration) int {
	before := time.Now().Add(-age)
	c.calls.mu.Lock()
	defer c.calls.mu.Unlock()
	n := 0
	for f := range c.calls.calls {
		if !f.start.After(before) {
			f.cancel(errAbandoned)
			delete(c.calls.calls, f)
			n++
		}
	}
	return n
}

func (c *Conductor) call(ctx context.Context, method string, args, result any) error {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer c.calls.track(&inflight{start: time.Now(), cancel: cancel})()
	err := c.Bus.Call(ctx, ConductorSubject, method, args, result)
	if err != nil && errors.Is(context.Cause(ctx), errAbandoned) {
		return &fault.Error{Status: 503, Type: "ServiceUnavailable", Message: method + ": " + errAbandoned.Error(), Err: errAbandoned}
	}
	return err
}
