package agent

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/compute/virt/fake"
)

// flakyDestroy fails its first n destroys, then destroys for real.
type flakyDestroy struct {
	*fake.Driver
	fails, calls int
}

func (f *flakyDestroy) Destroy(ctx context.Context, r virt.Ref, o virt.DestroyOptions) error {
	f.calls++
	if f.calls <= f.fails {
		return errors.New("qmp: connection reset")
	}
	return f.Driver.Destroy(ctx, r, o)
}

func cleanupAgent(t *testing.T, drv virt.Driver) (*Agent, *bytes.Buffer) {
	t.Helper()
	old := destroyBackoff
	destroyBackoff = time.Millisecond
	t.Cleanup(func() { destroyBackoff = old })
	var buf bytes.Buffer
	return &Agent{drv: drv, log: slog.New(slog.NewTextHandler(&buf, nil))}, &buf
}

func spawnFake(t *testing.T, d *fake.Driver, uuid string) virt.Ref {
	t.Helper()
	r := virt.Ref{UUID: uuid, Name: "instance-" + uuid}
	if err := d.Spawn(context.Background(), &virt.Spec{Ref: r}); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDestroyGuestRetriesATransientFailure(t *testing.T) {
	f := &flakyDestroy{Driver: fake.New(fake.Config{}), fails: 2}
	a, logs := cleanupAgent(t, f)
	r := spawnFake(t, f.Driver, "u-1")
	if err := a.destroyGuest(context.Background(), r, "build"); err != nil {
		t.Fatalf("destroyGuest: %v", err)
	}
	if f.calls != 3 {
		t.Errorf("destroy called %d times, want 3", f.calls)
	}
	if _, err := f.Info(context.Background(), r); !errors.Is(err, virt.ErrNotFound) {
		t.Errorf("guest still there after destroyGuest: %v", err)
	}
	if n := strings.Count(logs.String(), "destroying guest failed"); n != 2 {
		t.Errorf("%d failure lines logged, want 2:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "instance_id=u-1") || !strings.Contains(logs.String(), "qmp: connection reset") {
		t.Errorf("log lacks the instance or the cause:\n%s", logs)
	}
}

func TestDestroyGuestReportsAGuestLeftRunning(t *testing.T) {
	d := fake.New(fake.Config{FailDestroy: true})
	a, logs := cleanupAgent(t, d)
	r := spawnFake(t, d, "u-2")
	err := a.destroyGuest(context.Background(), r, "unshelve")
	if err == nil {
		t.Fatal("destroyGuest of an undestroyable guest returned nil")
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "guest may be left running") ||
		!strings.Contains(logs.String(), "why=unshelve") {
		t.Errorf("no error line naming the leak:\n%s", logs)
	}
}

func TestDestroyGuestOfAGoneGuestIsQuiet(t *testing.T) {
	d := fake.New(fake.Config{})
	a, logs := cleanupAgent(t, d)
	if err := a.destroyGuest(context.Background(), virt.Ref{UUID: "gone"}, "build"); err != nil {
		t.Fatalf("destroyGuest of a missing guest: %v", err)
	}
	if logs.Len() != 0 {
		t.Errorf("logged for a guest already gone:\n%s", logs)
	}
}

func TestNoteLogsOnlyFailures(t *testing.T) {
	a, logs := cleanupAgent(t, fake.New(fake.Config{}))
	a.note(context.Background(), "deleting port", "u-3", nil, "port_id", "p1")
	if logs.Len() != 0 {
		t.Fatalf("logged a success: %s", logs)
	}
	a.note(context.Background(), "deleting port", "u-3", errors.New("neutron: 503"), "port_id", "p1")
	for _, want := range []string{"deleting port failed", "instance_id=u-3", "port_id=p1", "neutron: 503"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}
