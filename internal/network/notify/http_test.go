package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
)

// fakeCloud is a Keystone that issues a token with a compute endpoint, and a
// Nova that records os-server-external-events.
type fakeCloud struct {
	mu       sync.Mutex
	batches  [][]Event
	tokens   []string
	failNext int
}

func (f *fakeCloud) handler(url *string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Subject-Token", "tok-1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{
			"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			"catalog": []any{map[string]any{"type": "compute", "name": "nova", "endpoints": []any{
				map[string]any{"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": *url + "/v2.1"}}}},
		}})
	})
	mux.HandleFunc("POST /v2.1/os-server-external-events", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.tokens = append(f.tokens, r.Header.Get("X-Auth-Token"))
		if f.failNext > 0 {
			f.failNext--
			w.WriteHeader(500)
			return
		}
		var body struct{ Events []Event }
		json.NewDecoder(r.Body).Decode(&body)
		f.batches = append(f.batches, body.Events)
		out := []map[string]any{}
		for _, e := range body.Events {
			out = append(out, map[string]any{"name": e.Name, "server_uuid": e.ServerUUID, "tag": e.Tag, "status": e.Status, "code": 200})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"events": out})
	})
	return mux
}

func TestHTTPBatchesAndRetries(t *testing.T) {
	f := &fakeCloud{failNext: 1}
	var url string
	srv := httptest.NewServer(f.handler(&url))
	defer srv.Close()
	url = srv.URL
	h := NewHTTP(HTTPOptions{Credentials: authn.ServiceCredentials{AuthURL: srv.URL + "/v3", Username: "neutron", Password: "x", ProjectName: "service"},
		Region: "RegionOne", Interval: 50 * time.Millisecond})
	// Both queued before the sender starts: one batch.
	h.Notify(context.Background(), Event{Name: "network-vif-plugged", ServerUUID: "vm1", Tag: "p1", Status: Completed})
	h.Notify(context.Background(), Event{Name: "network-vif-plugged", ServerUUID: "vm1", Tag: "p2", Status: Completed})
	h.Start(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		n := len(f.batches)
		f.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.Stop(context.Background())
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.batches) != 1 || len(f.batches[0]) != 2 {
		t.Fatalf("batches %v: want one batch of both events after one failure", f.batches)
	}
	if f.tokens[len(f.tokens)-1] != "tok-1" {
		t.Fatalf("token %q", f.tokens)
	}
}

// The first event after a quiet spell goes at once; what follows within the
// interval waits for it and goes in one request, as Neutron's batch notifier
// does.
func TestHTTPSendsFirstEventAtOnceThenBatches(t *testing.T) {
	f := &fakeCloud{}
	var url string
	srv := httptest.NewServer(f.handler(&url))
	defer srv.Close()
	url = srv.URL
	h := NewHTTP(HTTPOptions{Credentials: authn.ServiceCredentials{AuthURL: srv.URL + "/v3", Username: "neutron", Password: "x", ProjectName: "service"},
		Region: "RegionOne", Interval: time.Second})
	h.Start(context.Background())
	defer h.Stop(context.Background())
	batches := func() [][]Event {
		f.mu.Lock()
		defer f.mu.Unlock()
		return slices.Clone(f.batches)
	}
	waitBatches := func(n int, within time.Duration) time.Duration {
		t0 := time.Now()
		for time.Since(t0) < within {
			if len(batches()) >= n {
				return time.Since(t0)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("batches %v: want %d within %s", batches(), n, within)
		return 0
	}
	ev := func(tag string) Event {
		return Event{Name: "network-vif-plugged", ServerUUID: "vm1", Tag: tag, Status: Completed}
	}
	h.Notify(context.Background(), ev("p1"))
	if d := waitBatches(1, 5*time.Second); d >= time.Second {
		t.Fatalf("first event sent after %s: want it at once, not after the interval", d)
	}
	h.Notify(context.Background(), ev("p2"))
	h.Notify(context.Background(), ev("p3"))
	waitBatches(2, 5*time.Second)
	time.Sleep(50 * time.Millisecond)
	if b := batches(); len(b) != 2 || len(b[0]) != 1 || len(b[1]) != 2 {
		t.Fatalf("batches %v: want [p1] then [p2 p3]", b)
	}
}

func TestRecorder(t *testing.T) {
	var r Recorder
	r.Notify(context.Background(), Event{Name: "network-vif-deleted", Tag: "p"})
	if !r.Wait("network-vif-deleted", "p", time.Second) || r.Has("network-vif-plugged", "p") || len(r.Events()) != 1 {
		t.Fatal("recorder")
	}
}

func TestHTTPWithoutNova(t *testing.T) {
	var logins atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		logins.Add(1)
		w.Header().Set("X-Subject-Token", "tok")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "catalog": []any{}}})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	h := NewHTTP(HTTPOptions{Credentials: authn.ServiceCredentials{AuthURL: srv.URL + "/v3", Username: "neutron", Password: "x", ProjectName: "service"},
		Interval: 10 * time.Millisecond})
	h.Start(context.Background())
	for i := 0; i < 3; i++ {
		h.Notify(context.Background(), Event{Name: "network-vif-plugged", ServerUUID: "vm", Tag: "p", Status: Completed})
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	h.Stop(context.Background())
	if time.Since(start) > time.Second {
		t.Fatal("stopping waited for retries")
	}
	if logins.Load() != 1 {
		t.Fatalf("%d logins: the missing compute service should be remembered", logins.Load())
	}
}
