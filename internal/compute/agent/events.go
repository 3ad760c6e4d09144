package agent

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
)

// eventKey names an expected external event: Nova's (name, tag) for an
// instance, e.g. ("network-vif-plugged", port id).
type eventKey struct {
	uuid, name, tag string
}

// waiters holds the external events work is waiting for. A waiter is
// registered before the action that makes the event (binding the port), so
// an event that arrives early is not lost.
type waiters struct {
	mu sync.Mutex
	m  map[eventKey]chan string
}

func (w *waiters) prepare(k eventKey) <-chan string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[eventKey]chan string{}
	}
	ch := make(chan string, 1)
	w.m[k] = ch
	return ch
}

func (w *waiters) drop(k eventKey) {
	w.mu.Lock()
	delete(w.m, k)
	w.mu.Unlock()
}

// deliver hands an event to its waiter; it reports whether one waited.
func (w *waiters) deliver(k eventKey, status string) bool {
	w.mu.Lock()
	ch, ok := w.m[k]
	if ok {
		delete(w.m, k)
	}
	w.mu.Unlock()
	if ok {
		ch <- status
	}
	return ok
}

// handleExternalEvent takes an event Neutron (through nova-api) reports.
func (a *Agent) handleExternalEvent(ctx context.Context, raw json.RawMessage) (any, error) {
	ev, err := decode[rpc.Event](raw)
	if err != nil {
		return nil, err
	}
	if a.waiters.deliver(eventKey{uuid: ev.InstanceUUID, name: ev.Name, tag: ev.Tag}, ev.Status) {
		a.log.InfoContext(ctx, "external event received", "instance_id", ev.InstanceUUID, "event", ev.Name, "tag", ev.Tag, "status", ev.Status)
		return nil, nil
	}
	switch ev.Name {
	case "network-changed", "network-vif-deleted", "network-vif-plugged":
		// Refresh the network info cache from Neutron.
		a.goWork(ctx, "refresh network info", ev.InstanceUUID, func(ctx context.Context) { a.refreshNetworkInfo(ctx, ev.InstanceUUID) })
	case "power-update":
		a.goWork(ctx, "power update", ev.InstanceUUID, func(ctx context.Context) { a.syncOne(ctx, ev.InstanceUUID) })
	}
	return nil, nil
}

// refreshNetworkInfo rebuilds an instance's VIFs from its ports (floating IPs
// associated, ports deleted outside Nova).
func (a *Agent) refreshNetworkInfo(ctx context.Context, uuid string) {
	unlock := a.locks.lock(uuid)
	defer unlock()
	inst, err := a.cond.Get(ctx, uuid, false)
	if err != nil || inst.Host != a.host {
		return
	}
	sctx := clients.AsService(ctx)
	ports, err := a.net.Ports(sctx, uuid)
	if err != nil {
		return
	}
	old := map[string]objects.VIF{}
	for _, v := range inst.NetworkInfo {
		old[v.ID] = v
	}
	var vifs []objects.VIF
	for _, v := range inst.NetworkInfo {
		for _, p := range ports {
			if p.ID != v.ID {
				continue
			}
			nv := v
			if err := a.fillVIF(sctx, &nv, &p); err == nil {
				vifs = append(vifs, nv)
			}
		}
	}
	for _, p := range ports {
		if _, ok := old[p.ID]; ok || p.BindingHostID != a.host {
			continue
		}
		nv := objects.VIF{ID: p.ID, NetworkID: p.NetworkID, Devname: tapName(p.ID)}
		if err := a.fillVIF(sctx, &nv, &p); err == nil {
			vifs = append(vifs, nv)
		}
	}
	if vifs == nil {
		vifs = []objects.VIF{}
	}
	if _, err := a.save(ctx, rpc.Save{UUID: uuid, Update: rpc.Update{NetworkInfo: &vifs}, Expect: rpc.Expect{VM: nonBuilding}}); err != nil {
		a.log.InfoContext(ctx, "network info not refreshed", "instance_id", uuid, "err", err)
	}
}

// nonBuilding are the vm_states whose network info a refresh may replace
// (a build owns its own).
var nonBuilding = []states.VM{states.Active, states.Stopped, states.Paused, states.Suspended, states.Rescued, states.Resized, states.Error, states.Shelved}
