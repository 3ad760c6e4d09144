package api

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/glance"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// uploadFormats are the disk formats a volume may be uploaded as (the
// file backend converts with qemu-img).
var uploadFormats = []string{"raw", "qcow2", "vdi", "vhd", "vhdx", "qed"}

// glanceCore are image attributes a volume's image metadata holds that
// are not properties to copy onto an uploaded image (Cinder's
// glance_core_properties).
var glanceCore = []string{"checksum", "container_format", "disk_format", "image_name", "image_id", "min_disk", "min_ram", "name", "size"}

// uploadImage is os-volume_upload_image: available → uploading (CAS), a
// queued image made with the caller's token (so the caller's project owns
// it), then the volume service writes the data and the volume returns to
// available. force is ignored, as Cinder does unless enable_force_upload.
func (a *API) uploadImage(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	if err := a.enforceVolume(ctx, r, "volume_extension:volume_actions:upload_image", v); err != nil {
		return nil, err
	}
	var b volume.UploadImage
	if err := json.Unmarshal(arg, &b); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute os-volume_upload_image. %v", err)
	}
	if b.ImageName == nil || strings.TrimSpace(*b.ImageName) == "" {
		return nil, fault.BadRequest("Invalid input for field/attribute image_name. Value: None. None is not of type 'string'")
	}
	if len(*b.ImageName) > 255 {
		return nil, fault.BadRequest("Invalid input for field/attribute image_name. Value: %s. is too long", *b.ImageName)
	}
	if b.Force != nil {
		if _, ok := boolish(b.Force); !ok {
			return nil, fault.BadRequest("Invalid input for field/attribute force. Value: %v. It must be a boolean.", b.Force)
		}
	}
	in := glance.Create{Name: *b.ImageName, DiskFormat: b.DiskFormat, ContainerFormat: b.ContainerFormat, Visibility: "private"}
	if in.DiskFormat == "" {
		in.DiskFormat = "raw"
	}
	if in.ContainerFormat == "" {
		in.ContainerFormat = "bare"
	}
	if !slices.Contains(uploadFormats, in.DiskFormat) {
		return nil, fault.BadRequest("Invalid input for field/attribute disk_format. Value: %s. It must be one of %s.", in.DiskFormat, strings.Join(uploadFormats, ", "))
	}
	if in.ContainerFormat != "bare" {
		return nil, fault.BadRequest("Invalid input for field/attribute container_format. Value: %s. tenku uploads volumes as 'bare' images.", in.ContainerFormat)
	}
	if r.Version.AtLeast(rest.V(3, 1)) {
		if b.Visibility != "" {
			if !slices.Contains([]string{"public", "private", "shared", "community"}, b.Visibility) {
				return nil, fault.BadRequest("Invalid input for field/attribute visibility. Value: %s. It must be one of public, private, shared, community.", b.Visibility)
			}
			in.Visibility = b.Visibility
		}
		if b.Protected != nil {
			p, ok := boolish(b.Protected)
			if !ok {
				return nil, fault.BadRequest("Invalid input for field/attribute protected. Value: %v. It must be a boolean.", b.Protected)
			}
			in.Protected = p
		}
		if in.Visibility == "public" {
			if err := a.enforceVolume(ctx, r, "volume_extension:volume_actions:upload_public", v); err != nil {
				return nil, err
			}
		}
	}
	if a.opt.Images == nil {
		return nil, fault.Unavailable("The Image service is not configured for the block storage service.")
	}
	// The image keeps the properties of the image the volume came from.
	in.Properties = maps.Clone(v.ImageMetadata)
	for _, k := range glanceCore {
		delete(in.Properties, k)
	}
	if in.Properties != nil {
		in.MinDisk = atoiOr(v.ImageMetadata["min_disk"])
		in.MinRAM = atoiOr(v.ImageMetadata["min_ram"])
	}
	if v.Status != volume.StatusAvailable || v.AttachStatus != volume.Detached {
		return nil, notUploadable(v.ID)
	}
	up := volume.StatusUploading
	nv, err := a.db.UpdateVolume(ctx, v.ID, []volume.Status{volume.StatusAvailable}, store.Change{Status: &up})
	if errors.Is(err, store.ErrState) {
		return nil, notUploadable(v.ID)
	}
	if err != nil {
		return nil, err
	}
	img, err := a.opt.Images.Create(ctx, r.Auth.Token, in)
	if err != nil {
		a.fail(ctx, v.ID, volume.StatusUploading, volume.StatusAvailable, "")
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Status < 500 {
			return nil, fault.BadRequest("%s", fe.Message)
		}
		return nil, err
	}
	if err := a.bus.Send(ctx, rpc.VolumeSubject(serviceHost(v.Host)), rpc.UploadImage, rpc.UploadArgs{VolumeID: v.ID, ImageID: img.ID, DiskFormat: img.DiskFormat}); err != nil {
		a.fail(ctx, v.ID, volume.StatusUploading, volume.StatusAvailable, "")
		a.opt.Images.Delete(context.WithoutCancel(ctx), img.ID)
		return nil, fault.Unavailable("The volume service could not be reached.")
	}
	out := volume.UploadedImage{
		ID: v.ID, Status: volume.StatusUploading, DisplayDescription: v.Description, Size: v.Size,
		ImageID: img.ID, ContainerFormat: img.ContainerFormat, DiskFormat: img.DiskFormat, ImageName: img.Name,
	}
	if !nv.UpdatedAt.IsZero() {
		out.UpdatedAt = strp(fmtTime(nv.UpdatedAt))
	}
	if t, err := a.db.GetTypeAny(ctx, v.TypeID); err == nil {
		out.VolumeType = &volume.TypeBrief{ID: t.ID, Name: t.Name, Description: t.Description, IsPublic: t.IsPublic,
			ExtraSpecs: t.ExtraSpecs, CreatedAt: fmtTime(t.CreatedAt)}
		if out.VolumeType.ExtraSpecs == nil {
			out.VolumeType.ExtraSpecs = map[string]string{}
		}
		if !t.UpdatedAt.IsZero() {
			out.VolumeType.UpdatedAt = strp(fmtTime(t.UpdatedAt))
		}
	}
	if r.Version.AtLeast(rest.V(3, 1)) {
		p := img.Protected
		out.Protected, out.Visibility = &p, img.Visibility
	}
	return map[string]any{"os-volume_upload_image": out}, nil
}

