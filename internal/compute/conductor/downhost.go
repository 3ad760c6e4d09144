package conductor

import (
	"context"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/store"
)

// failBuildsOnDownHosts sets to ERROR, with a fault that says why, the
// builds handed to a host whose compute service is down (no heartbeat for
// service_down_time) and that have not changed since before: the agent
// died amid them, and nothing else would ever finish them (its restart
// reconciliation would, but a dead host may never return). In ERROR they
// can be evacuated (tenku manage host evacuate) or deleted. The change is
// a compare-and-swap on (building, the task it was in, that host), so a
// build the agent moves on meanwhile is left alone.
func (c *Conductor) failBuildsOnDownHosts(ctx context.Context, before time.Time) {
	insts, err := c.store.Instances(ctx, store.InstanceFilter{VMStates: []states.VM{states.Building}})
	if err != nil {
		c.log.WarnContext(ctx, "could not look for builds on down hosts", "err", err)
		return
	}
	up := map[string]bool{}
	now := time.Now()
	for _, inst := range insts {
		if inst.Host == "" || inst.UpdatedAt.After(before) {
			continue
		}
		isUp, seen := up[inst.Host]
		if !seen {
			svcs, err := c.store.Services(ctx, inst.Host, "nova-compute")
			if err != nil {
				continue
			}
			isUp = len(svcs) > 0 && svcs[0].Up(now, c.cfg.Default.ServiceDownTime)
			up[inst.Host] = isUp
		}
		if isUp {
			continue
		}
		host := inst.Host
		if inst.TaskState == states.Networking {
			// Nothing spawned yet: build it elsewhere, as a failed build is
			// (evacuating it would rebuild it without the ports it never got).
			c.log.WarnContext(ctx, "build on a down host rescheduled", "instance_id", inst.UUID, "host", host)
			c.rescheduleInstance(ctx, rpc.RescheduleRequest{InstanceUUID: inst.UUID, Failed: objects.HostNode{Host: host, Node: inst.Node},
				Reason: "compute host " + host + " is down"}, true)
			continue
		}
		vm, task := states.Error, states.NoTask
		msg := "Build of instance " + inst.UUID + " was interrupted: its compute host " + host + " is down; evacuate or delete the server."
		if _, err := c.store.Save(ctx, store.Save{UUID: inst.UUID,
			Update: store.Update{VMState: &vm, TaskState: &task},
			Expect: store.Expect{VM: []states.VM{states.Building}, Task: []states.Task{inst.TaskState}, Host: &host},
			Fault:  &objects.Fault{Code: 500, Message: msg}}); err != nil {
			continue
		}
		c.log.WarnContext(ctx, "build on a down host set to ERROR", "instance_id", inst.UUID, "host", host, "task_state", inst.TaskState)
	}
}
