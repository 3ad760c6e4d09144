package agent

import (
	"path/filepath"
	"strings"

	"github.com/tenku-cloud/tenku/internal/compute/metadata"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// wantsConfigDrive reads an instance's config_drive ("True", "true", "1" or
// an image id, as Nova stores it; "" for none).
func wantsConfigDrive(v string) bool {
	switch strings.ToLower(v) {
	case "", "false", "0", "no":
		return false
	}
	return true
}

// writeConfigDrive writes the instance's config drive (disk.config in its
// directory) and returns its path.
func writeConfigDrive(inst *objects.Instance, vifs []objects.VIF, spec *virt.Spec) (string, error) {
	md := metadata.FromInstance(inst, vifs, spec.AdminPass)
	md.UserData = spec.UserData
	files, err := md.Files()
	if err != nil {
		return "", err
	}
	p := filepath.Join(spec.InstanceDir, "disk.config")
	return p, metadata.WriteConfigDrive(p, files)
}
