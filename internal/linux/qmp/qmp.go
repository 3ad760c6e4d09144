package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// ErrClosed is returned once the connection is gone (QEMU exited or Close).
var ErrClosed = errors.New("qmp: connection closed")

// Error is an error reply of QEMU.
type Error struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

func (e *Error) Error() string { return "qmp: " + e.Class + ": " + e.Desc }

// Event is an asynchronous QMP event.
type Event struct {
	Name string          `json:"event"`
	Data json.RawMessage `json:"data,omitempty"`
	Time time.Time       `json:"-"`
}

// Greeting is what QEMU says on connect.
type Greeting struct {
	QMP struct {
		Version struct {
			QEMU struct {
				Major int `json:"major"`
				Minor int `json:"minor"`
				Micro int `json:"micro"`
			} `json:"qemu"`
			Package string `json:"package"`
		} `json:"version"`
		Capabilities []string `json:"capabilities"`
	} `json:"QMP"`
}

// maxQueued bounds the events held for a slow Events reader.
const maxQueued = 4096

type reply struct {
	ret json.RawMessage
	err error
}

type waiter struct {
	match func(Event) bool
	ch    chan Event // buffered 1
}

// Client is one QMP connection.
type Client struct {
	conn     net.Conn
	greeting Greeting

	wmu sync.Mutex // serialises writes

	mu      sync.Mutex
	nextID  uint64
	pending map[string]chan reply
	waiters map[*waiter]struct{}
	queue   []Event
	dropped int
	err     error // set once closed
	wake    chan struct{}

	events   chan Event
	done     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
}

// Dial connects to a QMP socket, reads the greeting and negotiates
// capabilities. ctx bounds the handshake only.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	c, err := handshake(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("qmp %s: %w", path, err)
	}
	return c, nil
}

// NewClient runs the handshake on an open connection.
func NewClient(ctx context.Context, conn net.Conn) (*Client, error) { return handshake(ctx, conn) }

func handshake(ctx context.Context, conn net.Conn) (*Client, error) {
	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
	} else {
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("reading greeting: %w", err)
	}
	c := &Client{
		conn:    conn,
		pending: map[string]chan reply{},
		waiters: map[*waiter]struct{}{},
		wake:    make(chan struct{}, 1),
		events:  make(chan Event, 64),
		done:    make(chan struct{}),
		stop:    make(chan struct{}),
	}
	if err := json.Unmarshal(line, &c.greeting); err != nil || c.greeting.QMP.Capabilities == nil {
		return nil, fmt.Errorf("not a QMP greeting: %.80q", line)
	}
	conn.SetReadDeadline(time.Time{})
	go c.read(r)
	go c.deliver()
	if _, err := c.Execute(ctx, "qmp_capabilities", nil); err != nil {
		c.Close()
		return nil, fmt.Errorf("qmp_capabilities: %w", err)
	}
	return c, nil
}

// Greeting returns QEMU's greeting.
func (c *Client) Greeting() Greeting { return c.greeting }

// Events delivers QMP events in order. It is closed after the connection
// ends and every queued event was delivered.
func (c *Client) Events() <-chan Event { return c.events }

