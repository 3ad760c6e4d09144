package qemuimg

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func need(t *testing.T) {
	if _, err := exec.LookPath(Bin); err != nil {
		t.Skip("qemu-img not installed (scripts/install-deps installs qemu-utils)")
	}
}

func TestOverlayResizeConvert(t *testing.T) {
	need(t)
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.raw")
	if err := Create(ctx, base, "raw", 1<<20); err != nil {
		t.Fatal(err)
	}
	ov := filepath.Join(dir, "disk")
	if err := CreateOverlay(ctx, ov, base, "raw", 64<<20); err != nil {
		t.Fatal(err)
	}
	i, err := Inspect(ctx, ov, "qcow2")
	if err != nil {
		t.Fatal(err)
	}
	if i.Format != "qcow2" || i.VirtualSize != 64<<20 || i.BackingFile != base || i.BackingFormat != "raw" {
		t.Fatalf("overlay: %+v", i)
	}
	if err := CreateOverlay(ctx, filepath.Join(dir, "small"), ov, "qcow2", 1<<20); err == nil {
		t.Fatal("an overlay smaller than its base was made")
	}
	if err := Resize(ctx, ov, "qcow2", 128<<20); err != nil {
		t.Fatal(err)
	}
	if err := Resize(ctx, ov, "qcow2", 1<<20); err == nil {
		t.Fatal("shrank")
	}
	if i, _ := Inspect(ctx, ov, "qcow2"); i.VirtualSize != 128<<20 {
		t.Fatalf("after resize: %+v", i)
	}
	flat := filepath.Join(dir, "flat.qcow2")
	if err := Convert(ctx, ov, "qcow2", flat, "qcow2"); err != nil {
		t.Fatal(err)
	}
	if i, _ := Inspect(ctx, flat, "qcow2"); i.BackingFile != "" || i.VirtualSize != 128<<20 {
		t.Fatalf("converted: %+v", i)
	}
	if err := Create(ctx, filepath.Join(dir, "x"), "luks", 1<<20); err == nil {
		t.Fatal("luks allowed")
	}
}

// A qcow2 file read as raw stays raw: nothing in its header is followed.
func TestExplicitFormatIsNotProbed(t *testing.T) {
	need(t)
	ctx := context.Background()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, make([]byte, 4096), 0o600)
	evil := filepath.Join(dir, "evil")
	if err := CreateOverlay(ctx, evil, secret, "raw", 0); err != nil {
		t.Fatal(err)
	}
	i, err := Inspect(ctx, evil, "raw")
	if err != nil {
		t.Fatal(err)
	}
	if i.Format != "raw" || i.BackingFile != "" {
		t.Fatalf("a qcow2 header read as raw was followed: %+v", i)
	}
}
