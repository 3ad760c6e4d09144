package file

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tenku-cloud/tenku/internal/linux/qemuimg"
	"github.com/tenku-cloud/tenku/internal/volume/backend"
)

func needQemuImg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(qemuimg.Bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("qemu-img is missing: %v", err)
		}
		t.Skipf("qemu-img is missing: %v", err)
	}
}

// rawWithMarker writes a raw image of size bytes with marker at off.
func rawWithMarker(t *testing.T, path string, size, off int64, marker []byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(marker, off); err != nil {
		t.Fatal(err)
	}
}

func TestCreateFromImage(t *testing.T) {
	needQemuImg(t)
	ctx := context.Background()
	dir, img := t.TempDir(), t.TempDir()
	d, err := New(dir, 4*backend.GiB, "file")
	if err != nil {
		t.Fatal(err)
	}
	marker := []byte("tenku-image-marker")
	raw := filepath.Join(img, "disk.raw")
	rawWithMarker(t, raw, 64<<20, 5<<20, marker)
	qcow := filepath.Join(img, "disk.qcow2")
	if err := qemuimg.Convert(ctx, raw, "raw", qcow, "qcow2"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, src, format string }{{"q", qcow, "qcow2"}, {"r", raw, "raw"}} {
		if err := d.CreateFromImage(ctx, c.id, 1, c.src, c.format); err != nil {
			t.Fatalf("%s: %v", c.format, err)
		}
		if err := d.CreateFromImage(ctx, c.id, 1, c.src, c.format); err != nil {
			t.Fatalf("%s: not idempotent: %v", c.format, err)
		}
		if fi, err := os.Stat(d.Path(c.id)); err != nil || fi.Size() != backend.GiB {
			t.Fatalf("%s: volume file %v %v", c.format, fi, err)
		}
		if b := readAt(t, d.Path(c.id), 5<<20, len(marker)); !bytes.Equal(b, marker) {
			t.Fatalf("%s: volume without the image's data: %q", c.format, b)
		}
	}
	// Exported as qcow2 and read back, the data is the volume's.
	out := filepath.Join(img, "out.qcow2")
	if err := d.ExportImage(ctx, "q", out, "qcow2"); err != nil {
		t.Fatal(err)
	}
	if info, err := qemuimg.Inspect(ctx, out, "qcow2"); err != nil || info.VirtualSize != backend.GiB {
		t.Fatalf("exported image %+v %v", info, err)
	}
	back := filepath.Join(img, "back.raw")
	if err := qemuimg.Convert(ctx, out, "qcow2", back, "raw"); err != nil {
		t.Fatal(err)
	}
	if b := readAt(t, back, 5<<20, len(marker)); !bytes.Equal(b, marker) {
		t.Fatal("exported image lost the data")
	}
	if err := d.ExportImage(ctx, "missing", filepath.Join(img, "x"), "raw"); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("export of a missing volume: %v", err)
	}

	// Refusals leave nothing behind.
	big := filepath.Join(img, "big.qcow2")
	if err := qemuimg.Create(ctx, big, "qcow2", 2*backend.GiB); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateFromImage(ctx, "big", 1, big, "qcow2"); !errors.Is(err, backend.ErrImageTooLarge) {
		t.Fatalf("image larger than the volume: %v", err)
	}
	overlay := filepath.Join(img, "overlay.qcow2")
	if err := qemuimg.CreateOverlay(ctx, overlay, qcow, "qcow2", 64<<20); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateFromImage(ctx, "ov", 1, overlay, "qcow2"); !errors.Is(err, backend.ErrBadImage) {
		t.Fatalf("image with a backing file: %v", err)
	}
	if err := d.CreateFromImage(ctx, "vm", 1, raw, "vmdk"); !errors.Is(err, backend.ErrBadImage) {
		t.Fatalf("vmdk: %v", err)
	}
	if err := d.CreateFromImage(ctx, "junk", 1, raw, "qcow2"); !errors.Is(err, backend.ErrBadImage) {
		t.Fatalf("raw bytes called qcow2: %v", err)
	}
	if err := d.CreateFromImage(ctx, "full", 3, raw, "raw"); !errors.Is(err, backend.ErrNoSpace) {
		t.Fatalf("over capacity: %v", err)
	}
	ids, err := d.List(ctx)
	if err != nil || len(ids) != 2 {
		t.Fatalf("volumes after refusals: %v %v", ids, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Fatalf("files left behind: %v", ents)
	}
}

func readAt(t *testing.T, path string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}
