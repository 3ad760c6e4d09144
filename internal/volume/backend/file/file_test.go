package file

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tenku-cloud/tenku/internal/volume/backend"
)

func TestFileBackend(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := New(dir, 3*backend.GiB, "file")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Create(ctx, "a", 2); err != nil {
		t.Fatal(err)
	}
	if err := d.Create(ctx, "a", 2); err != nil {
		t.Fatalf("create is not idempotent: %v", err)
	}
	fi, err := os.Stat(d.Path("a"))
	if err != nil || fi.Size() != 2*backend.GiB {
		t.Fatalf("file: %v %v", fi, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Blocks*512 > 1<<20 {
		t.Fatalf("volume file is not sparse: %d bytes allocated", st.Blocks*512)
	}
	if err := d.Create(ctx, "b", 2); !errors.Is(err, backend.ErrNoSpace) {
		t.Fatalf("over capacity: %v", err)
	}
	st, err := d.Stats(ctx)
	if err != nil || st.TotalCapacityGB != 3 || st.FreeCapacityGB != 1 {
		t.Fatalf("stats %+v %v", st, err)
	}
	// A crash mid-create leaves a temporary file that List sweeps.
	os.WriteFile(filepath.Join(dir, ".creating-c-123"), nil, 0o600)
	ids, err := d.List(ctx)
	if err != nil || len(ids) != 1 || ids[0] != "a" {
		t.Fatalf("list %v %v", ids, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".creating-c-123")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("temporary file not swept")
	}
	if ok, size, _ := d.Exists(ctx, "a"); !ok || size != 2 {
		t.Fatalf("exists %v %d", ok, size)
	}
	if err := d.Extend(ctx, "a", 4); !errors.Is(err, backend.ErrNoSpace) {
		t.Fatalf("extend beyond capacity: %v", err)
	}
	if err := d.Extend(ctx, "a", 3); err != nil {
		t.Fatal(err)
	}
	if ok, size, _ := d.Exists(ctx, "a"); !ok || size != 3 {
		t.Fatalf("extended to %d", size)
	}
	if err := d.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "a"); err != nil {
		t.Fatalf("delete is not idempotent: %v", err)
	}
	if err := d.Create(ctx, "../x", 1); err == nil {
		t.Fatal("path in id accepted")
	}
}
