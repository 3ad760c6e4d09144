package qemu

import (
	"context"
	"testing"
	"time"
)

// A guest that missed the first power button press (still booting, no ACPI
// daemon yet) powers off on a later one, long before the grace ends.
func TestPowerDownPressesAgain(t *testing.T) {
	f, c := newFakeQEMU(t)
	exited := make(chan struct{})
	presses := 0
	f.onPowerdown = func() {
		presses++
		if presses == 3 {
			close(exited)
		}
	}
	t0 := time.Now()
	powerDown(context.Background(), c, exited, 10*time.Second, 20*time.Millisecond)
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("powerDown took %s: it waited out the grace", d)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if presses != 3 {
		t.Errorf("%d presses, want 3 (the guest powered off on the third)", presses)
	}
}

// A guest that never powers off is pressed until the grace ends, then
// powerDown returns for the caller to kill it.
func TestPowerDownGivesUpAtGrace(t *testing.T) {
	f, c := newFakeQEMU(t)
	presses := 0
	f.onPowerdown = func() { presses++ }
	t0 := time.Now()
	powerDown(context.Background(), c, make(chan struct{}), 300*time.Millisecond, 50*time.Millisecond)
	if d := time.Since(t0); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("powerDown returned after %s, want the 300ms grace", d)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if presses < 3 {
		t.Errorf("%d presses in 300ms at a 50ms interval", presses)
	}
}
