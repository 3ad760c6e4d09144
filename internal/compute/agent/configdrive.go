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

// metadataFor is what the metadata documents say about an instance.
func metadataFor(inst *objects.Instance, vifs []objects.VIF, spec *virt.Spec) *metadata.Instance {
	m := &metadata.Instance{UUID: inst.UUID, Name: inst.DisplayName, Hostname: inst.Hostname, ProjectID: inst.ProjectID,
		AvailabilityZone: inst.AvailabilityZone, LaunchIndex: inst.LaunchIndex, ReservationID: inst.ReservationID,
		InstanceName: inst.Name(), ImageID: inst.ImageRef, FlavorName: inst.Flavor.Name, Meta: inst.Metadata,
		UserData: spec.UserData, AdminPass: spec.AdminPass}
	if inst.KeyName != "" {
		typ := "ssh"
		if strings.Contains(inst.KeyData, "BEGIN CERTIFICATE") {
			typ = "x509"
		}
		m.Keys = []metadata.Key{{Name: inst.KeyName, Type: typ, Data: inst.KeyData}}
	}
	for _, v := range vifs {
		l := metadata.Link{ID: v.Devname, PortID: v.ID, MAC: v.Address, MTU: v.MTU, Type: v.Type, NetworkID: v.NetworkID}
		for _, ip := range v.IPs {
			if ip.Type != "" && ip.Type != "fixed" {
				continue
			}
			l.Addrs = append(l.Addrs, metadata.Addr{Address: ip.Address, CIDR: ip.CIDR, Gateway: ip.Gateway, DHCP: ip.DHCP, DNS: ip.DNS})
		}
		m.Links = append(m.Links, l)
	}
	return m
}

// writeConfigDrive writes the instance's config drive (disk.config in its
// directory) and returns its path.
func writeConfigDrive(inst *objects.Instance, vifs []objects.VIF, spec *virt.Spec) (string, error) {
	files, err := metadataFor(inst, vifs, spec).Files()
	if err != nil {
		return "", err
	}
	p := filepath.Join(spec.InstanceDir, "disk.config")
	return p, metadata.WriteConfigDrive(p, files)
}
