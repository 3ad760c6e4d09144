package metadata

import (
	"encoding/base64"
	"strings"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
)

// FromInstance is what the documents say about an instance with its VIFs
// (the network info cache); adminPass is put in meta_data.json when set.
func FromInstance(inst *objects.Instance, vifs []objects.VIF, adminPass string) *Instance {
	m := &Instance{UUID: inst.UUID, Name: inst.DisplayName, Hostname: inst.Hostname, ProjectID: inst.ProjectID,
		AvailabilityZone: inst.AvailabilityZone, LaunchIndex: inst.LaunchIndex, ReservationID: inst.ReservationID,
		InstanceName: inst.Name(), ImageID: inst.ImageRef, FlavorName: inst.Flavor.Name, Meta: inst.Metadata, AdminPass: adminPass}
	if inst.UserData != "" {
		if b, err := base64.StdEncoding.DecodeString(inst.UserData); err == nil {
			m.UserData = b
		}
	}
	if inst.KeyName != "" {
		typ := "ssh"
		if strings.Contains(inst.KeyData, "BEGIN CERTIFICATE") {
			typ = "x509"
		}
		m.Keys = []Key{{Name: inst.KeyName, Type: typ, Data: inst.KeyData}}
	}
	for _, v := range vifs {
		l := Link{ID: v.Devname, PortID: v.ID, MAC: v.Address, MTU: v.MTU, Type: v.Type, NetworkID: v.NetworkID}
		for _, ip := range v.IPs {
			if ip.Type == "floating" {
				m.FloatingIPs = append(m.FloatingIPs, ip.Address)
				continue
			}
			if ip.Type != "" && ip.Type != "fixed" {
				continue
			}
			l.Addrs = append(l.Addrs, Addr{Address: ip.Address, CIDR: ip.CIDR, Gateway: ip.Gateway, DHCP: ip.DHCP, DNS: ip.DNS})
		}
		m.Links = append(m.Links, l)
	}
	return m
}
