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

func TestFileSnapshotsAndCopies(t *testing.T) {
	ctx := context.Background()
	d, err := New(t.TempDir(), 4*backend.GiB, "file")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Create(ctx, "v", 1); err != nil {
		t.Fatal(err)
	}
	write := func(path string, off int64, s string) {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte(s), off); err != nil {
			t.Fatal(err)
		}
	}
	read := func(path string, off int64, n int) string {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, n)
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	write(d.Path("v"), 0, "head")
	write(d.Path("v"), 700<<20, "marker")
	if err := d.CreateSnapshot(ctx, "v", "s"); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateSnapshot(ctx, "v", "s"); err != nil {
		t.Fatalf("snapshot is not idempotent: %v", err)
	}
	// Later writes to the volume do not reach the snapshot.
	write(d.Path("v"), 700<<20, "LATER!")
	if ok, err := d.SnapshotExists(ctx, "s"); !ok || err != nil {
		t.Fatalf("snapshot exists %v %v", ok, err)
	}
	snap := d.snapPath("s")
	if got := read(snap, 700<<20, 6); got != "marker" {
		t.Fatalf("snapshot holds %q", got)
	}
	fi, _ := os.Stat(snap)
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Blocks*512 > 1<<20 {
		t.Fatalf("snapshot is not sparse: %d bytes allocated", st.Blocks*512)
	}
	// A volume from the snapshot, larger than it.
	if err := d.CreateFromSnapshot(ctx, "w", "s", 2); err != nil {
		t.Fatal(err)
	}
	if ok, size, _ := d.Exists(ctx, "w"); !ok || size != 2 {
		t.Fatalf("from snapshot: %v %d", ok, size)
	}
	if got := read(d.Path("w"), 0, 4) + read(d.Path("w"), 700<<20, 6); got != "headmarker" {
		t.Fatalf("from snapshot holds %q", got)
	}
	// Capacity counts snapshots: v(1) + s(1) + w(2) fill the 4 GiB.
	if err := d.Clone(ctx, "c", "v", 1); !errors.Is(err, backend.ErrNoSpace) {
		t.Fatalf("clone beyond capacity: %v", err)
	}
	if err := d.DeleteSnapshot(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSnapshot(ctx, "s"); err != nil {
		t.Fatalf("delete is not idempotent: %v", err)
	}
	if err := d.CreateFromSnapshot(ctx, "x", "s", 1); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("from a deleted snapshot: %v", err)
	}
	if err := d.Clone(ctx, "c", "v", 1); err != nil {
		t.Fatal(err)
	}
	if got := read(d.Path("c"), 700<<20, 6); got != "LATER!" {
		t.Fatalf("clone holds %q", got)
	}
	if err := d.Clone(ctx, "small", "w", 1); err == nil {
		t.Fatal("a clone smaller than its source was made")
	}
	ids, _ := d.List(ctx)
	if len(ids) != 3 {
		t.Fatalf("list %v (snapshots are not volumes)", ids)
	}
}
