package agent

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
)

// The prologue every instance operation shares, written once: decode the
// message, take a work slot (async), take the instance lock, re-read the
// instance and drop the message when it moved on (begin), record the start
// and finish of its action event, and the failure that puts it in ERROR
// with a fault (op.fail).

// instanceMsg is a bus message about one instance.
type instanceMsg interface{ Target() rpc.InstanceArgs }

// async returns the bus handler of an operation the agent completes in the
// background: it decodes the message, answers at once, and runs fn in an
// agent-owned goroutine (goWork).
func async[T instanceMsg](a *Agent, what string, fn func(ctx context.Context, args T)) bus.Handler {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		args, err := decode[T](raw)
		if err != nil {
			return nil, err
		}
		a.goWork(ctx, what, args.Target().InstanceUUID, func(ctx context.Context) { fn(ctx, args) })
		return nil, nil
	}
}

// errMovedOn drops a message sent for an instance that is no longer in the
// state it was sent for (another host, another task).
var errMovedOn = errors.New("the instance moved on")

// op is one operation on an instance: the instance lock, the instance as
// re-read under it, and the action event the operation records.
type op struct {
	a     *Agent
	args  rpc.InstanceArgs
	event string
	inst  *objects.Instance
	// done releases the instance lock; calling it again does nothing.
	done func()
}

// newOp is an operation recording event that takes no instance lock (its
// caller holds it, or a step it calls takes it).
func (a *Agent) newOp(event string, args rpc.InstanceArgs) *op {
	return &op{a: a, args: args, event: event, done: func() {}}
}

// lockOp takes the instance lock for an operation recording event.
func (a *Agent) lockOp(event string, args rpc.InstanceArgs) *op {
	o := a.newOp(event, args)
	o.done = sync.OnceFunc(a.locks.lock(args.InstanceUUID))
	return o
}

// load re-reads the instance (a deleted one too with deleted). When it
// cannot be read, or want (when given) refuses it (errMovedOn), the lock
// is released and the error returned.
func (o *op) load(ctx context.Context, deleted bool, want func(*objects.Instance) bool) error {
	inst, err := o.a.cond.Get(ctx, o.args.InstanceUUID, deleted)
	if err == nil && want != nil && !want(inst) {
		err = errMovedOn
	}
	if err != nil {
		o.done()
		return err
	}
	o.inst = inst
	return nil
}

// begin takes the instance lock and re-reads the instance, as load says;
// the caller releases the lock with done.
func (a *Agent) begin(ctx context.Context, event string, args rpc.InstanceArgs, want func(*objects.Instance) bool) (*op, error) {
	o := a.lockOp(event, args)
	if err := o.load(ctx, false, want); err != nil {
		return nil, err
	}
	return o, nil
}

// startRef is the start of the operation's action event, on this host.
func (o *op) startRef() rpc.EventRef {
	return rpc.EventRef{RequestID: o.args.RequestID, Event: o.event, Host: o.a.host}
}

// finishRef is the finish of the operation's action event, failed with err
// when err is not nil.
func (o *op) finishRef(err error) rpc.EventRef {
	f := rpc.EventRef{RequestID: o.args.RequestID, Event: o.event}
	if err != nil {
		f.Error = err.Error()
	}
	return f
}

// start records the start of the action event.
func (o *op) start(ctx context.Context) {
	o.record(ctx, rpc.RecordArgs{UUID: o.args.InstanceUUID, Start: []rpc.EventRef{o.startRef()}})
}

// finish records the finish of the action event, failed with err when err
// is not nil.
func (o *op) finish(ctx context.Context, err error) {
	o.record(ctx, rpc.RecordArgs{UUID: o.args.InstanceUUID, Finish: []rpc.EventRef{o.finishRef(err)}})
}

func (o *op) record(ctx context.Context, r rpc.RecordArgs) {
	o.a.note(ctx, "recording action event", o.args.InstanceUUID, o.a.cond.Record(ctx, r))
}

// step runs fn between the start and the finish of the action event and
// returns its error.
func (o *op) step(ctx context.Context, fn func() error) error {
	o.start(ctx)
	err := fn()
	o.finish(ctx, err)
	return err
}

// fail saves s (the state a failed operation leaves, ERROR as a rule) with
// the failed finish of the action event and a fault "<what> of instance
// <uuid> failed: <err>", as Nova's compute manager records it.
func (o *op) fail(ctx context.Context, what string, s rpc.Save, err error) (*objects.Instance, error) {
	s.UUID = o.args.InstanceUUID
	s.Finish = []rpc.EventRef{o.finishRef(err)}
	s.Fault = &objects.Fault{Code: 500, Message: what + " of instance " + s.UUID + " failed: " + err.Error(), Host: o.a.host}
	return o.a.save(ctx, s)
}
