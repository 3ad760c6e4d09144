package bus

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
)

type addArgs struct{ A, B int }

func openEmbedded(t *testing.T) *Bus {
	t.Helper()
	b, err := Open(context.Background(), Options{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func TestCallCastAndFaults(t *testing.T) {
	b := openEmbedded(t)
	ctx := context.Background()
	var casts atomic.Int32
	castDone := make(chan struct{}, 1)
	_, err := b.Serve(ctx, "calc", ServeOptions{Queue: "calc"}, map[string]Handler{
		"add": func(ctx context.Context, raw json.RawMessage) (any, error) {
			a, err := Decode[addArgs](raw)
			if err != nil {
				return nil, err
			}
			return a.A + a.B, nil
		},
		"whoami": func(ctx context.Context, raw json.RawMessage) (any, error) {
			a := authn.From(ctx)
			return map[string]string{"user": a.UserID, "token": a.Token, "req": logging.RequestID(ctx)}, nil
		},
		"missing": func(ctx context.Context, raw json.RawMessage) (any, error) {
			return nil, fault.NotFound("Instance %s could not be found.", "i1").WithType("InstanceNotFound")
		},
		"broken": func(ctx context.Context, raw json.RawMessage) (any, error) {
			return nil, errors.New("disk on fire")
		},
		"panics": func(ctx context.Context, raw json.RawMessage) (any, error) { panic("oops") },
		"slow": func(ctx context.Context, raw json.RawMessage) (any, error) {
			time.Sleep(300 * time.Millisecond)
			return nil, nil
		},
		"note": func(ctx context.Context, raw json.RawMessage) (any, error) {
			casts.Add(1)
			castDone <- struct{}{}
			return nil, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var sum int
	if err := b.Call(ctx, "calc", "add", addArgs{2, 3}, &sum); err != nil || sum != 5 {
		t.Fatalf("add = %d, %v", sum, err)
	}

	actx := authn.With(logging.WithRequestID(ctx, "req-1"), &authn.Context{UserID: "u1", Token: "tok"})
	var who map[string]string
	if err := b.Call(actx, "calc", "whoami", nil, &who); err != nil {
		t.Fatal(err)
	}
	if who["user"] != "u1" || who["token"] != "tok" || who["req"] != "req-1" {
		t.Fatalf("context did not cross the bus: %v", who)
	}

	err = b.Call(ctx, "calc", "missing", nil, nil)
	var f *fault.Error
	if !errors.As(err, &f) || f.Status != 404 || f.Type != "InstanceNotFound" || f.Message != "Instance i1 could not be found." {
		t.Fatalf("fault across the bus: %#v", err)
	}
	for _, m := range []string{"broken", "panics"} {
		err = b.Call(ctx, "calc", m, nil, nil)
		if !fault.Is(err, 500) || errors.As(err, &f) && f.Message == "disk on fire" {
			t.Fatalf("%s: %v (want a 500 that hides its cause in the message)", m, err)
		}
	}
	if err := b.Call(ctx, "calc", "nosuch", nil, nil); !fault.Is(err, 501) {
		t.Fatalf("unknown method: %v", err)
	}
	if err := b.Call(ctx, "calc", "add", "not an object", nil); !fault.Is(err, 400) {
		t.Fatalf("bad args: %v", err)
	}
	if err := b.Call(ctx, "nobody", "add", nil, nil); !fault.Is(err, 503) {
		t.Fatalf("no responders: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := b.Call(tctx, "calc", "slow", nil, nil); !fault.Is(err, 504) {
		t.Fatalf("deadline: %v", err)
	}
	if err := b.Cast(ctx, "calc", "note", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-castDone:
	case <-time.After(5 * time.Second):
		t.Fatal("cast never arrived")
	}
}

func TestQueueGroupsAndFanout(t *testing.T) {
	b := openEmbedded(t)
	ctx := context.Background()
	var mu sync.Mutex
	perWorker := map[int]int{}
	fanout := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		_, err := b.Serve(ctx, "work", ServeOptions{Queue: "workers"}, map[string]Handler{
			"do": func(ctx context.Context, _ json.RawMessage) (any, error) {
				mu.Lock()
				perWorker[i]++
				mu.Unlock()
				return i, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Serve(ctx, "events", ServeOptions{}, map[string]Handler{
			"revoked": func(ctx context.Context, _ json.RawMessage) (any, error) {
				mu.Lock()
				fanout[i]++
				mu.Unlock()
				wg.Done()
				return nil, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for n := 0; n < 60; n++ {
		if err := b.Call(ctx, "work", "do", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, n := range perWorker {
		total += n
	}
	if total != 60 || len(perWorker) < 2 {
		t.Fatalf("queue group: %v (each call must go to exactly one worker, spread over several)", perWorker)
	}
	wg.Add(3)
	b.Cast(ctx, "events", "revoked", nil)
	wg.Wait()
	for i := 0; i < 3; i++ {
		if fanout[i] != 1 {
			t.Fatalf("fan-out: %v (each subscriber gets every event)", fanout)
		}
	}
}

func TestRejectsOtherEnvelopeVersions(t *testing.T) {
	b := openEmbedded(t)
	ctx := context.Background()
	b.Serve(ctx, "s", ServeOptions{}, map[string]Handler{"m": func(ctx context.Context, _ json.RawMessage) (any, error) { return 1, nil }})
	msg, _ := json.Marshal(Envelope{V: 2, Method: "m"})
	resp, err := b.Conn().Request("s", msg, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var rep Reply
	json.Unmarshal(resp.Data, &rep)
	if rep.Error == nil || rep.Error.Status != 400 {
		t.Fatalf("version 2 envelope: %+v", rep)
	}
	resp, _ = b.Conn().Request("s", []byte("garbage"), 5*time.Second)
	json.Unmarshal(resp.Data, &rep)
	if rep.Error == nil || rep.Error.Status != 400 {
		t.Fatalf("garbage: %+v", rep)
	}
}

func TestStopWaitsForHandlers(t *testing.T) {
	b := openEmbedded(t)
	ctx := context.Background()
	var finished atomic.Bool
	started := make(chan struct{})
	sub, _ := b.Serve(ctx, "s", ServeOptions{}, map[string]Handler{"m": func(ctx context.Context, _ json.RawMessage) (any, error) {
		close(started)
		time.Sleep(100 * time.Millisecond)
		finished.Store(true)
		return nil, nil
	}})
	b.Cast(ctx, "s", "m", nil)
	<-started
	sub.Stop()
	if !finished.Load() {
		t.Fatal("Stop returned while a handler was running")
	}
}

// TestExternalNATS runs against the NATS server of the machine (127.0.0.1:4222)
// when it is there: split deployments use an external server.
func TestExternalNATS(t *testing.T) {
	b, err := Open(context.Background(), Options{URL: "nats://127.0.0.1:4222", Name: "tenku-test"})
	if err != nil {
		t.Skipf("no external NATS: %v", err)
	}
	defer b.Close()
	subj := "tenku.test." + logging.NewRequestID()
	b.Serve(context.Background(), subj, ServeOptions{Queue: "q"}, map[string]Handler{"ping": func(ctx context.Context, _ json.RawMessage) (any, error) { return "pong", nil }})
	var s string
	if err := b.Call(context.Background(), subj, "ping", nil, &s); err != nil || s != "pong" {
		t.Fatalf("ping = %q, %v", s, err)
	}
	if b.Embedded() {
		t.Fatal("an external connection reports embedded")
	}
}

// TestPrefixesSeparateClouds: two clouds on one NATS do not hear each other.
func TestPrefixesSeparateClouds(t *testing.T) {
	ctx := context.Background()
	srv, err := Open(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// Both clouds connect through the same in-process server.
	a := &Bus{nc: srv.nc, prefix: "cloudA.", log: srv.log}
	b := &Bus{nc: srv.nc, prefix: "cloudB.", log: srv.log}
	a.Serve(ctx, "svc", ServeOptions{Queue: "q"}, map[string]Handler{"who": func(context.Context, json.RawMessage) (any, error) { return "A", nil }})
	b.Serve(ctx, "svc", ServeOptions{Queue: "q"}, map[string]Handler{"who": func(context.Context, json.RawMessage) (any, error) { return "B", nil }})
	for i := 0; i < 10; i++ {
		var ga, gb string
		if err := a.Call(ctx, "svc", "who", nil, &ga); err != nil || ga != "A" {
			t.Fatalf("cloud A reached %q (%v)", ga, err)
		}
		if err := b.Call(ctx, "svc", "who", nil, &gb); err != nil || gb != "B" {
			t.Fatalf("cloud B reached %q (%v)", gb, err)
		}
	}
}

func TestHostSubject(t *testing.T) {
	if s := HostSubject("compute", "node-1.example.com"); s != "compute.node-1_example_com" {
		t.Fatal(s)
	}
}
