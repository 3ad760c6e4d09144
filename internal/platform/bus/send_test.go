package bus

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"
)

// orderedSink records the "n" of every message it handles.
type orderedSink struct {
	mu  sync.Mutex
	got []int
}

func (s *orderedSink) handlers() map[string]Handler {
	return map[string]Handler{"n": func(_ context.Context, raw json.RawMessage) (any, error) {
		var n int
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.got = append(s.got, n)
		s.mu.Unlock()
		return nil, nil
	}}
}

func (s *orderedSink) snapshot() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.got...)
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSendWaitsForAReceiver: messages sent while nobody listens (a plain
// Cast would drop them) arrive once each, in order, when a receiver comes.
func TestSendWaitsForAReceiver(t *testing.T) {
	b := openEmbedded(t)
	ctx := context.Background()
	const n = 50
	for i := 0; i < n; i++ {
		if err := b.Send(ctx, "late", "n", i); err != nil {
			t.Fatal(err)
		}
		if err := b.Cast(ctx, "late", "n", -1); err != nil { // dropped: nobody listens
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	var sink orderedSink
	if _, err := b.Serve(ctx, "late", ServeOptions{Concurrency: 1}, sink.handlers()); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "every sent message", func() bool { return len(sink.snapshot()) >= n })
	time.Sleep(100 * time.Millisecond)
	got := sink.snapshot()
	if len(got) != n {
		t.Fatalf("received %d messages, want %d: %v", len(got), n, got)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("message %d is %d: sent messages arrive in order (%v)", i, v, got)
		}
	}
}

// TestSendRunsADuplicateOnce: a retry of a message whose acknowledgement
// was lost is acknowledged again but not handled twice.
func TestSendRunsADuplicateOnce(t *testing.T) {
	b := openEmbedded(t)
	ctx := context.Background()
	var sink orderedSink
	if _, err := b.Serve(ctx, "dup", ServeOptions{}, sink.handlers()); err != nil {
		t.Fatal(err)
	}
	msg, err := b.envelopeWith(ctx, "n", 7, newMessageID())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := b.Conn().Request("dup", msg, time.Second); err != nil {
			t.Fatalf("attempt %d not acknowledged: %v", i, err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if got := sink.snapshot(); len(got) != 1 || got[0] != 7 {
		t.Fatalf("handled %v, want [7] once", got)
	}
}

// TestSendReachesEveryFanoutSubscriber: a message sent to a fan-out
// subject runs once in each of its subscribers, even two in one process
// (Neutron's fan-out casts, an agent serving a host twice while it restarts).
func TestSendReachesEveryFanoutSubscriber(t *testing.T) {
	b := openEmbedded(t)
	ctx := context.Background()
	var one, two orderedSink
	for _, s := range []*orderedSink{&one, &two} {
		if _, err := b.Serve(ctx, "fan", ServeOptions{}, s.handlers()); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if err := b.Send(ctx, "fan", "n", i); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 5*time.Second, "both subscribers", func() bool { return len(one.snapshot()) == 3 && len(two.snapshot()) == 3 })
	time.Sleep(100 * time.Millisecond)
	if a, b := one.snapshot(), two.snapshot(); len(a) != 3 || len(b) != 3 {
		t.Fatalf("subscribers handled %v and %v, want [0 1 2] each", a, b)
	}
}

// TestSendGivesUp: a message nobody acknowledges within the retry time is
// given up (counted lost), and the subject's later messages still leave.
func TestSendGivesUp(t *testing.T) {
	b, err := Open(context.Background(), Options{Name: "test", SendRetryFor: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	if err := b.Send(ctx, "void", "n", 1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 3*time.Second, "the unacknowledged message given up", func() bool {
		b.sendMu.Lock()
		defer b.sendMu.Unlock()
		return len(b.outbox["void"]) == 0
	})
	var sink orderedSink
	if _, err := b.Serve(ctx, "void", ServeOptions{}, sink.handlers()); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(ctx, "void", "n", 2); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 3*time.Second, "the next message", func() bool { return len(sink.snapshot()) == 1 })
	if got := sink.snapshot(); got[0] != 2 {
		t.Fatalf("got %v, want [2]", got)
	}
}

// TestCallRetriesNoResponders: a call made just before its receiver
// subscribes (as during a failover) is answered, not refused with 503.
func TestCallRetriesNoResponders(t *testing.T) {
	b := openEmbedded(t)
	ctx := context.Background()
	go func() {
		time.Sleep(300 * time.Millisecond)
		b.Serve(ctx, "soon", ServeOptions{}, map[string]Handler{"ping": func(context.Context, json.RawMessage) (any, error) { return "pong", nil }})
	}()
	var out string
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.Call(cctx, "soon", "ping", nil, &out); err != nil || out != "pong" {
		t.Fatalf("call = %q, %v; want pong", out, err)
	}
	// Nobody ever: still a prompt 503 once the retry time is over.
	nb, err := Open(ctx, Options{Name: "t2", NoRespondersRetry: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	start := time.Now()
	if err := nb.Call(cctx, "nobody", "ping", nil, nil); err == nil {
		t.Fatal("a call nobody serves succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("no responders took %v", d)
	}
}
