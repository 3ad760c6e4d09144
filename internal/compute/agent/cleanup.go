package agent

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// Cleanup and bookkeeping steps whose caller has no better answer than to
// go on (a rollback after a failure, a port of a deleted instance, an event
// record) still report what went wrong: with a real hypervisor a dropped
// error is a leaked guest, tap, port or volume connection. Each goes through
// note, which logs it with the instance and the step; guest destruction is
// retried, since a guest left running outlives its record.

// destroyAttempts and destroyBackoff bound how hard destroyGuest tries.
var (
	destroyAttempts = 3
	destroyBackoff  = 500 * time.Millisecond
)

// note logs err, when there is one, as the failure of step on instance uuid;
// kv adds context (port, volume, image ids).
func (a *Agent) note(ctx context.Context, step, uuid string, err error, kv ...any) {
	if err == nil {
		return
	}
	args := append([]any{"instance_id", uuid, "step", step, "err", err}, kv...)
	a.log.WarnContext(ctx, step+" failed", args...)
}

// errOf keeps the error of a call that also returns a value.
func errOf[T any](_ T, err error) error { return err }

// destroyGuest destroys a guest on a cleanup path, retrying with backoff;
// it returns the last error (already logged) so that a caller able to
// record a fault can. A guest already gone is not an error.
func (a *Agent) destroyGuest(ctx context.Context, r virt.Ref, why string) error {
	var err error
	for i := 0; i < destroyAttempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(destroyBackoff << (i - 1)):
			}
		}
		err = a.drv.Destroy(ctx, r, virt.DestroyOptions{})
		if err == nil || errors.Is(err, virt.ErrNotFound) {
			return nil
		}
		a.log.WarnContext(ctx, "destroying guest failed", "instance_id", r.UUID, "why", why, "attempt", i+1, "err", err)
	}
	a.log.ErrorContext(ctx, "guest may be left running", "instance_id", r.UUID, "why", why, "err", err)
	return err
}

// removeDir removes an instance's directory, noting a failure.
func (a *Agent) removeDir(ctx context.Context, uuid, dir string) {
	a.note(ctx, "removing instance files", uuid, os.RemoveAll(dir), "path", dir)
}
