package bus

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/metrics"
)

// TestMetrics checks that calls, casts and handled messages are counted by
// topic (not per-host subject), method and outcome.
func TestMetrics(t *testing.T) {
	reg := metrics.New()
	b, err := Open(context.Background(), Options{Name: "test", Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ctx := context.Background()
	got := make(chan struct{}, 1)
	_, err = b.Serve(ctx, HostSubject("calc", "node1"), ServeOptions{}, map[string]Handler{
		"ok":      func(context.Context, json.RawMessage) (any, error) { return 1, nil },
		"missing": func(context.Context, json.RawMessage) (any, error) { return nil, fault.NotFound("gone") },
		"slow": func(context.Context, json.RawMessage) (any, error) {
			time.Sleep(200 * time.Millisecond)
			return nil, nil
		},
		"note": func(context.Context, json.RawMessage) (any, error) { got <- struct{}{}; return nil, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	subj := HostSubject("calc", "node1")
	for i := 0; i < 3; i++ {
		if err := b.Call(ctx, subj, "ok", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Call(ctx, subj, "missing", nil, nil); err == nil {
		t.Fatal("missing answered")
	}
	if err := b.Call(ctx, subj, "no-such-method", nil, nil); err == nil {
		t.Fatal("unknown method answered")
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	if err := b.Call(tctx, subj, "slow", nil, nil); err == nil {
		t.Fatal("slow call did not time out")
	}
	cancel()
	if err := b.Call(ctx, "nobody.here", "ok", nil, nil); err == nil {
		t.Fatal("a call with no listener answered")
	}
	if err := b.Cast(ctx, subj, "note", nil); err != nil {
		t.Fatal(err)
	}
	<-got
	time.Sleep(250 * time.Millisecond) // the slow handler and the cast's accounting finish

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"tenku_bus_calls_total", map[string]string{"topic": "calc", "method": "ok", "outcome": "ok"}, 3},
		{"tenku_bus_calls_total", map[string]string{"topic": "calc", "method": "missing", "outcome": "error"}, 1},
		{"tenku_bus_calls_total", map[string]string{"topic": "calc", "method": "slow", "outcome": "timeout"}, 1},
		{"tenku_bus_calls_total", map[string]string{"topic": "nobody", "outcome": "no_responders"}, 1},
		{"tenku_bus_call_duration_seconds", map[string]string{"topic": "calc", "method": "ok"}, 3},
		{"tenku_bus_casts_total", map[string]string{"topic": "calc", "method": "note", "outcome": "ok"}, 1},
		{"tenku_bus_handled_total", map[string]string{"topic": "calc", "method": "ok", "outcome": "ok"}, 3},
		{"tenku_bus_handled_total", map[string]string{"topic": "calc", "method": "missing", "outcome": "error"}, 1},
		{"tenku_bus_handled_total", map[string]string{"topic": "calc", "method": "unknown", "outcome": "error"}, 1},
		{"tenku_bus_handled_total", map[string]string{"topic": "calc", "method": "note", "outcome": "ok"}, 1},
		{"tenku_bus_handled_total", map[string]string{"method": "no-such-method"}, 0},
		{"tenku_bus_calls_total", map[string]string{"topic": "calc.node1"}, 0},
	} {
		if v := reg.Sum(c.name, c.labels); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
}
