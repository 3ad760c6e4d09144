package conductor

import (
	"context"
	"slices"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/lease"
)

// sweepStranded runs while the conductor does: soon after start and then
// every quarter of the shorter of [conductor] stranded_build_timeout and
// [compute] stranded_task_timeout, one conductor across replicas (the
// holder of the compute.stranded_sweep lease) looks for stranded builds,
// and for the moves and unshelves no agent has taken that have not changed
// for [compute] stranded_task_timeout. Each change is still a
// compare-and-swap on (vm_state building, task_state scheduling, no host),
// so a sweep that overlaps a lease hand-over does no harm.
func (c *Conductor) sweepStranded(ctx context.Context) {
	after := c.cfg.Conductor.StrandedBuildTimeout
	every := min(after, c.cfg.Compute.StrandedTaskTimeout) / 4
	if every < 50*time.Millisecond {
		every = 50 * time.Millisecond
	}
	lease.Every(ctx, c.store.DB(), c.holder, lease.Job{Name: "compute.stranded_sweep", Every: every, Run: func(ctx context.Context) error {
		c.failStranded(ctx, time.Now().Add(-after))
		c.failBuildsOnDownHosts(ctx, time.Now().Add(-after))
		c.undoStrandedMoves(ctx, time.Now().Add(-c.cfg.Compute.StrandedTaskTimeout))
		return nil
	}}, c.bus.Metrics(), c.log)
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

// earlyMove are the statuses of a migration no agent has taken yet, by the
// task state that started it: the conductor creates the record and picks
// the destination; the agents move it on ("migrating", "running").
var earlyMove = map[states.Task][]string{
	states.ResizePrep: {"pre-migrating"},
	states.Migrating:  {"accepted", "preparing"},
}

// undoStrandedMoves puts back out of their task the resizes, cold and live
// migrations and unshelves that no agent took and that have not changed
// since before: the API process or the conductor driving them died. The
// instance keeps its host and vm_state, with a fault that says why; a move's
// claims go back to the source and its migration is set to error, as a move
// the conductor fails itself; a resize gives back the quota its growth took.
// The compute agent settles the later steps of a move (it holds their
// locks). The first change is a compare-and-swap on the task state, so of
// several conductors one undoes a move.
func (c *Conductor) undoStrandedMoves(ctx context.Context, before time.Time) {
	insts, err := c.store.Instances(ctx, store.InstanceFilter{TaskStates: []states.Task{states.ResizePrep, states.Migrating, states.Unshelving}})
	if err != nil {
		c.log.WarnContext(ctx, "could not look for stranded moves", "err", err)
		return
	}
	for _, inst := range insts {
		if inst.UpdatedAt.After(before) {
			continue
		}
		msg := "The " + string(inst.TaskState) + " of instance " + inst.UUID + " was interrupted (an API process or conductor stopped); the instance stays where it was."
		u := store.Update{TaskState: ptr(states.NoTask)}
		expect := store.Expect{Task: []states.Task{inst.TaskState}}
		var m *objects.Migration
		switch inst.TaskState {
		case states.Unshelving:
			if inst.VMState != states.ShelvedOffloaded || inst.Host != "" {
				continue // placed: the host's agent has it
			}
			none := ""
			expect.VM, expect.Host = []states.VM{states.ShelvedOffloaded}, &none
		default:
			ms, err := c.store.Migrations(ctx, store.MigrationFilter{InstanceUUID: inst.UUID, InProgress: true})
			if err != nil {
				continue
			}
			taken := false
			for _, x := range ms {
				switch {
				case slices.Contains(earlyMove[inst.TaskState], x.Status):
					m = x
				default:
					taken = true
				}
			}
			if taken {
				continue // an agent has the move: it settles it
			}
			if inst.TaskState == states.ResizePrep {
				u.ClearNewFlavor = true
			}
		}
		// A resize's growth goes back in the transaction that ends its
		// task: of the sweep, a conductor's failMove, the API process and
		// the agents, only the winner of the task's compare-and-swap gives
		// it back.
		var release map[string]int
		if inst.TaskState == states.ResizePrep && inst.NewFlavor != nil {
			release = positive(quotaDelta(&inst.Flavor, inst.NewFlavor))
		}
		if _, err := c.store.Save(ctx, store.Save{UUID: inst.UUID, Update: u, Expect: expect,
			Fault: &objects.Fault{Code: 500, Message: msg}, Release: release}); err != nil {
			continue // another conductor took it, or it moved on
		}
		if m != nil {
			// The source's claim went under the migration's id; until it
			// did, the instance's own claim is the source's and stays.
			if held, err := c.store.Allocations(ctx, m.UUID); err == nil && len(held) > 0 {
				c.store.FreeAllocations(ctx, inst.UUID)
				c.store.MoveAllocations(ctx, m.UUID, inst.UUID)
			}
			st := "error"
			c.store.UpdateMigration(ctx, m.UUID, store.MigrationUpdate{Status: &st})
		}
		c.log.WarnContext(ctx, "stranded move undone", "instance_id", inst.UUID, "task_state", inst.TaskState, "since", inst.UpdatedAt)
	}
}

func ptr[T any](v T) *T { return &v }

// holdTask keeps a move this conductor drives from looking stranded: until
// release is called, every quarter of [compute] stranded_task_timeout it
// touches the instance with a compare-and-swap on task (an empty save), so
// that the stranded task sweep of any conductor leaves it alone while this
// one lives (a scheduling or a call slowed down by load is not a crash). It
// stops on its own once the task has moved on.
func (c *Conductor) holdTask(ctx context.Context, uuid string, task states.Task) (release func()) {
	every := c.cfg.Compute.StrandedTaskTimeout / 4
	if every <= 0 {
		return func() {}
	}
	every = max(every, 50*time.Millisecond)
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-t.C:
				if _, err := c.store.Save(hctx, store.Save{UUID: uuid, Expect: store.Expect{Task: []states.Task{task}}}); err != nil {
					if _, ok := store.IsUnexpected(err); ok {
						return
					}
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
