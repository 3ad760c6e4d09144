package api

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/glance"
)

// Images is what cinder-api needs of Glance; calls carry the caller's
// token, so a user reaches only the images the user may see.
type Images interface {
	Get(ctx context.Context, token, id string) (*glance.Image, error)
	FindByName(ctx context.Context, token, name string) ([]*glance.Image, error)
	Create(ctx context.Context, token string, c glance.Create) (*glance.Image, error)
	Delete(ctx context.Context, id string) error
}

var _ Images = (*glance.Client)(nil)

const gib = int64(1) << 30

func invalidImageRef() error {
	return fault.BadRequest("Invalid image identifier or unable to access requested image.")
}

// resolveImage finds the image an imageRef names, as Cinder does: the
// last path segment of a URL, an id, or else a unique name.
func (a *API) resolveImage(ctx context.Context, r *rest.Request, ref string) (*glance.Image, error) {
	if a.opt.Images == nil {
		return nil, fault.Unavailable("The Image service is not configured for the block storage service.")
	}
	ref = strings.TrimSpace(ref)
	id := ref
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		id = ref[i+1:]
	}
	if id == "" {
		return nil, fault.BadRequest("Invalid imageRef provided.")
	}
	token := ""
	if r.Auth != nil {
		token = r.Auth.Token
	}
	if _, err := uuid.Parse(id); err == nil {
		img, err := a.opt.Images.Get(ctx, token, id)
		if err == nil {
			return img, nil
		}
		if !errors.Is(err, glance.ErrNotFound) {
			return nil, err
		}
	}
	found, err := a.opt.Images.FindByName(ctx, token, ref)
	if err != nil && !errors.Is(err, glance.ErrNotFound) {
		return nil, err
	}
	switch len(found) {
	case 0:
		return nil, invalidImageRef()
	case 1:
		return found[0], nil
	}
	return nil, fault.Conflict("Multiple matches found for '%s', use an ID to be more specific.", ref)
}

// checkImage refuses an image a volume of size GiB cannot hold, with
// Cinder's messages (check_image_metadata).
func checkImage(img *glance.Image, size int) error {
	if img.Status != "active" {
		return fault.BadRequest("Invalid input received: Image %s is not active.", img.ID).WithType("InvalidInput")
	}
	if gbs := (img.Size + gib - 1) / gib; gbs > int64(size) {
		return fault.BadRequest("Invalid input received: Size of specified image %dGB is larger than volume size %dGB.", gbs, size).WithType("InvalidInput")
	}
	if size < img.MinDisk {
		return fault.BadRequest("Invalid input received: Volume size %dGB cannot be smaller than the image minDisk size %dGB.", size, img.MinDisk).WithType("InvalidInput")
	}
	if vs := (img.VirtualSize + gib - 1) / gib; img.VirtualSize > 0 && vs > int64(size) {
		return fault.BadRequest("Image %s is unacceptable: Image virtual size is %dGB and doesn't fit in a volume of size %dGB.", img.ID, vs, size).WithType("ImageUnacceptable")
	}
	return nil
}
