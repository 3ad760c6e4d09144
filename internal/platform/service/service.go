package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Service is a part of a process that runs until shut down.
type Service interface {
	Name() string
	// Start begins serving and returns once the service is ready.
	Start(ctx context.Context) error
	// Shutdown stops serving, waiting for work in flight until ctx ends.
	Shutdown(ctx context.Context) error
}

// Group starts services in order and shuts them down in reverse.
type Group struct {
	Log     *slog.Logger
	mu      sync.Mutex
	started []Service
}

// Start starts each service; on a failure it shuts down those already started.
func (g *Group) Start(ctx context.Context, svcs ...Service) error {
	for _, s := range svcs {
		t0 := time.Now()
		if err := s.Start(ctx); err != nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			g.Shutdown(sctx)
			cancel()
			return fmt.Errorf("start %s: %w", s.Name(), err)
		}
		if g.Log != nil {
			g.Log.Debug("service started", "service", s.Name(), "ms", time.Since(t0).Milliseconds())
		}
		g.mu.Lock()
		g.started = append(g.started, s)
		g.mu.Unlock()
	}
	return nil
}

// Shutdown stops the started services, last first.
func (g *Group) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	started := g.started
	g.started = nil
	g.mu.Unlock()
	var errs []error
	for i := len(started) - 1; i >= 0; i-- {
		if err := started[i].Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down %s: %w", started[i].Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Func adapts start and stop functions to a Service.
type Func struct {
	N       string
	OnStart func(ctx context.Context) error
	OnStop  func(ctx context.Context) error
}

// Name returns the name.
func (f *Func) Name() string { return f.N }

// Start calls OnStart.
func (f *Func) Start(ctx context.Context) error {
	if f.OnStart == nil {
		return nil
	}
	return f.OnStart(ctx)
}

// Shutdown calls OnStop.
func (f *Func) Shutdown(ctx context.Context) error {
	if f.OnStop == nil {
		return nil
	}
	return f.OnStop(ctx)
}

// Listen opens a TCP listener, turning "address in use" into a one-line error
// that says which service wanted the port.
func Listen(name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%s cannot listen on %s: the port is already in use (another tenku or OpenStack service?)", name, addr)
		}
		if errors.Is(err, syscall.EADDRNOTAVAIL) {
			return nil, fmt.Errorf("%s cannot listen on %s: no interface of this host has that address", name, addr)
		}
		return nil, fmt.Errorf("%s cannot listen on %s: %w", name, addr, err)
	}
	return ln, nil
}

// HTTP serves a handler on an address as a Service.
type HTTP struct {
	N       string
	Addr    string
	Handler http.Handler
	Log     *slog.Logger

	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Name returns the name.
func (h *HTTP) Name() string { return h.N }

// Start listens and serves in the background.
func (h *HTTP) Start(ctx context.Context) error {
	ln, err := Listen(h.N, h.Addr)
	if err != nil {
		return err
	}
	h.ln = ln
	h.srv = &http.Server{
		Handler:           h.Handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if h.Log != nil {
		h.srv.ErrorLog = slog.NewLogLogger(h.Log.Handler(), slog.LevelWarn)
	}
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && h.Log != nil {
			h.Log.Error("http server stopped", "service", h.N, "err", err)
		}
	}()
	return nil
}

// Address returns the address actually listened on (useful with port 0).
func (h *HTTP) Address() string {
	if h.ln == nil {
		return h.Addr
	}
	return h.ln.Addr().String()
}

// Shutdown stops accepting and waits for requests in flight.
func (h *HTTP) Shutdown(ctx context.Context) error {
	if h.srv == nil {
		return nil
	}
	err := h.srv.Shutdown(ctx)
	<-h.done
	return err
}
