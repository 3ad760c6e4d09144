package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/metrics"
)

// EnvelopeVersion is the major version of the message format. A receiver
// rejects messages of another major version.
const EnvelopeVersion = 1

// Envelope is a message on the bus.
type Envelope struct {
	V         int             `json:"v"`
	Method    string          `json:"method"`
	RequestID string          `json:"request_id,omitempty"`
	Auth      *authn.Context  `json:"auth,omitempty"`
	Token     string          `json:"auth_token,omitempty"`
	Args      json.RawMessage `json:"args,omitempty"`
	// MessageID marks a message sent with Send: the receiver acknowledges
	// it on receipt and runs it once.
	MessageID string `json:"msg_id,omitempty"`
}

// Reply answers a Call.
type Reply struct {
	V      int             `json:"v"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *WireError      `json:"error,omitempty"`
}

// WireError is a fault crossing the bus.
type WireError struct {
	Status  int    `json:"status"`
	Type    string `json:"type,omitempty"`
	Message string `json:"message"`
	Detail  string `json:"detail,omitempty"`
	Cause   string `json:"cause,omitempty"`
}

// Bus is a connection to NATS, and the embedded server when there is one.
type Bus struct {
	prefix string
	nc     *nats.Conn
	ns     *server.Server
	log    *slog.Logger
	met    *metrics.Registry

	mu   sync.Mutex
	subs []*Subscription

	noRespondersRetry time.Duration
	sendRetryFor      time.Duration
	sendMu            sync.Mutex
	outbox            map[string][]outMsg
	closing           bool
	sendWG            sync.WaitGroup
	sendCtx           context.Context
	sendCancel        context.CancelFunc

	// id names this connection's process to the callers it answers, and
	// replies receives the answers to its own calls (liveness.go).
	id      string
	replies *replyMux
}

// Options configure a connection.
type Options struct {
	// URL of an external NATS ("nats://127.0.0.1:4222", comma-separated for a
	// cluster). Empty means embed a server in this process.
	URL string
	// Name identifies this process to the NATS server.
	Name string
	// StoreDir is where the embedded server keeps state (unused without JetStream).
	StoreDir string
	// Prefix is put before every subject ("cloud1."), so that several clouds
	// can share one NATS without hearing each other.
	Prefix string
	Log    *slog.Logger
	// Metrics counts and times calls, casts and handled messages; nil
	// records nothing.
	Metrics *metrics.Registry
	// NoRespondersRetry is how long a Call keeps retrying while no
	// subscriber is listening (a receiver failing over to another cluster
	// node is briefly absent); 0 means DefaultNoRespondersRetry, <0 never.
	NoRespondersRetry time.Duration
	// SendRetryFor is how long Send retries a message; 0 means SendRetryFor.
	SendRetryFor time.Duration
}

// DefaultNoRespondersRetry covers a NATS client's failover: it sees the
// node's connection close, reconnects (every 250 ms) and resubscribes.
const DefaultNoRespondersRetry = 3 * time.Second

// Open connects to NATS, embedding a server with no listener when opt.URL is empty.
func Open(ctx context.Context, opt Options) (*Bus, error) {
	if opt.Log == nil {
		opt.Log = logging.Discard()
	}
	b := &Bus{log: opt.Log, prefix: opt.Prefix, met: opt.Metrics, noRespondersRetry: opt.NoRespondersRetry, sendRetryFor: opt.SendRetryFor}
	if b.noRespondersRetry == 0 {
		b.noRespondersRetry = DefaultNoRespondersRetry
	}
	b.sendCtx, b.sendCancel = context.WithCancel(context.Background())
	copts := []nats.Option{
		nats.Name(opt.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				opt.Log.Warn("bus disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { opt.Log.Info("bus reconnected", "url", c.ConnectedUrl()) }),
	}
	if opt.URL == "" {
		ns, err := server.NewServer(&server.Options{DontListen: true, NoSigs: true, NoLog: true, ServerName: "tenku-embedded", MaxPayload: 8 << 20})
		if err != nil {
			return nil, fmt.Errorf("embedded nats: %w", err)
		}
		ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			ns.Shutdown()
			return nil, errors.New("embedded nats did not become ready")
		}
		b.ns = ns
		copts = append(copts, nats.InProcessServer(ns))
	}
	nc, err := nats.Connect(opt.URL, copts...)
	if err != nil {
		if b.ns != nil {
			b.ns.Shutdown()
		}
		return nil, fmt.Errorf("connect to nats %s: %w", opt.URL, err)
	}
	b.nc = nc
	if err := b.startLiveness(); err != nil {
		opt.Log.Warn("bus: calls will not detect a receiver that dies", "err", err)
	}
	return b, nil
}

// Close drains subscriptions (waiting for running handlers) and disconnects.
func (b *Bus) Close() {
	b.stopSending(500 * time.Millisecond)
	b.mu.Lock()
	subs := b.subs
	b.subs = nil
	b.mu.Unlock()
	for _, s := range subs {
		s.Stop()
	}
	if b.nc != nil {
		b.nc.Close()
	}
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
	}
}

// Embedded reports whether this bus runs its own in-process server.
func (b *Bus) Embedded() bool { return b.ns != nil }

// Metrics returns the registry the bus records into (nil when none).
func (b *Bus) Metrics() *metrics.Registry { return b.met }

// Conn exposes the NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// HostSubject is the subject of one host's agent of a topic: "compute.node1".
func HostSubject(topic, host string) string {
	return topic + "." + strings.NewReplacer(".", "_", " ", "_", "*", "_", ">", "_").Replace(host)
}

func (b *Bus) envelope(ctx context.Context, method string, args any) ([]byte, error) {
	return b.envelopeWith(ctx, method, args, "")
}

func (b *Bus) envelopeWith(ctx context.Context, method string, args any, msgID string) ([]byte, error) {
	env := Envelope{V: EnvelopeVersion, Method: method, RequestID: logging.RequestID(ctx), MessageID: msgID}
	if a := authn.From(ctx); a != nil {
		env.Auth, env.Token = a, a.Token
	}
	if args != nil {
		raw, err := json.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("encode %s args: %w", method, err)
		}
		env.Args = raw
	}
	return json.Marshal(env)
}

// DefaultCallTimeout bounds a Call whose context has no deadline.
const DefaultCallTimeout = 60 * time.Second

// Call sends a request to one subscriber of subject and waits for its reply,
// decoding the result into result (which may be nil).
func (b *Bus) Call(ctx context.Context, subject, method string, args, result any) (err error) {
	start, outcome := time.Now(), ""
	defer func() {
		if outcome == "" {
			outcome = callOutcome(err)
		}
		b.met.BusCall(subject, method, outcome, time.Since(start))
	}()
	msg, err := b.envelope(ctx, method, args)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultCallTimeout)
		defer cancel()
	}
	resp, err := b.request(ctx, subject, msg)
	if err != nil {
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			outcome = "no_responders"
			f := fault.Unavailable("no service is listening on %s", subject)
			f.Err = nats.ErrNoResponders
			return f
		case errors.Is(err, ErrResponderGone):
			return &fault.Error{Status: 503, Type: "ServiceUnavailable", Message: fmt.Sprintf("%s on %s: %v before it answered", method, subject, err), Err: err}
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
			return &fault.Error{Status: 504, Type: "MessagingTimeout", Message: fmt.Sprintf("timed out waiting for a reply to %s on %s", method, subject), Err: err}
		}
		return fmt.Errorf("call %s on %s: %w", method, subject, err)
	}
	var rep Reply
	if err := json.Unmarshal(resp.Data, &rep); err != nil {
		return fmt.Errorf("decode reply to %s: %w", method, err)
	}
	if rep.Error != nil {
		f := &fault.Error{Status: rep.Error.Status, Type: rep.Error.Type, Message: rep.Error.Message, Detail: rep.Error.Detail}
		if rep.Error.Cause != "" {
			f.Err = errors.New(rep.Error.Cause)
		}
		return f
	}
	if result != nil && len(rep.Result) > 0 {
		if err := json.Unmarshal(rep.Result, result); err != nil {
			return fmt.Errorf("decode %s result: %w", method, err)
		}
	}
	return nil
}

// request sends a call, retrying while nobody listens on subject for up to
// noRespondersRetry (within ctx): "no responders" means no process received
// the request, so sending it again cannot run it twice.
func (b *Bus) request(ctx context.Context, subject string, msg []byte) (*nats.Msg, error) {
	giveUp := time.Now().Add(b.noRespondersRetry)
	wait := 25 * time.Millisecond
	for {
		resp, err := b.watchedRequest(ctx, b.prefix+subject, msg)
		if !errors.Is(err, nats.ErrNoResponders) || time.Now().Add(wait).After(giveUp) {
			return resp, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
			return resp, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return resp, err
		}
		if wait < 400*time.Millisecond {
			wait *= 2
		}
	}
}

// IsNoResponders reports whether a call failed because no service listened
// on its subject (as opposed to one that took it and did not answer).
func IsNoResponders(err error) bool { return errors.Is(err, nats.ErrNoResponders) }

// callOutcome names a call's result for metrics.
func callOutcome(err error) string {
	if err == nil {
		return "ok"
	}
	var f *fault.Error
	if errors.As(err, &f) && f.Type == "MessagingTimeout" {
		return "timeout"
	}
	return "error"
}

// Cast sends a message without waiting: to one member of a queue group, or to
// every plain subscriber.
func (b *Bus) Cast(ctx context.Context, subject, method string, args any) error {
	msg, err := b.envelope(ctx, method, args)
	if err != nil {
		return err
	}
	if err := b.nc.Publish(b.prefix+subject, msg); err != nil {
		b.met.BusCast(subject, method, "error")
		return fmt.Errorf("cast %s to %s: %w", method, subject, err)
	}
	b.met.BusCast(subject, method, "ok")
	return nil
}

// Flush waits until the server has processed everything sent so far.
func (b *Bus) Flush(ctx context.Context) error { return b.nc.FlushWithContext(ctx) }

// Handler serves one method: args is the raw JSON the caller sent. The context
// carries the caller's request id and authenticated context.
type Handler func(ctx context.Context, args json.RawMessage) (any, error)

// Subscription is a running server for a subject.
type Subscription struct {
	sub      *nats.Subscription
	wg       sync.WaitGroup
	sem      chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	stopOnce sync.Once
	// seen is this subscription's sent-message ids: every subscriber of a
	// fan-out subject runs a message once, even two in one process.
	seen seenIDs
}

// Stop unsubscribes and waits for running handlers to finish.
func (s *Subscription) Stop() {
	s.stopOnce.Do(func() {
		s.sub.Drain()
		s.wg.Wait()
		s.cancel()
	})
}

// ServeOptions tune a subscription.
type ServeOptions struct {
	// Queue makes subscribers share messages (one each); empty means fan-out.
	Queue string
	// Concurrency bounds handlers running at once; 0 means 64.
	Concurrency int
}

// Serve runs handlers for the methods sent to subject until the subscription is
// stopped or the bus closed. Each message runs in its own goroutine, at most
// Concurrency at a time.
func (b *Bus) Serve(ctx context.Context, subject string, o ServeOptions, handlers map[string]Handler) (*Subscription, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Subscription{sem: make(chan struct{}, o.Concurrency), ctx: sctx, cancel: cancel}
	cb := func(m *nats.Msg) {
		b.receipt(m)
		s.wg.Add(1)
		s.sem <- struct{}{}
		go func() {
			defer func() { <-s.sem; s.wg.Done() }()
			b.handle(s.ctx, &s.seen, subject, m, handlers)
		}()
	}
	var err error
	if o.Queue != "" {
		s.sub, err = b.nc.QueueSubscribe(b.prefix+subject, o.Queue, cb)
	} else {
		s.sub, err = b.nc.Subscribe(b.prefix+subject, cb)
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	// Make sure the server knows the subscription before callers rely on it.
	if err := b.nc.Flush(); err != nil {
		s.sub.Unsubscribe()
		cancel()
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	b.mu.Lock()
	b.subs = append(b.subs, s)
	b.mu.Unlock()
	return s, nil
}

func (b *Bus) handle(ctx context.Context, seen *seenIDs, subject string, m *nats.Msg, handlers map[string]Handler) {
	var env Envelope
	start := time.Now()
	acked := false
	reply := func(result any, err error) {
		method := env.Method
		if _, ok := handlers[method]; !ok {
			method = "unknown" // a sender's typo must not make a series
		}
		b.met.BusHandled(subject, method, callOutcome(err), time.Since(start))
		if m.Reply == "" || acked {
			if err != nil {
				b.log.WarnContext(ctx, "cast failed", "subject", subject, "method", env.Method, "err", err)
			}
			return
		}
		rep := Reply{V: EnvelopeVersion}
		if err != nil {
			f := fault.As(err)
			rep.Error = &WireError{Status: f.Status, Type: f.Type, Message: f.Message, Detail: f.Detail}
			if f.Err != nil {
				rep.Error.Cause = f.Err.Error()
			}
			if f.Status >= 500 {
				b.log.ErrorContext(ctx, "call failed", "subject", subject, "method", env.Method, "err", err)
			}
		} else if result != nil {
			raw, merr := json.Marshal(result)
			if merr != nil {
				rep.Error = &WireError{Status: 500, Message: "reply could not be encoded", Cause: merr.Error()}
			} else {
				rep.Result = raw
			}
		}
		data, _ := json.Marshal(rep)
		if err := m.Respond(data); err != nil {
			b.log.WarnContext(ctx, "reply lost", "subject", subject, "err", err)
		}
	}
	if err := json.Unmarshal(m.Data, &env); err != nil {
		reply(nil, fault.BadRequest("malformed bus message: %v", err))
		return
	}
	if env.V != EnvelopeVersion {
		reply(nil, fault.BadRequest("bus message version %d is not supported (want %d)", env.V, EnvelopeVersion))
		return
	}
	if env.MessageID != "" {
		if !b.ack(seen, &env, m) {
			return // a retry of a message already received
		}
		acked = true
	}
	if env.RequestID != "" {
		ctx = logging.WithRequestID(ctx, env.RequestID)
	}
	if env.Auth != nil {
		a := *env.Auth
		a.Token = env.Token
		ctx = authn.With(ctx, &a)
	}
	h, ok := handlers[env.Method]
	if !ok {
		reply(nil, fault.NotImplemented("method %q is not served on %s", env.Method, subject))
		return
	}
	var (
		result any
		err    error
	)
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic in %s: %v", env.Method, p)
			}
		}()
		result, err = h(ctx, env.Args)
	}()
	reply(result, err)
}

// Decode unmarshals handler args, answering a 400 fault when they do not fit.
func Decode[T any](args json.RawMessage) (T, error) {
	var v T
	if len(args) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(args, &v); err != nil {
		return v, fault.BadRequest("malformed arguments: %v", err)
	}
	return v, nil
}
