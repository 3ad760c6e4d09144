package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Send is a cast that must not be lost: an acknowledged, retried cast.
//
// Plain NATS delivers a publish to the subscribers connected at that moment
// and drops it when there are none, which is what happens for a second or
// two while a receiver fails over from a dead cluster node to another (or
// reconnects to a restarted server). Send instead publishes the message as a
// request with a message id; the receiver acknowledges it on receipt, before
// running the handler, and forgets duplicates of an id it has seen; the
// sender retries until it has the acknowledgement or SendRetryFor has passed.
//
// Send returns at once (the message is queued in this process); messages to
// one subject leave in the order they were sent, each after the previous one
// was acknowledged or given up, so an agent never sees a port's older state
// after its newer one. A message given up is logged and counted
// (tenku_bus_casts_total outcome "lost"); one queued when the process exits
// is lost with it, which is why the state such messages announce lives in
// the database and the receivers resynchronise from it (see docs/design.md).
func (b *Bus) Send(ctx context.Context, subject, method string, args any) error {
	msg, err := b.envelopeWith(ctx, method, args, newMessageID())
	if err != nil {
		return err
	}
	b.sendMu.Lock()
	if b.closing {
		b.sendMu.Unlock()
		b.met.BusCast(subject, method, "error")
		return fmt.Errorf("send %s to %s: the bus is closed", method, subject)
	}
	if b.outbox == nil {
		b.outbox = map[string][]outMsg{}
	}
	q, running := b.outbox[subject]
	b.outbox[subject] = append(q, outMsg{method: method, data: msg})
	if !running {
		b.sendWG.Add(1)
		go b.sendLoop(subject)
	}
	b.sendMu.Unlock()
	return nil
}

// SendRetryFor is how long Send keeps retrying a message nobody acknowledges.
const SendRetryFor = 60 * time.Second

// sendAttempt bounds one attempt's wait for an acknowledgement.
const sendAttempt = 2 * time.Second

type outMsg struct {
	method string
	data   []byte
}

// sendLoop delivers a subject's queued messages one at a time, and ends
// when the queue is empty.
func (b *Bus) sendLoop(subject string) {
	defer b.sendWG.Done()
	down := false // the last message was given up: try the next ones once
	for {
		b.sendMu.Lock()
		q := b.outbox[subject]
		if len(q) == 0 {
			delete(b.outbox, subject)
			b.sendMu.Unlock()
			return
		}
		m := q[0]
		b.sendMu.Unlock()
		outcome := b.deliver(subject, m, down)
		down = outcome == "lost"
		b.met.BusCast(subject, m.method, outcome)
		b.sendMu.Lock()
		b.outbox[subject] = b.outbox[subject][1:]
		b.sendMu.Unlock()
	}
}

// deliver sends one message until it is acknowledged, the retry time is
// over or the bus closes; once only when the subject's receiver has not
// answered the previous message (so that a dead host's backlog drains).
func (b *Bus) deliver(subject string, m outMsg, once bool) string {
	retryFor := b.sendRetryFor
	if retryFor <= 0 {
		retryFor = SendRetryFor
	}
	if once {
		retryFor = 0
	}
	deadline := time.Now().Add(retryFor)
	wait := 50 * time.Millisecond
	var err error
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(b.sendCtx, sendAttempt)
		_, err = b.nc.RequestWithContext(actx, b.prefix+subject, m.data)
		cancel()
		if err == nil {
			if attempt > 1 {
				b.log.Info("cast delivered after retries", "subject", subject, "method", m.method, "attempts", attempt)
			}
			return "ok"
		}
		if b.sendCtx.Err() != nil || time.Now().Add(wait).After(deadline) || errors.Is(err, nats.ErrConnectionClosed) {
			break
		}
		select {
		case <-time.After(wait):
		case <-b.sendCtx.Done():
		}
		if wait < time.Second {
			wait *= 2
		}
	}
	if once {
		b.log.Warn("cast lost: its receiver is still not answering", "subject", subject, "method", m.method, "err", err)
		return "lost"
	}
	b.log.Error("cast lost: no receiver acknowledged it", "subject", subject, "method", m.method, "err", err)
	return "lost"
}

// stopSending gives queued messages until grace to leave, then abandons
// the rest (each is logged as lost).
func (b *Bus) stopSending(grace time.Duration) {
	b.sendMu.Lock()
	b.closing = true
	b.sendMu.Unlock()
	done := make(chan struct{})
	go func() { b.sendWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		b.sendCancel()
		<-done
	}
	b.sendCancel()
}

func newMessageID() string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// seenIDs remembers the message ids a subscription has received for dedupWindow,
// so that a Send retried after a lost acknowledgement runs once. (A retry
// that reaches another member of a queue group runs there too: handlers of
// sent messages are idempotent.)
type seenIDs struct {
	mu   sync.Mutex
	ids  map[string]time.Time
	last time.Time
}

const dedupWindow = 10 * time.Minute

// first records id and reports whether it had not been seen.
func (s *seenIDs) first(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[string]time.Time{}
	}
	if now.Sub(s.last) > time.Minute {
		for k, t := range s.ids {
			if now.Sub(t) > dedupWindow {
				delete(s.ids, k)
			}
		}
		s.last = now
	}
	if _, ok := s.ids[id]; ok {
		return false
	}
	s.ids[id] = now
	return true
}

// ack answers a sent message's request on receipt; it reports false for a
// duplicate, which must not run again.
func (b *Bus) ack(seen *seenIDs, env *Envelope, m *nats.Msg) bool {
	if env.MessageID == "" {
		return true
	}
	if m.Reply != "" {
		data, _ := json.Marshal(Reply{V: EnvelopeVersion})
		_ = m.Respond(data)
	}
	return seen.first(env.MessageID, time.Now())
}
