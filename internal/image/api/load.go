package api

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/image/format"
)

// diskFormatOf names the Glance disk_format of inspected content.
var diskFormatOf = map[format.Format]string{
	format.Raw: "raw", format.QCOW2: "qcow2", format.VMDK: "vmdk", format.VHD: "vhd",
	format.VHDX: "vhdx", format.VDI: "vdi", format.ISO: "iso",
}

// Registered is the outcome of registering one image file.
type Registered struct {
	ID         string
	Name       string
	DiskFormat string
	// Existing is true when an identical image was already registered
	// and nothing was done.
	Existing bool
}

// File is an image file to register.
type File struct {
	Path, Name, Owner string
	// DiskFormat and ContainerFormat override the inspected disk format
	// and "bare": an AMI-style kernel is raw bytes registered as aki/aki.
	DiskFormat, ContainerFormat string
	// Properties are the image's extra properties.
	Properties map[string]string
}

// RegisterFile registers the image file at path as a public image of
// owner named name, with container format bare and the disk format the
// inspector finds, unless an image of that owner with that name and the
// same content (sha512) exists already. Unsafe or unrecognised files are
// refused.
func (a *API) RegisterFile(ctx context.Context, path, name, owner string) (Registered, error) {
	return a.Register(ctx, File{Path: path, Name: name, Owner: owner})
}

// Register is RegisterFile with the formats and properties given.
func (a *API) Register(ctx context.Context, file File) (Registered, error) {
	path, name, owner := file.Path, file.Name, file.Owner
	out := Registered{Name: name}
	info, err := format.InspectFile(path)
	if err != nil {
		return out, fmt.Errorf("inspect %s: %w", path, err)
	}
	if err := info.Safety(); err != nil {
		return out, fmt.Errorf("%s: %w", path, err)
	}
	disk, ok := diskFormatOf[info.Format]
	if !ok {
		return out, fmt.Errorf("%s: %s images are not registered", path, info.String())
	}
	if file.DiskFormat != "" {
		disk = file.DiskFormat
	}
	container := file.ContainerFormat
	if container == "" {
		container = "bare"
	}
	props := map[string]string{}
	for k, v := range file.Properties {
		props[k] = v
	}
	out.DiskFormat = disk
	st, err := os.Stat(path)
	if err != nil {
		return out, err
	}
	sum, err := sha512File(path)
	if err != nil {
		return out, err
	}
	same, err := a.db.FindByHash(ctx, owner, name, sum)
	if err != nil {
		return out, err
	}
	for _, im := range same {
		if im.Status == image.StatusActive && im.Size != nil && *im.Size == st.Size() {
			out.ID, out.Existing = im.ID, true
			return out, nil
		}
	}
	im := &db.Image{ID: uuid.NewString(), Name: &name, Status: image.StatusQueued, Visibility: image.VisibilityPublic,
		Owner: owner, DiskFormat: disk, ContainerFormat: container, Properties: props}
	if err := a.db.CreateImage(ctx, im); err != nil {
		return out, err
	}
	out.ID = im.ID
	if im, err = a.startData(ctx, im.ID, image.StatusSaving); err != nil {
		return out, err
	}
	f, err := os.Open(path)
	if err != nil {
		a.restore(ctx, im.ID, image.StatusSaving)
		return out, err
	}
	defer f.Close()
	if err := a.ingest(ctx, im, f, a.opt.ImageSizeCap, image.StatusSaving); err != nil {
		return out, err
	}
	a.log.InfoContext(ctx, "image file registered", "image_id", im.ID, "name", name, "disk_format", disk, "bytes", st.Size())
	return out, nil
}

func sha512File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
