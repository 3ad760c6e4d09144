package manager

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/volume/backend"
	"github.com/tenku-cloud/tenku/internal/volume/glance"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
)

// Images is what the volume service needs of Glance (as the service
// user: the API checked that the caller may see the image).
type Images interface {
	Get(ctx context.Context, token, id string) (*glance.Image, error)
	Download(ctx context.Context, id string) (io.ReadCloser, error)
	Upload(ctx context.Context, id string, data io.Reader) error
	Delete(ctx context.Context, id string) error
}

var _ Images = (*glance.Client)(nil)

// createFromImage downloads the image into the conversion directory,
// checks it against Glance's checksum, has the driver convert it into
// the volume, and records the volume available, bootable, with the
// image's metadata; any failure leaves the volume in error with the
// reason and no file behind.
func (m *Manager) createFromImage(ctx context.Context, v rpc.HostVolume) {
	md, err := m.copyImage(ctx, v)
	if err != nil {
		m.log.WarnContext(ctx, "volume not created from image", "volume", v.ID, "image", v.ImageID, "err", err)
		if derr := m.drv.Delete(ctx, v.ID); derr != nil {
			m.log.WarnContext(ctx, "half-made volume not removed", "volume", v.ID, "err", derr)
		}
		m.update(ctx, v.ID, []volume.Status{volume.StatusCreating}, volume.StatusError, err.Error())
		return
	}
	m.log.InfoContext(ctx, "volume created from image", "volume", v.ID, "image", v.ImageID, "size", v.Size)
	t := true
	m.call(ctx, rpc.VolumeUpdate, rpc.UpdateArgs{VolumeID: v.ID, From: []volume.Status{volume.StatusCreating},
		Status: volume.StatusAvailable, Bootable: &t, ImageMetadata: md})
}

func (m *Manager) copyImage(ctx context.Context, v rpc.HostVolume) (map[string]string, error) {
	iio, ok := m.drv.(backend.ImageIO)
	if !ok {
		return nil, fmt.Errorf("the %s backend cannot write images to volumes", m.drv.Name())
	}
	if m.opt.Images == nil {
		return nil, errors.New("the volume service has no Image service client")
	}
	img, err := m.opt.Images.Get(ctx, "", v.ImageID)
	if errors.Is(err, glance.ErrNotFound) {
		return nil, fmt.Errorf("image %s is gone", v.ImageID)
	}
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", v.ImageID, err)
	}
	if img.Status != "active" {
		return nil, fmt.Errorf("image %s is %s, not active", img.ID, img.Status)
	}
	if ok, size, err := m.drv.Exists(ctx, v.ID); err == nil && ok && size == v.Size {
		// A restart after the data was written: only the record is missing.
		return glance.VolumeMetadata(img), nil
	}
	tmp, err := m.download(ctx, img)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	if err := iio.CreateFromImage(ctx, v.ID, v.Size, tmp, img.DiskFormat); err != nil {
		return nil, fmt.Errorf("image %s: %w", img.ID, err)
	}
	return glance.VolumeMetadata(img), nil
}

// download writes an image's data to a new file in the conversion
// directory, checking its size and md5 checksum against Glance's record.
func (m *Manager) download(ctx context.Context, img *glance.Image) (string, error) {
	if err := os.MkdirAll(m.opt.ConversionDir, 0o700); err != nil {
		return "", err
	}
	rc, err := m.opt.Images.Download(ctx, img.ID)
	if err != nil {
		return "", fmt.Errorf("download image %s: %w", img.ID, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(m.opt.ConversionDir, "image-"+img.ID+"-")
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(f, h), rc)
	if err != nil {
		return "", fmt.Errorf("download image %s: %w", img.ID, err)
	}
	if img.Size > 0 && n != img.Size {
		return "", fmt.Errorf("image %s: downloaded %d bytes, Glance records %d", img.ID, n, img.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); img.Checksum != "" && sum != img.Checksum {
		return "", fmt.Errorf("image %s: checksum %s does not match Glance's %s", img.ID, sum, img.Checksum)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	ok = true
	return f.Name(), nil
}

// cleanConversions removes the downloads a crash left in the conversion
// directory (Reconcile runs before the service takes work).
func (m *Manager) cleanConversions(ctx context.Context) {
	ents, err := os.ReadDir(m.opt.ConversionDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "image-") || strings.HasPrefix(e.Name(), "upload-") {
			m.log.InfoContext(ctx, "removing a leftover image file", "file", e.Name())
			os.Remove(filepath.Join(m.opt.ConversionDir, e.Name()))
		}
	}
}

// upload writes a volume's data to a queued image: exported by the driver
// into the conversion directory in the image's disk format, then sent to
// Glance. The volume returns to available either way; a failed upload
// deletes the image, as Cinder does.
func (m *Manager) upload(ctx context.Context, a rpc.UploadArgs) {
	err := m.uploadData(ctx, a)
	if err != nil {
		m.log.WarnContext(ctx, "volume not uploaded to image", "volume", a.VolumeID, "image", a.ImageID, "err", err)
		if m.opt.Images != nil {
			if derr := m.opt.Images.Delete(context.WithoutCancel(ctx), a.ImageID); derr != nil {
				m.log.WarnContext(ctx, "image of a failed upload not deleted", "image", a.ImageID, "err", derr)
			}
		}
		// The volume is available again; the reason tells the API to
		// leave the user a message.
		m.update(ctx, a.VolumeID, []volume.Status{volume.StatusUploading}, volume.StatusAvailable, "upload to image "+a.ImageID+" failed: "+err.Error())
		return
	}
	m.log.InfoContext(ctx, "volume uploaded to image", "volume", a.VolumeID, "image", a.ImageID, "disk_format", a.DiskFormat)
	m.update(ctx, a.VolumeID, []volume.Status{volume.StatusUploading}, volume.StatusAvailable, "")
}

func (m *Manager) uploadData(ctx context.Context, a rpc.UploadArgs) error {
	iio, ok := m.drv.(backend.ImageIO)
	if !ok {
		return fmt.Errorf("the %s backend cannot write volumes to images", m.drv.Name())
	}
	if m.opt.Images == nil {
		return errors.New("the volume service has no Image service client")
	}
	if err := os.MkdirAll(m.opt.ConversionDir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(m.opt.ConversionDir, "upload-"+a.VolumeID+"-"+a.ImageID)
	os.Remove(tmp)
	defer os.Remove(tmp)
	if err := iio.ExportImage(ctx, a.VolumeID, tmp, a.DiskFormat); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	return m.opt.Images.Upload(ctx, a.ImageID, f)
}