func notUploadable(id string) error {
	return fault.BadRequest("Invalid volume: Volume %s status must be available", id).WithType("InvalidVolume")
}

func atoiOr(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// imageMetadataAction is os-set_image_metadata, os-unset_image_metadata
// and os-show_image_metadata: a volume's volume_image_metadata.
func (a *API) imageMetadataAction(ctx context.Context, r *rest.Request, v *store.Volume, action string, arg json.RawMessage) (any, error) {
	switch action {
	case "os-show_image_metadata":
		if err := a.enforceVolume(ctx, r, "volume_extension:volume_image_metadata:show", v); err != nil {
			return nil, err
		}
		md := v.ImageMetadata
		if md == nil {
			md = map[string]string{}
		}
		return &rest.Response{Status: http.StatusOK, Body: map[string]any{"metadata": md}}, nil
	case "os-set_image_metadata":
		if err := a.enforceVolume(ctx, r, "volume_extension:volume_image_metadata:set", v); err != nil {
			return nil, err
		}
		var b struct {
			Metadata *map[string]string `json:"metadata"`
		}
		if err := json.Unmarshal(arg, &b); err != nil || b.Metadata == nil {
			return nil, fault.BadRequest("Invalid input for field/attribute os-set_image_metadata. 'metadata' is a required property whose values are strings.")
		}
		if err := checkMetadata(*b.Metadata); err != nil {
			return nil, err
		}
		md, err := a.db.UpdateImageMetadata(ctx, v.ID, *b.Metadata, "")
		if errors.Is(err, store.ErrNotFound) {
			return nil, volumeNotFound(v.ID)
		}
		if err != nil {
			return nil, err
		}
		return &rest.Response{Status: http.StatusOK, Body: map[string]any{"metadata": md}}, nil
	}
	// os-unset_image_metadata
	if err := a.enforceVolume(ctx, r, "volume_extension:volume_image_metadata:remove", v); err != nil {
		return nil, err
	}
	var b struct {
		Key *string `json:"key"`
	}
	if err := json.Unmarshal(arg, &b); err != nil || b.Key == nil || *b.Key == "" || len(*b.Key) > 255 {
		return nil, fault.BadRequest("Invalid input for field/attribute key. 'key' is a required string of 1 to 255 characters.")
	}
	if _, err := a.db.UpdateImageMetadata(ctx, v.ID, nil, *b.Key); errors.Is(err, store.ErrNotFound) {
		return nil, fault.NotFound("Glance metadata for volume %s cannot be found.", v.ID).WithType("GlanceMetadataNotFound")
	} else if err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusOK}, nil
}
