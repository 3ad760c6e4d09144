package conductor

import (
	"context"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/store"
)

// sweepStranded runs while the conductor does: soon after start and then
// every quarter of [conductor] stranded_build_timeout, every conductor
// looks for stranded builds.
// Several conductors may sweep at once: each change is a compare-and-swap on
// (vm_state building, task_state scheduling, no host), so one of them wins
// and the others find nothing to do.
func (c *Conductor) sweepStranded(ctx context.Context) {
	after := c.cfg.Conductor.StrandedBuildTimeout
	every := after / 4
	if every < 50*time.Millisecond {
		every = 50 * time.Millisecond
	}
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.failStranded(ctx, time.Now().Add(-after))
		t.Reset(every)
	}
}

// failStranded sets to ERROR every build in scheduling with no host whose
// last change is older than before.
func (c *Conductor) failStranded(ctx context.Context, before time.Time) {
	insts, err := c.store.Instances(ctx, store.InstanceFilter{VMStates: []states.VM{states.Building}, TaskStates: []states.Task{states.Scheduling}})
	if err != nil {
		c.log.WarnContext(ctx, "could not look for stranded builds", "err", err)
		return
	}
	none := ""
	for _, inst := range insts {
		if inst.Host != "" || inst.UpdatedAt.After(before) {
			continue
		}
		msg := "Build of instance " + inst.UUID + " was interrupted while it was being scheduled (a conductor or API process stopped); delete the server and create it again."
		vm, task := states.Error, states.NoTask
		_, err := c.store.Save(ctx, store.Save{UUID: inst.UUID,
			Update: store.Update{VMState: &vm, TaskState: &task},
			Expect: store.Expect{VM: []states.VM{states.Building}, Task: []states.Task{states.Scheduling}, Host: &none},
			Fault:  &objects.Fault{Code: 500, Message: msg}})
		if err != nil {
			continue // another conductor took it, or it moved on
		}
		c.log.WarnContext(ctx, "stranded build set to ERROR", "instance_id", inst.UUID, "since", inst.UpdatedAt)
	}
}
