package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
)

// HTTPOptions configure the HTTP notifier (neutron.conf's [nova] section).
type HTTPOptions struct {
	// Credentials are the network service user's; AuthURL is Keystone.
	Credentials authn.ServiceCredentials
	// Region and Interface select the compute endpoint in the catalog.
	Region    string
	Interface string
	// Interval is how long events are gathered before one POST
	// (send_events_interval); 0 means 2s.
	Interval time.Duration
	// Retries is how often a failed batch is tried again; 0 means 3.
	Retries int
	// Client is the HTTP client; nil means a 30s-timeout client.
	Client *http.Client
	Log    *slog.Logger
	// Endpoint overrides the catalog (tests).
	Endpoint string
}

// HTTP posts batched events to Nova. Start it before use and Stop it at
// shutdown; Notify queues.
type HTTP struct {
	opt HTTPOptions

	mu      sync.Mutex
	pending []Event
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	client  *gophercloud.ServiceClient
	// noComputeUntil spares Keystone a login per batch while the catalog
	// has no compute service (Nova not deployed yet).
	noComputeUntil time.Time
}

// NewHTTP returns a notifier; nothing is sent until Start.
func NewHTTP(opt HTTPOptions) *HTTP {
	if opt.Interval <= 0 {
		opt.Interval = 2 * time.Second
	}
	if opt.Retries <= 0 {
		opt.Retries = 3
	}
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if opt.Interface == "" {
		opt.Interface = "public"
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &HTTP{opt: opt, wake: make(chan struct{}, 1)}
}

// Notify queues events for the next batch.
func (h *HTTP) Notify(_ context.Context, events ...Event) {
	if len(events) == 0 {
		return
	}
	h.mu.Lock()
	h.pending = append(h.pending, events...)
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Start runs the sender until Stop.
func (h *HTTP) Start(ctx context.Context) {
	h.stop, h.done = make(chan struct{}), make(chan struct{})
	go h.run(context.WithoutCancel(ctx))
}

// Stop sends what is queued (bounded by ctx) and stops the sender.
func (h *HTTP) Stop(ctx context.Context) {
	if h.stop == nil {
		return
	}
	close(h.stop)
	select {
	case <-h.done:
	case <-ctx.Done():
	}
}

func (h *HTTP) run(ctx context.Context) {
	defer close(h.done)
	for {
		select {
		case <-h.stop:
			h.flush(ctx)
			return
		case <-h.wake:
		}
		// As Neutron's batch notifier: the first event after a quiet spell
		// goes at once; then the sender holds off for the interval, and
		// what arrived meanwhile goes in one request, until a whole
		// interval passes without events.
		for h.flush(ctx) {
			select {
			case <-h.stop:
				h.flush(ctx)
				return
			case <-time.After(h.opt.Interval):
			}
		}
	}
}

// flush sends what is pending and reports whether there was anything.
func (h *HTTP) flush(ctx context.Context) bool {
	h.mu.Lock()
	batch := h.pending
	h.pending = nil
	h.mu.Unlock()
	if len(batch) == 0 {
		return false
	}
	var err error
	for attempt := 0; attempt <= h.opt.Retries; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
		}
		if err = h.send(ctx, batch); err == nil || errors.Is(err, errNoInstances) || errors.Is(err, errNoCompute) {
			break
		}
		h.opt.Log.WarnContext(ctx, "nova notification failed", "err", err, "attempt", attempt+1, "events", len(batch))
	}
	if errors.Is(err, errNoCompute) {
		h.opt.Log.DebugContext(ctx, "no compute service in the catalog; events dropped", "events", len(batch))
		return true
	}
	if err != nil && !errors.Is(err, errNoInstances) {
		h.opt.Log.ErrorContext(ctx, "nova notifications dropped", "err", err, "events", len(batch))
		return true
	}
	h.opt.Log.InfoContext(ctx, "nova notified", "events", len(batch))
	return true
}

var (
	errNoInstances = errors.New("nova knows none of the instances")
	errNoCompute   = errors.New("the catalog has no compute endpoint")
)

func (h *HTTP) compute(ctx context.Context) (*gophercloud.ServiceClient, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.client != nil {
		return h.client, nil
	}
	if time.Now().Before(h.noComputeUntil) {
		return nil, errNoCompute
	}
	c := h.opt.Credentials
	provider, err := openstack.NewClient(c.AuthURL)
	if err != nil {
		return nil, err
	}
	provider.HTTPClient = *h.opt.Client
	if err := authn.Authenticate(ctx, provider, c); err != nil {
		return nil, fmt.Errorf("authenticate to keystone: %w", err)
	}
	var sc *gophercloud.ServiceClient
	if h.opt.Endpoint != "" {
		sc = &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: gophercloud.NormalizeURL(h.opt.Endpoint), Type: "compute"}
	} else {
		avail := gophercloud.Availability(h.opt.Interface)
		sc, err = openstack.NewComputeV2(provider, gophercloud.EndpointOpts{Region: h.opt.Region, Availability: avail})
		if err != nil {
			var nf *gophercloud.ErrEndpointNotFound
			if errors.As(err, &nf) {
				h.noComputeUntil = time.Now().Add(time.Minute)
				return nil, errNoCompute
			}
			return nil, fmt.Errorf("find the compute endpoint: %w", err)
		}
	}
	h.client = sc
	return sc, nil
}

func (h *HTTP) send(ctx context.Context, batch []Event) error {
	sc, err := h.compute(ctx)
	if err != nil {
		return err
	}
	var resp struct {
		Events []struct {
			Event
			Code int `json:"code"`
		} `json:"events"`
	}
	_, err = sc.Post(ctx, sc.ServiceURL("os-server-external-events"), map[string]any{"events": batch}, &resp,
		&gophercloud.RequestOpts{OkCodes: []int{200, 207}})
	if err != nil {
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return errNoInstances
		}
		return err
	}
	for _, e := range resp.Events {
		if e.Code != 0 && e.Code != 200 {
			h.opt.Log.InfoContext(ctx, "nova refused an event", "name", e.Name, "server_uuid", e.ServerUUID, "tag", e.Tag, "code", e.Code)
		}
	}
	return nil
}