// Dropped says how many events were dropped because nobody read Events.
func (c *Client) Dropped() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Done is closed when the connection ends.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while open).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the connection and the event delivery. Pending commands fail
// with ErrClosed. Call it even after the connection ended on its own.
func (c *Client) Close() error {
	err := c.conn.Close()
	<-c.done
	c.stopOnce.Do(func() { close(c.stop) })
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

type message struct {
	ID        json.RawMessage `json:"id"`
	Return    json.RawMessage `json:"return"`
	Error     *Error          `json:"error"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Timestamp *struct {
		Seconds      int64 `json:"seconds"`
		Microseconds int64 `json:"microseconds"`
	} `json:"timestamp"`
}

func (c *Client) read(r *bufio.Reader) {
	var rerr error
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			c.handle(line)
		}
		if err != nil {
			rerr = err
			break
		}
	}
	c.mu.Lock()
	c.err = fmt.Errorf("%w: %v", ErrClosed, rerr)
	for id, ch := range c.pending {
		ch <- reply{err: c.err}
		delete(c.pending, id)
	}
	for w := range c.waiters {
		delete(c.waiters, w)
		close(w.ch)
	}
	c.mu.Unlock()
	c.conn.Close()
	close(c.done)
	c.signal()
}

func (c *Client) handle(line []byte) {
	var m message
	if err := json.Unmarshal(line, &m); err != nil {
		return // not JSON: nothing can be routed
	}
	if m.Event != "" {
		ev := Event{Name: m.Event, Data: m.Data}
		if m.Timestamp != nil {
			ev.Time = time.Unix(m.Timestamp.Seconds, m.Timestamp.Microseconds*1000)
		}
		c.mu.Lock()
		for w := range c.waiters {
			if w.match(ev) {
				w.ch <- ev
				delete(c.waiters, w)
			}
		}
		if len(c.queue) >= maxQueued {
			c.queue = c.queue[1:]
			c.dropped++
		}
		c.queue = append(c.queue, ev)
		c.mu.Unlock()
		c.signal()
		return
	}
	var id string
	if err := json.Unmarshal(m.ID, &id); err != nil {
		return // a reply without our id (QEMU could not parse a command)
	}
	c.mu.Lock()
	ch := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if ch == nil {
		return
	}
	if m.Error != nil {
		ch <- reply{err: m.Error}
	} else {
		ch <- reply{ret: m.Return}
	}
}

func (c *Client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// deliver moves queued events to the events channel; only it may block on
// the channel, so the reader never does. It stops at Close, or once the
// connection ended and every queued event was delivered.
func (c *Client) deliver() {
	defer close(c.events)
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			closed := c.err != nil
			c.mu.Unlock()
			if closed {
				return
			}
			select {
			case <-c.wake:
			case <-c.stop:
				return
			}
			continue
		}
		ev := c.queue[0]
		c.queue = c.queue[1:]
		c.mu.Unlock()
		select {
		case c.events <- ev:
		case <-c.stop:
			return
		}
	}
}

// Execute runs a command and returns its "return" value. args may be nil.
func (c *Client) Execute(ctx context.Context, command string, args any) (json.RawMessage, error) {
	return c.execute(ctx, command, args, nil)
}

func (c *Client) execute(ctx context.Context, command string, args any, w *waiter) (json.RawMessage, error) {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.nextID++
	id := "tenku-" + strconv.FormatUint(c.nextID, 10)
	ch := make(chan reply, 1)
	c.pending[id] = ch
	if w != nil {
		c.waiters[w] = struct{}{}
	}
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, id)
		if w != nil {
			delete(c.waiters, w)
		}
		c.mu.Unlock()
	}
	msg := map[string]any{"execute": command, "id": id}
	if args != nil {
		msg["arguments"] = args
	}
	b, err := json.Marshal(msg)
	if err != nil {
		forget()
		return nil, err
	}
	b = append(b, '\n')
	c.wmu.Lock()
	if dl, ok := ctx.Deadline(); ok {
		c.conn.SetWriteDeadline(dl)
	} else {
		c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	}
	_, err = c.conn.Write(b)
	c.wmu.Unlock()
	if err != nil {
		forget()
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	select {
	case r := <-ch:
		if r.err != nil {
			if w != nil {
				forget()
			}
			return nil, fmt.Errorf("qmp %s: %w", command, r.err)
		}
		return r.ret, nil
	case <-ctx.Done():
		forget()
		return nil, fmt.Errorf("qmp %s: %w", command, ctx.Err())
	}
}

// ExecuteUntil runs a command and then waits for the first event that
// match accepts (registered before the command is sent). A closed
// connection ends the wait with ErrClosed, which for SHUTDOWN-style
// completions usually means QEMU exited.
func (c *Client) ExecuteUntil(ctx context.Context, command string, args any, match func(Event) bool) (Event, error) {
	w := &waiter{match: match, ch: make(chan Event, 1)}
	if _, err := c.execute(ctx, command, args, w); err != nil {
		return Event{}, err
	}
	select {
	case ev, ok := <-w.ch:
		if !ok {
			return Event{}, fmt.Errorf("qmp %s: waiting for its event: %w", command, c.Err())
		}
		return ev, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.waiters, w)
		c.mu.Unlock()
		return Event{}, fmt.Errorf("qmp %s: waiting for its event: %w", command, ctx.Err())
	}
}

// Named matches an event by name.
func Named(name string) func(Event) bool {
	return func(e Event) bool { return e.Name == name }
}

// Status is query-status's answer.
type Status struct {
	Running bool   `json:"running"`
	Status  string `json:"status"` // running, paused, prelaunch, shutdown, suspended, inmigrate, ...
}

// QueryStatus runs query-status.
func (c *Client) QueryStatus(ctx context.Context) (Status, error) {
	var s Status
	ret, err := c.Execute(ctx, "query-status", nil)
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(ret, &s)
}

// Run executes a command and decodes its answer into out (which may be nil).
func (c *Client) Run(ctx context.Context, command string, args, out any) error {
	ret, err := c.Execute(ctx, command, args)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(ret, out)
}

// DeviceDel unplugs a device and waits for QEMU's DEVICE_DELETED for it
// (the guest must cooperate; ctx bounds the wait).
func (c *Client) DeviceDel(ctx context.Context, id string) error {
	_, err := c.ExecuteUntil(ctx, "device_del", map[string]any{"id": id}, func(e Event) bool {
		if e.Name != "DEVICE_DELETED" {
			return false
		}
		var d struct {
			Device string `json:"device"`
		}
		return json.Unmarshal(e.Data, &d) == nil && d.Device == id
	})
	return err
}

// Powerdown sends an ACPI power-button press and waits for SHUTDOWN (or
// for QEMU to exit, which ends the connection: then it returns nil).
func (c *Client) Powerdown(ctx context.Context) error {
	_, err := c.ExecuteUntil(ctx, "system_powerdown", nil, Named("SHUTDOWN"))
	if errors.Is(err, ErrClosed) && ctx.Err() == nil {
		return nil
	}
	return err
}

// Quit asks QEMU to exit and waits for the connection to end.
func (c *Client) Quit(ctx context.Context) error {
	_, err := c.Execute(ctx, "quit", nil)
	if err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
