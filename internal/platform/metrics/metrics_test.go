package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestNilRegistry: code handed no registry records nothing and does not panic.
func TestNilRegistry(t *testing.T) {
	var r *Registry
	r.BusCall("compute.x", "m", "ok", time.Millisecond)
	r.BusCast("compute.x", "m", "ok")
	r.BusHandled("compute.x", "m", "ok", time.Millisecond)
	r.SchedulerDecision("selected", time.Millisecond)
	r.BuildPhase("spawning", "ok", time.Millisecond)
	r.Heartbeat("nova-compute", nil)
	r.PeriodicRun("job", nil)
	r.DB("x", nil)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})
	if got := r.API("svc", h); got == nil {
		t.Fatal("API of a nil registry returned nil")
	}
}

// TestAPIRouteTemplate: the middleware labels requests with the template the
// router noted, "unmatched" otherwise, and counts panics as 500s.
func TestAPIRouteTemplate(t *testing.T) {
	r := New()
	h := r.API("svc", http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		switch hr.URL.Path {
		case "/things/1":
			NoteRoute(hr.Context(), "/things/{id}")
			w.WriteHeader(http.StatusNotFound)
		case "/boom":
			NoteRoute(hr.Context(), "/boom")
			panic("boom")
		default:
			w.Write([]byte("x"))
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, p := range []string{"/things/1", "/things/1", "/elsewhere", "/boom"} {
		if resp, err := http.Get(srv.URL + p); err == nil {
			resp.Body.Close()
		}
	}
	for _, c := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"service": "svc", "method": "GET", "route": "/things/{id}", "status": "404"}, 2},
		{map[string]string{"route": "unmatched", "status": "200"}, 1},
		{map[string]string{"route": "/boom", "status": "500"}, 1},
		{map[string]string{"route": "/things/1"}, 0},
	} {
		if v := r.Sum("tenku_api_requests_total", c.labels); v != c.want {
			t.Errorf("tenku_api_requests_total%v = %v, want %v", c.labels, v, c.want)
		}
	}
}
