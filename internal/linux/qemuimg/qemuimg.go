package qemuimg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Bin is the qemu-img command.
var Bin = "qemu-img"

// formats qemu-img is allowed to open here.
var formats = map[string]bool{"raw": true, "qcow2": true, "vmdk": true, "vdi": true, "vpc": true, "vhdx": true, "qed": true, "luks": false}

func checkFormat(f string) error {
	if !formats[f] {
		return fmt.Errorf("qemu-img: format %q not allowed", f)
	}
	return nil
}

func run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, Bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("qemu-img %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// Info is what qemu-img info says of an image.
type Info struct {
	Format         string `json:"format"`
	VirtualSize    int64  `json:"virtual-size"`
	ActualSize     int64  `json:"actual-size"`
	BackingFile    string `json:"backing-filename"`
	BackingFormat  string `json:"backing-filename-format"`
	ClusterSize    int64  `json:"cluster-size"`
	DirtyFlag      bool   `json:"dirty-flag"`
	FormatSpecific *struct {
		Type string `json:"type"`
		Data struct {
			DataFile string `json:"data-file"`
		} `json:"data"`
	} `json:"format-specific"`
}

// Inspect runs qemu-img info on an image of the given format (without
// following its backing chain).
func Inspect(ctx context.Context, path, format string) (Info, error) {
	var i Info
	if err := checkFormat(format); err != nil {
		return i, err
	}
	out, err := run(ctx, "info", "-f", format, "--output=json", "-U", path)
	if err != nil {
		return i, err
	}
	if err := json.Unmarshal(out, &i); err != nil {
		return i, fmt.Errorf("qemu-img info %s: %w", path, err)
	}
	return i, nil
}

// Create makes an empty image of size bytes.
func Create(ctx context.Context, path, format string, size int64) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	if size <= 0 {
		return errors.New("qemu-img create: size must be positive")
	}
	_, err := run(ctx, "create", "-q", "-f", format, path, strconv.FormatInt(size, 10))
	return err
}

// CreateOverlay makes a qcow2 image on a backing file of backingFormat. A
// size of 0 keeps the backing file's size; a size smaller than it fails.
func CreateOverlay(ctx context.Context, path, backing, backingFormat string, size int64) error {
	if err := checkFormat(backingFormat); err != nil {
		return err
	}
	args := []string{"create", "-q", "-f", "qcow2", "-F", backingFormat, "-b", backing, path}
	if size > 0 {
		bi, err := Inspect(ctx, backing, backingFormat)
		if err != nil {
			return err
		}
		if size < bi.VirtualSize {
			return fmt.Errorf("qemu-img: %s is %d bytes, larger than the %d asked for", backing, bi.VirtualSize, size)
		}
		args = append(args, strconv.FormatInt(size, 10))
	}
	_, err := run(ctx, args...)
	return err
}

// Convert copies an image into another format; the result has no backing
// file (the chain is flattened).
func Convert(ctx context.Context, src, srcFormat, dst, dstFormat string) error {
	if err := checkFormat(srcFormat); err != nil {
		return err
	}
	if err := checkFormat(dstFormat); err != nil {
		return err
	}
	_, err := run(ctx, "convert", "-q", "-f", srcFormat, "-O", dstFormat, src, dst)
	return err
}

// ConvertShared is Convert of an image a running QEMU holds open: it takes
// no lock on the source (-U), so the caller makes the source consistent
// first (a paused guest has flushed its disks).
func ConvertShared(ctx context.Context, src, srcFormat, dst, dstFormat string) error {
	if err := checkFormat(srcFormat); err != nil {
		return err
	}
	if err := checkFormat(dstFormat); err != nil {
		return err
	}
	_, err := run(ctx, "convert", "-q", "-U", "-f", srcFormat, "-O", dstFormat, src, dst)
	return err
}

// Resize grows an image to size bytes (never shrinks).
func Resize(ctx context.Context, path, format string, size int64) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	i, err := Inspect(ctx, path, format)
	if err != nil {
		return err
	}
	if size < i.VirtualSize {
		return fmt.Errorf("qemu-img resize: %s is %d bytes; will not shrink to %d", path, i.VirtualSize, size)
	}
	if size == i.VirtualSize {
		return nil
	}
	_, err = run(ctx, "resize", "-q", "-f", format, path, strconv.FormatInt(size, 10))
	return err
}
