package states

import (
	"slices"
	"testing"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

func TestStatus(t *testing.T) {
	for _, c := range []struct {
		vm   VM
		task Task
		want string
	}{
		{Building, Scheduling, "BUILD"},
		{Building, Networking, "BUILD"},
		{Building, Spawning, "BUILD"},
		{Active, NoTask, "ACTIVE"},
		{Active, Rebooting, "REBOOT"},
		{Active, RebootingHard, "HARD_REBOOT"},
		{Active, PoweringOff, "ACTIVE"},
		{Stopped, NoTask, "SHUTOFF"},
		{Stopped, ResizePrep, "RESIZE"},
		{Resized, NoTask, "VERIFY_RESIZE"},
		{Resized, ResizeReverting, "REVERT_RESIZE"},
		{Paused, Migrating, "MIGRATING"},
		{Error, Rebuilding, "REBUILD"},
		{Error, NoTask, "ERROR"},
		{ShelvedOffloaded, NoTask, "SHELVED_OFFLOADED"},
		{SoftDeleted, NoTask, "SOFT_DELETED"},
		{"bogus", NoTask, "UNKNOWN"},
		{Active, "default", "ACTIVE"},
	} {
		if got := Status(c.vm, c.task); got != c.want {
			t.Errorf("Status(%q, %q) = %s, want %s", c.vm, c.task, got, c.want)
		}
	}
}

func TestStatusFilter(t *testing.T) {
	for _, c := range []struct {
		statuses []string
		vm       VM
		task     Task
		want     bool
	}{
		{[]string{"ACTIVE"}, Active, NoTask, true},
		{[]string{"active"}, Active, PoweringOff, true},
		{[]string{"ACTIVE"}, Active, Rebooting, false},
		{[]string{"REBOOT"}, Active, Rebooting, true},
		{[]string{"REBOOT"}, Active, NoTask, false},
		{[]string{"SHUTOFF"}, Stopped, NoTask, true},
		{[]string{"RESIZE"}, Stopped, ResizePrep, true},
		{[]string{"RESIZE"}, Active, ResizeMigrating, true},
		{[]string{"SHUTOFF", "ACTIVE"}, Stopped, NoTask, true},
		{[]string{"ERROR"}, Error, NoTask, true},
		{[]string{"ERROR"}, Error, Rebuilding, false},
		{[]string{"BUILD"}, Building, Spawning, true},
		{[]string{"BUILD"}, Active, NoTask, false},
		{[]string{"NOPE"}, Active, NoTask, false},
	} {
		if got := StatusFilter(c.statuses).Match(c.vm, c.task); got != c.want {
			t.Errorf("StatusFilter(%v).Match(%s, %s) = %v, want %v", c.statuses, c.vm, c.task, got, c.want)
		}
	}
	if vms := StatusFilter([]string{"RESIZE"}).VMStates(); !slices.Equal(vms, []VM{Active, Stopped}) {
		t.Errorf("RESIZE vm states = %v", vms)
	}
}

func TestFromStatus(t *testing.T) {
	vms, tasks := FromStatus([]string{"reboot"})
	if !slices.Equal(vms, []VM{Active}) || !slices.Contains(tasks, Rebooting) || slices.Contains(tasks, "default") {
		t.Fatalf("FromStatus(reboot) = %v %v", vms, tasks)
	}
	if !slices.Contains(Statuses(), "VERIFY_RESIZE") || slices.Contains(Statuses(), "UNKNOWN") {
		t.Fatalf("Statuses = %v", Statuses())
	}
}

func TestGuards(t *testing.T) {
	id := "11111111-2222-3333-4444-555555555555"
	for _, c := range []struct {
		a      Action
		s      Subject
		admin  bool
		ok     bool
		typ    string
		substr string
	}{
		{ActStop, Subject{VM: Active, Host: "h"}, false, true, "", ""},
		{ActStop, Subject{VM: Error}, false, true, "", ""},
		{ActStop, Subject{VM: Stopped}, false, false, "InstanceInvalidState", "Cannot 'stop' instance " + id + " while it is in vm_state stopped"},
		{ActStop, Subject{VM: Active, Task: Rebooting}, false, false, "InstanceInvalidState", "task_state rebooting"},
		{ActStart, Subject{VM: Stopped}, false, true, "", ""},
		{ActRebootSoft, Subject{VM: Stopped}, false, false, "InstanceInvalidState", "vm_state stopped"},
		{ActRebootHard, Subject{VM: Stopped}, false, true, "", ""},
		{ActRebootHard, Subject{VM: Active, Task: Rebooting}, false, true, "", ""},
		{ActRebootHard, Subject{VM: Active, Task: Spawning}, false, false, "InstanceInvalidState", "Cannot 'reboot'"},
		{ActPause, Subject{VM: Active, Locked: true}, false, false, "InstanceIsLocked", "is locked"},
		{ActPause, Subject{VM: Active, Locked: true}, true, true, "", ""},
		{ActSnapshot, Subject{VM: Active, Locked: true}, false, true, "", ""},
		{ActDelete, Subject{VM: Building, Task: Spawning, Locked: false}, false, true, "", ""},
		{ActDelete, Subject{VM: Building, Locked: true}, false, false, "InstanceIsLocked", ""},
		{ActResize, Subject{VM: Active}, false, false, "InstanceNotReady", "not ready"},
		{ActResize, Subject{VM: Active, Host: "h"}, false, true, "", ""},
		{ActConfirmResize, Subject{VM: Active}, false, false, "InstanceInvalidState", "vm_state active"},
		{ActUnshelve, Subject{VM: ShelvedOffloaded}, false, true, "", ""},
		{ActLock, Subject{VM: Building, Task: Scheduling}, false, true, "", ""},
	} {
		c.s.UUID = id
		err := Check(c.a, c.s, c.admin)
		if c.ok {
			if err != nil {
				t.Errorf("%s %+v: %v", c.a, c.s, err)
			}
			continue
		}
		f, ok := err.(*fault.Error)
		if !ok || f.Status != 409 || f.Type != c.typ || (c.substr != "" && !contains(f.Message, c.substr)) {
			t.Errorf("%s %+v: err = %v, want 409 %s containing %q", c.a, c.s, err, c.typ, c.substr)
		}
	}
	// Every action that sets a task state must allow at least one state.
	for a, g := range Guards {
		if g.VM != nil && len(g.VM) == 0 || g.Task != nil && len(g.Task) == 0 {
			t.Errorf("guard %s allows nothing", a)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
