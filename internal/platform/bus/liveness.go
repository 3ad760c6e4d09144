package bus

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// A call whose receiver dies after taking it gets no reply and no error on
// plain NATS until its timeout: the bus cannot tell a dead responder from a
// slow one, and the caller's operation waits (holding, in an agent, its
// instance's lock) for a minute. So a call asks for a receipt (ackHeader);
// the receiving process answers it at once with its bus id
// (receivedByHeader), before the handler runs. While the call waits past
// livenessEvery, the caller asks that process's own subject
// (aliveSubject) whether it still listens; when NATS has had no subscriber
// there for responderGoneAfter, the process is gone (its connection
// closed: a kill -9 closes it at once) and the call fails with
// ErrResponderGone, whatever the timeout, however many replicas serve the
// subject and however soon a successor started. A receiver that does not
// send receipts (an older version) leaves its calls to the timeout.
const (
	ackHeader        = "Tenku-Ack"
	receivedByHeader = "Tenku-Received-By"
	livenessEvery    = time.Second
	// responderGoneAfter outlasts a live receiver's failover from a dead
	// cluster node (it reconnects every 250 ms and resubscribes), as
	// DefaultNoRespondersRetry does.
	responderGoneAfter = DefaultNoRespondersRetry
)

// ErrResponderGone is the cause of a call whose receiving process was seen
// to be gone before it answered: the call may or may not have had its
// effect.
var ErrResponderGone = errors.New("the process that took the call is gone")

// IsResponderGone reports whether a call failed because its receiver died.
func IsResponderGone(err error) bool { return errors.Is(err, ErrResponderGone) }

// aliveSubject is where the process of bus id answers liveness probes.
func (b *Bus) aliveSubject(id string) string { return b.prefix + "bus.alive." + id }

// replyMux receives the replies to this connection's calls on one wildcard
// inbox subscription, several messages per call (a receipt, then the reply).
type replyMux struct {
	prefix string
	mu     sync.Mutex
	next   uint64
	waits  map[string]chan *nats.Msg
}

// startLiveness gives the bus its id, answers probes of it and opens the
// reply inbox. Without it (a failure here) calls fall back to plain
// requests.
func (b *Bus) startLiveness() error {
	b.id = newMessageID()
	if _, err := b.nc.Subscribe(b.aliveSubject(b.id), func(m *nats.Msg) { _ = m.Respond(nil) }); err != nil {
		return err
	}
	mux := &replyMux{prefix: nats.NewInbox() + ".", waits: map[string]chan *nats.Msg{}}
	if _, err := b.nc.Subscribe(mux.prefix+"*", mux.deliver); err != nil {
		return err
	}
	if err := b.nc.Flush(); err != nil {
		return err
	}
	b.replies = mux
	return nil
}

func (x *replyMux) deliver(m *nats.Msg) {
	x.mu.Lock()
	ch := x.waits[m.Subject]
	x.mu.Unlock()
	if ch == nil {
		return // a late reply to a call given up
	}
	select {
	case ch <- m:
	default: // more messages than a call sends: not ours to keep
	}
}

func (x *replyMux) open() (string, chan *nats.Msg) {
	ch := make(chan *nats.Msg, 4)
	x.mu.Lock()
	x.next++
	inbox := x.prefix + strconv.FormatUint(x.next, 10)
	x.waits[inbox] = ch
	x.mu.Unlock()
	return inbox, ch
}

func (x *replyMux) close(inbox string) {
	x.mu.Lock()
	delete(x.waits, inbox)
	x.mu.Unlock()
}

// receipt answers a call's request for a receipt with this bus's id.
func (b *Bus) receipt(m *nats.Msg) {
	if m.Reply == "" || b.id == "" || m.Header.Get(ackHeader) == "" {
		return
	}
	r := nats.NewMsg(m.Reply)
	r.Header.Set(receivedByHeader, b.id)
	_ = b.nc.PublishMsg(r)
}

// watchedRequest sends one request and waits for its reply, failing with
// ErrResponderGone when the process that took it is gone.
func (b *Bus) watchedRequest(ctx context.Context, subject string, data []byte) (*nats.Msg, error) {
	if b.replies == nil {
		return b.nc.RequestWithContext(ctx, subject, data)
	}
	inbox, ch := b.replies.open()
	defer b.replies.close(inbox)
	m := nats.NewMsg(subject)
	m.Reply, m.Data = inbox, data
	m.Header.Set(ackHeader, "1")
	if err := b.nc.PublishMsg(m); err != nil {
		return nil, err
	}
	tick := time.NewTicker(livenessEvery)
	defer tick.Stop()
	var by string
	var goneSince time.Time
	for {
		select {
		case r := <-ch:
			if len(r.Data) == 0 && r.Header.Get("Status") == "503" {
				return nil, nats.ErrNoResponders
			}
			if id := r.Header.Get(receivedByHeader); id != "" && len(r.Data) == 0 {
				by = id
				continue
			}
			return r, nil
		case <-tick.C:
			if by == "" {
				continue
			}
			if !b.listens(ctx, by) {
				if goneSince.IsZero() {
					goneSince = time.Now()
				} else if time.Since(goneSince) >= responderGoneAfter {
					return nil, ErrResponderGone
				}
			} else {
				goneSince = time.Time{}
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// listens probes the process of bus id; only NATS's "no responders" (no
// subscription of it left) is an answer of no: a slow probe is not one.
func (b *Bus) listens(ctx context.Context, id string) bool {
	pctx, cancel := context.WithTimeout(ctx, 2*livenessEvery)
	defer cancel()
	_, err := b.nc.RequestWithContext(pctx, b.aliveSubject(id), nil)
	return !errors.Is(err, nats.ErrNoResponders)
}
