package metrics

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds one process's metrics.
type Registry struct {
	reg *prometheus.Registry

	apiRequests *prometheus.CounterVec
	apiLatency  *prometheus.HistogramVec
	busCalls    *prometheus.CounterVec
	busLatency  *prometheus.HistogramVec
	busCasts    *prometheus.CounterVec
	busHandled  *prometheus.CounterVec
	busHandle   *prometheus.HistogramVec
	decisions   *prometheus.CounterVec
	decideTime  prometheus.Histogram
	builds      *prometheus.CounterVec
	buildTime   *prometheus.HistogramVec
	heartbeats  *prometheus.CounterVec
	leases      *prometheus.CounterVec

	mu  sync.Mutex
	dbs map[string]bool
}

// New returns a registry with Go runtime and process collectors and tenku's
// own series registered.
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry(), dbs: map[string]bool{}}
	lat := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	r.apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenku_api_requests_total", Help: "API requests answered, by service, method, route template and status.",
	}, []string{"service", "method", "route", "status"})
	r.apiLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tenku_api_request_duration_seconds", Help: "Time to answer API requests, by service, method and route template.", Buckets: lat,
	}, []string{"service", "method", "route"})
	r.busCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenku_bus_calls_total", Help: "Bus calls (request/reply) made, by topic, method and outcome (ok, error, timeout, no_responders).",
	}, []string{"topic", "method", "outcome"})
	r.busLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tenku_bus_call_duration_seconds", Help: "Time from sending a bus call to its reply, by topic and method.", Buckets: lat,
	}, []string{"topic", "method"})
	r.busCasts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenku_bus_casts_total", Help: "Bus casts (fire and forget) sent, by topic, method and outcome.",
	}, []string{"topic", "method", "outcome"})
	r.busHandled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenku_bus_handled_total", Help: "Bus messages this process served, by topic, method and outcome.",
	}, []string{"topic", "method", "outcome"})
	r.busHandle = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tenku_bus_handle_duration_seconds", Help: "Time this process spent serving bus messages, by topic and method.", Buckets: lat,
	}, []string{"topic", "method"})
	r.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenku_scheduler_decisions_total", Help: "Scheduling decisions, by outcome (selected, no_valid_host, error).",
	}, []string{"outcome"})
	r.decideTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "tenku_scheduler_decision_duration_seconds", Help: "Time the scheduler took per decision.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	})
	r.builds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenku_builds_total", Help: "Server build phases finished on compute agents, by phase (networking, block_device_mapping, spawning, build) and outcome.",
	}, []string{"phase", "outcome"})
	r.buildTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tenku_build_phase_duration_seconds", Help: "Time of server build phases on compute agents.", Buckets: lat,
	}, []string{"phase"})
	r.heartbeats = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenku_agent_heartbeats_total", Help: "Agent heartbeats received, by binary (nova-compute, neutron-agent, ...) and outcome.",
	}, []string{"binary", "outcome"})
	r.leases = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenku_periodic_runs_total", Help: "Periodic jobs run by this process while it held the job's lease, by job and outcome.",
	}, []string{"job", "outcome"})
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.apiRequests, r.apiLatency, r.busCalls, r.busLatency, r.busCasts, r.busHandled, r.busHandle,
		r.decisions, r.decideTime, r.builds, r.buildTime, r.heartbeats, r.leases,
	)
	return r
}

// Gatherer exposes the registry (for tests and handlers).
func (r *Registry) Gatherer() prometheus.Gatherer {
	if r == nil {
		return prometheus.NewRegistry()
	}
	return r.reg
}

// Handler serves the registry in Prometheus's text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.Gatherer(), promhttp.HandlerOpts{})
}

// Topic is the first dot-separated part of a bus subject ("compute" of
// "compute.node1"), the label bus series use: a per-host subject would
// make one series per host.
func Topic(subject string) string {
	t, _, _ := strings.Cut(subject, ".")
	return t
}

// BusCall records a finished bus call.
func (r *Registry) BusCall(subject, method, outcome string, d time.Duration) {
	if r == nil {
		return
	}
	t := Topic(subject)
	r.busCalls.WithLabelValues(t, method, outcome).Inc()
	r.busLatency.WithLabelValues(t, method).Observe(d.Seconds())
}

