package states

import (
	"slices"
	"testing"

	wire "github.com/tenku-cloud/tenku/api/compute"
)

// The wire constants of api/compute spell what the states package stores.
func TestWireConstants(t *testing.T) {
	vms := map[VM]string{Active: wire.VMActive, Building: wire.VMBuilding, Paused: wire.VMPaused, Suspended: wire.VMSuspended,
		Stopped: wire.VMStopped, Rescued: wire.VMRescued, Resized: wire.VMResized, SoftDeleted: wire.VMSoftDeleted,
		Deleted: wire.VMDeleted, Error: wire.VMError, Shelved: wire.VMShelved, ShelvedOffloaded: wire.VMShelvedOffloaded}
	if len(vms) != len(AllVM) {
		t.Fatalf("api/compute names %d vm_states, states has %d", len(vms), len(AllVM))
	}
	for vm, w := range vms {
		if string(vm) != w {
			t.Errorf("vm_state %q is %q on the wire", vm, w)
		}
	}
	for task, w := range map[Task]string{Scheduling: wire.TaskScheduling, Networking: wire.TaskNetworking,
		BlockDeviceMapping: wire.TaskBlockDeviceMapping, Spawning: wire.TaskSpawning, Deleting: wire.TaskDeleting} {
		if string(task) != w {
			t.Errorf("task_state %q is %q on the wire", task, w)
		}
	}
	for p, w := range map[Power]int{PowerNoState: wire.PowerNoState, PowerRunning: wire.PowerRunning, PowerPaused: wire.PowerPaused,
		PowerShutdown: wire.PowerShutdown, PowerCrashed: wire.PowerCrashed, PowerSuspended: wire.PowerSuspended} {
		if int(p) != w {
			t.Errorf("power_state %d is %d on the wire", p, w)
		}
	}
	statuses := []string{wire.StatusActive, wire.StatusBuild, wire.StatusDeleted, wire.StatusError, wire.StatusHardReboot,
		wire.StatusMigrating, wire.StatusPassword, wire.StatusPaused, wire.StatusReboot, wire.StatusRebuild, wire.StatusRescue,
		wire.StatusResize, wire.StatusRevertResize, wire.StatusShelved, wire.StatusShelvedOffloaded, wire.StatusShutoff,
		wire.StatusSoftDeleted, wire.StatusSuspended, wire.StatusVerifyResize}
	for _, s := range Statuses() {
		if !slices.Contains(statuses, s) {
			t.Errorf("status %s is missing from api/compute", s)
		}
	}
}
