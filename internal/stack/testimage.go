package stack

import (
	"context"
	"errors"

	"github.com/tenku-cloud/tenku/internal/image"
	imageapi "github.com/tenku-cloud/tenku/internal/image/api"
	"github.com/tenku-cloud/tenku/internal/testimage"
)

// TestImageName is the name the test image is registered under, as devstack
// registers cirros; its kernel and ramdisk are "<name>-vmlinuz" and
// "<name>-initrd".
const TestImageName = "tenku-testimage"

// RegisterTestImage registers a built test image as three public images of
// the admin project (an aki kernel, an ari ramdisk and the qcow2 disk naming
// them, with the properties a direct kernel boot needs), unless they are
// registered already, and returns the disk image's id.
func (s *Stack) RegisterTestImage(ctx context.Context, img *testimage.Image) (string, error) {
	glance, ok := s.Service("glance").(*image.Service)
	if !ok {
		return "", errors.New("glance does not run in this process")
	}
	_, admin, err := s.Login(ctx, "admin", "admin")
	if err != nil {
		return "", err
	}
	kernel, err := glance.Register(ctx, imageapi.File{Path: img.Kernel, Name: TestImageName + "-vmlinuz", Owner: admin.ProjectID,
		DiskFormat: "aki", ContainerFormat: "aki"})
	if err != nil {
		return "", err
	}
	ramdisk, err := glance.Register(ctx, imageapi.File{Path: img.Initrd, Name: TestImageName + "-initrd", Owner: admin.ProjectID,
		DiskFormat: "ari", ContainerFormat: "ari"})
	if err != nil {
		return "", err
	}
	disk, err := glance.Register(ctx, imageapi.File{Path: img.Disk, Name: TestImageName, Owner: admin.ProjectID,
		Properties: testimage.Properties(kernel.ID, ramdisk.ID)})
	if err != nil {
		return "", err
	}
	return disk.ID, nil
}