// BusCast records a cast sent.
func (r *Registry) BusCast(subject, method, outcome string) {
	if r == nil {
		return
	}
	r.busCasts.WithLabelValues(Topic(subject), method, outcome).Inc()
}

// BusHandled records a bus message this process served.
func (r *Registry) BusHandled(subject, method, outcome string, d time.Duration) {
	if r == nil {
		return
	}
	t := Topic(subject)
	r.busHandled.WithLabelValues(t, method, outcome).Inc()
	r.busHandle.WithLabelValues(t, method).Observe(d.Seconds())
}

// SchedulerDecision records one scheduling decision: outcome is "selected",
// "no_valid_host" or "error".
func (r *Registry) SchedulerDecision(outcome string, d time.Duration) {
	if r == nil {
		return
	}
	r.decisions.WithLabelValues(outcome).Inc()
	r.decideTime.Observe(d.Seconds())
}

// BuildPhase records a finished build phase ("networking",
// "block_device_mapping", "spawning", or "build" for the whole build) and its
// outcome ("ok", "error", "rescheduled", "gone").
func (r *Registry) BuildPhase(phase, outcome string, d time.Duration) {
	if r == nil {
		return
	}
	r.builds.WithLabelValues(phase, outcome).Inc()
	r.buildTime.WithLabelValues(phase).Observe(d.Seconds())
}

// Heartbeat records an agent heartbeat received from a binary.
func (r *Registry) Heartbeat(binary string, err error) {
	if r == nil {
		return
	}
	r.heartbeats.WithLabelValues(binary, outcome(err)).Inc()
}

// PeriodicRun records a periodic job run under its lease.
func (r *Registry) PeriodicRun(job string, err error) {
	if r == nil {
		return
	}
	r.leases.WithLabelValues(job, outcome(err)).Inc()
}

func outcome(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// DB registers database/sql's pool statistics (go_sql_* series, labelled
// db_name) of a pool; a name registered twice is kept once.
func (r *Registry) DB(name string, db *sql.DB) {
	if r == nil || db == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dbs[name] {
		return
	}
	r.dbs[name] = true
	r.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// API wraps a service's HTTP handler, recording each request under the route
// template the rest router reports through the request's context (see
// WithRoute); requests no route matched are "unmatched".
func (r *Registry) API(service string, h http.Handler) http.Handler {
	if r == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		start := time.Now()
		ctx, route := WithRoute(hr.Context())
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			tmpl := *route
			if tmpl == "" {
				tmpl = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			if p := recover(); p != nil {
				status = http.StatusInternalServerError
				defer panic(p)
			}
			method := hr.Method
			if !knownMethod[method] {
				method = "other"
			}
			r.apiRequests.WithLabelValues(service, method, tmpl, strconv.Itoa(status)).Inc()
			r.apiLatency.WithLabelValues(service, method, tmpl).Observe(time.Since(start).Seconds())
		}()
		h.ServeHTTP(sw, hr.WithContext(ctx))
	})
}

var knownMethod = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

type routeKey struct{}

// WithRoute returns ctx with a place for the route template and a pointer to
// it; the router fills it with NoteRoute.
func WithRoute(ctx context.Context) (context.Context, *string) {
	p := new(string)
	return context.WithValue(ctx, routeKey{}, p), p
}

// NoteRoute records the template of the route that serves the request, when
// the request carries a place for it.
func NoteRoute(ctx context.Context, template string) {
	if p, ok := ctx.Value(routeKey{}).(*string); ok {
		*p = template
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Server serves /metrics on its own listener.
type Server struct {
	Addr string
	Reg  *Registry
	Log  *slog.Logger

	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// Name names the service.
func (s *Server) Name() string { return "metrics" }

// Start listens and serves in the background.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Reg.Handler())
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && s.Log != nil {
			s.Log.Error("metrics server stopped", "err", err)
		}
	}()
	return nil
}

// Address is the address listened on.
func (s *Server) Address() string {
	if s.ln == nil {
		return s.Addr
	}
	return s.ln.Addr().String()
}

// Shutdown stops the server.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// Sum adds up the current values of a counter, gauge, or a histogram's
// count, over the series whose labels include want (tests and tools read
// figures with it).
func (r *Registry) Sum(name string, want map[string]string) float64 {
	if r == nil {
		return 0
	}
	fams, err := r.reg.Gather()
	if err != nil {
		return 0
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}
