package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// responder is another process's connection to b's embedded server.
func responder(t *testing.T, b *Bus) *Bus {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(b.ns))
	if err != nil {
		t.Fatal(err)
	}
	r := &Bus{nc: nc, log: b.log}
	if err := r.startLiveness(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return r
}

// TestCallFailsWhenItsReceiverDies: a call taken by a process that dies
// before answering (its connection closes, as on kill -9) fails with a 503
// within seconds, not at its timeout, although another receiver still
// serves the subject; a call a live receiver works on for longer than
// that is answered.
func TestCallFailsWhenItsReceiverDies(t *testing.T) {
	b := openEmbedded(t)
	ctx := context.Background()
	taken := make(chan struct{}, 1)
	dying, live := responder(t, b), responder(t, b)
	dying.Serve(ctx, "svc", ServeOptions{Queue: "q"}, map[string]Handler{"hang": func(ctx context.Context, _ json.RawMessage) (any, error) {
		taken <- struct{}{}
		<-ctx.Done()
		return nil, nil
	}})
	live.Serve(ctx, "svc2", ServeOptions{Queue: "q"}, map[string]Handler{"slow": func(ctx context.Context, _ json.RawMessage) (any, error) {
		time.Sleep(responderGoneAfter + 2*livenessEvery)
		return "done", nil
	}})
	slow := make(chan error, 1)
	go func() {
		var s string
		err := b.Call(ctx, "svc2", "slow", nil, &s)
		if err == nil && s != "done" {
			err = fmt.Errorf("slow answered %q", s)
		}
		slow <- err
	}()
	go func() { <-taken; dying.nc.Close() }()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	err := b.Call(cctx, "svc", "hang", nil, nil)
	took := time.Since(start)
	if !IsResponderGone(err) || fault.As(err).Status != 503 {
		t.Fatalf("call to a receiver that died: %v after %s, want 503 responder gone", err, took)
	}
	if took > responderGoneAfter+4*livenessEvery {
		t.Fatalf("the call failed %s after its receiver died", took)
	}
	if err := <-slow; err != nil {
		t.Fatalf("a slow call to a live receiver: %v", err)
	}
}
