package manager

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/volume/backend"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
)

// memDriver keeps volume sizes in memory.
type memDriver struct {
	mu    sync.Mutex
	vols  map[string]int
	snaps map[string]int
}

func (d *memDriver) Name() string { return "mem" }
func (d *memDriver) Stats(context.Context) (backend.Stats, error) {
	return backend.Stats{BackendName: "mem", TotalCapacityGB: 10, FreeCapacityGB: 10}, nil
}
func (d *memDriver) Create(_ context.Context, id string, size int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.vols[id] = size
	return nil
}
func (d *memDriver) Extend(_ context.Context, id string, size int) error {
	return d.Create(context.TODO(), id, size)
}
func (d *memDriver) Exists(_ context.Context, id string) (bool, int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.vols[id]
	return ok, s, nil
}
func (d *memDriver) Delete(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.vols, id)
	return nil
}
func (d *memDriver) List(context.Context) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for id := range d.vols {
		out = append(out, id)
	}
	return out, nil
}

func (d *memDriver) CreateSnapshot(_ context.Context, vol, snap string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.vols[vol]
	if !ok {
		return backend.ErrNotFound
	}
	if d.snaps == nil {
		d.snaps = map[string]int{}
	}
	d.snaps[snap] = s
	return nil
}
func (d *memDriver) SnapshotExists(_ context.Context, snap string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.snaps[snap]
	return ok, nil
}
func (d *memDriver) DeleteSnapshot(_ context.Context, snap string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.snaps, snap)
	return nil
}
func (d *memDriver) CreateFromSnapshot(_ context.Context, id, snap string, size int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.snaps[snap]; !ok {
		return backend.ErrNotFound
	}
	d.vols[id] = size
	return nil
}
func (d *memDriver) Clone(_ context.Context, id, src string, size int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.vols[src]; !ok {
		return backend.ErrNotFound
	}
	d.vols[id] = size
	return nil
}

// TestReconcile starts a volume service after a crash: a volume left
// creating is made, one left deleting is removed, an available one whose
// data is gone goes to error, a deleted volume's leftover is removed and a
// file the cloud has no record of is kept.
func TestReconcile(t *testing.T) {
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Options{Name: "reconcile-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	var mu sync.Mutex
	updates := map[string]volume.Status{}
	destroyed := map[string]bool{}
	_, err = b.Serve(ctx, rpc.ManagerSubject, bus.ServeOptions{Queue: rpc.ManagerQueue}, map[string]bus.Handler{
		rpc.ServiceReport: func(context.Context, json.RawMessage) (any, error) { return nil, nil },
		rpc.VolumesOnHost: func(context.Context, json.RawMessage) (any, error) {
			return rpc.HostVolumes{Volumes: []rpc.HostVolume{
				{ID: "creating", Size: 1, Status: volume.StatusCreating},
				{ID: "deleting", Size: 1, Status: volume.StatusDeleting},
				{ID: "lost", Size: 1, Status: volume.StatusAvailable},
				{ID: "fine", Size: 1, Status: volume.StatusAvailable},
				{ID: "growing", Size: 1, Status: volume.StatusExtending},
				{ID: "fromsnap", Size: 3, Status: volume.StatusCreating, SnapshotID: "snap"},
				{ID: "clone", Size: 2, Status: volume.StatusCreating, SourceVolID: "fine"},
				{ID: "orphancopy", Size: 1, Status: volume.StatusCreating, SnapshotID: "nosuchsnap"},
			}, Deleted: []string{"gone"}, Snapshots: []rpc.HostSnapshot{{ID: "snap", VolumeID: "fine", Status: volume.SnapshotAvailable}}}, nil
		},
		rpc.VolumeUpdate: func(_ context.Context, raw json.RawMessage) (any, error) {
			a, _ := bus.Decode[rpc.UpdateArgs](raw)
			mu.Lock()
			updates[a.VolumeID] = a.Status
			mu.Unlock()
			return nil, nil
		},
		rpc.VolumeDestroyed: func(_ context.Context, raw json.RawMessage) (any, error) {
			a, _ := bus.Decode[rpc.DeleteArgs](raw)
			mu.Lock()
			destroyed[a.VolumeID] = true
			mu.Unlock()
			return nil, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	drv := &memDriver{vols: map[string]int{"deleting": 1, "fine": 1, "gone": 1, "stranger": 1, "growing": 2}, snaps: map[string]int{"snap": 1}}
	m, err := New(Options{Host: "h@mem"}, b, drv)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(ctx) })
	mu.Lock()
	defer mu.Unlock()
	want := map[string]volume.Status{"creating": volume.StatusAvailable, "lost": volume.StatusError, "growing": volume.StatusAvailable,
		"fromsnap": volume.StatusAvailable, "clone": volume.StatusAvailable, "orphancopy": volume.StatusError}
	for id, st := range want {
		if updates[id] != st {
			t.Errorf("%s: %q, want %q", id, updates[id], st)
		}
	}
	if _, ok := updates["fine"]; ok {
		t.Errorf("a healthy volume was touched: %v", updates["fine"])
	}
	if !destroyed["deleting"] {
		t.Error("the volume left deleting was not destroyed")
	}
	for id, want := range map[string]bool{"creating": true, "deleting": false, "gone": false, "stranger": true, "fine": true, "orphancopy": false} {
		if ok, _, _ := drv.Exists(ctx, id); ok != want {
			t.Errorf("backend has %s: %v, want %v", id, ok, want)
		}
	}
	// A copy left creating is made again from its source, at its size.
	for id, want := range map[string]int{"fromsnap": 3, "clone": 2} {
		if _, size, _ := drv.Exists(ctx, id); size != want {
			t.Errorf("%s: size %d, want %d", id, size, want)
		}
	}
}
