package metadata

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Versions are the OpenStack metadata versions served, oldest first
// ("latest" is served too, as the newest).
var Versions = []string{"2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30", "2016-10-06", "2017-02-22",
	"2018-08-27", "2020-10-14"}

// EC2Versions are the EC2 metadata versions a config drive carries.
var EC2Versions = []string{"2009-04-04"}

// Instance is what the documents say about a guest.
type Instance struct {
	UUID             string
	Name             string
	Hostname         string
	ProjectID        string
	AvailabilityZone string
	LaunchIndex      int
	// ReservationID and InstanceName ("instance-0000000a") feed the EC2 data.
	ReservationID string
	InstanceName  string
	ImageID       string
	FlavorName    string
	// Meta is the server's metadata.
	Meta map[string]string
	// Keys are the key pairs, by name: type ("ssh" or "x509") and public key.
	Keys []Key
	// UserData is the raw user data (not base64).
	UserData []byte
	// AdminPass is put in meta_data.json when set.
	AdminPass string
	// Links are the guest's NICs.
	Links []Link
	// FloatingIPs are the floating IPs of its ports (EC2's public-ipv4).
	FloatingIPs []string
	// VendorData is the static vendor data (vendor_data.json).
	VendorData map[string]any
}

// Key is a key pair.
type Key struct {
	Name string
	Type string
	Data string
}

// Link is a NIC with its addresses.
type Link struct {
	// ID is the device name the data calls it by ("tap0f3c…").
	ID        string
	PortID    string
	MAC       string
	MTU       int
	Type      string
	NetworkID string
	Addrs     []Addr
}

// Addr is an address of a link and its subnet.
type Addr struct {
	Address string
	// CIDR is the subnet ("10.0.0.0/24"), Gateway its router (may be "").
	CIDR    string
	Gateway string
	// DHCP says the subnet runs DHCP: the guest is told to use it.
	DHCP bool
	DNS  []string
}

func versionAtLeast(v, min string) bool { return v == "latest" || v >= min }

// MetaData is openstack/<version>/meta_data.json.
func (in *Instance) MetaData(version string) map[string]any {
	meta := in.Meta
	if meta == nil {
		meta = map[string]string{}
	}
	pub := map[string]string{}
	keys := []map[string]string{}
	for _, k := range in.Keys {
		pub[k.Name] = k.Data
		typ := k.Type
		if typ == "" {
			typ = "ssh"
		}
		keys = append(keys, map[string]string{"name": k.Name, "type": typ, "data": k.Data})
	}
	m := map[string]any{
		"uuid": in.UUID, "meta": meta, "hostname": in.Hostname, "name": in.Name, "launch_index": in.LaunchIndex,
		"availability_zone": in.AvailabilityZone, "public_keys": pub,
	}
	if versionAtLeast(version, "2013-04-04") {
		m["keys"] = keys
	}
	if in.AdminPass != "" {
		m["admin_pass"] = in.AdminPass
	}
	if versionAtLeast(version, "2013-10-17") {
		seed := make([]byte, 512)
		rand.Read(seed)
		m["random_seed"] = base64.StdEncoding.EncodeToString(seed)
	}
	if versionAtLeast(version, "2015-10-15") {
		m["project_id"] = in.ProjectID
	}
	if versionAtLeast(version, "2016-06-30") {
		m["devices"] = []any{}
	}
	if versionAtLeast(version, "2020-10-14") {
		m["dedicated_cpus"] = []int{}
	}
	return m
}

// NetworkData is openstack/<version>/network_data.json (2015-10-15 on).
func (in *Instance) NetworkData() map[string]any {
	links := []any{}
	nets := []any{}
	services := []any{}
	seenDNS := map[string]bool{}
	n := 0
	for _, l := range in.Links {
		typ := l.Type
		switch typ {
		case "bridge", "ovs", "vhostuser", "tap", "phy", "hw_veb", "hostdev", "vif", "dvs", "vrouter", "macvtap":
		default:
			typ = "phy"
		}
		link := map[string]any{"id": l.ID, "vif_id": l.PortID, "type": typ, "ethernet_mac_address": l.MAC}
		if l.MTU > 0 {
			link["mtu"] = l.MTU
		}
		links = append(links, link)
		for _, a := range l.Addrs {
			pfx, err := netip.ParsePrefix(a.CIDR)
			addr, aerr := netip.ParseAddr(a.Address)
			if err != nil || aerr != nil {
				continue
			}
			version := "4"
			if addr.Is6() {
				version = "6"
			}
			net := map[string]any{"id": "network" + itoa(n), "link": l.ID, "network_id": l.NetworkID}
			n++
			if a.DHCP {
				net["type"] = "ipv" + version + "_dhcp"
				nets = append(nets, net)
				continue
			}
			net["type"] = "ipv" + version
			net["ip_address"] = a.Address
			if addr.Is4() {
				net["netmask"] = netmask4(pfx.Bits())
			} else {
				net["netmask"] = netmask6(pfx.Bits())
			}
			routes := []any{}
			if a.Gateway != "" {
				if addr.Is4() {
					routes = append(routes, map[string]any{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": a.Gateway})
				} else {
					routes = append(routes, map[string]any{"network": "::", "netmask": "::", "gateway": a.Gateway})
				}
			}
			net["routes"] = routes
			svc := []any{}
			for _, d := range a.DNS {
				svc = append(svc, map[string]any{"type": "dns", "address": d})
				if !seenDNS[d] {
					seenDNS[d] = true
					services = append(services, map[string]any{"type": "dns", "address": d})
				}
			}
			net["services"] = svc
			nets = append(nets, net)
		}
	}
	return map[string]any{"links": links, "networks": nets, "services": services}
}

// EC2MetaData is ec2/<version>/meta-data.json.
func (in *Instance) EC2MetaData() map[string]any {
	var fixed []string
	pubs := in.FloatingIPs
	for _, l := range in.Links {
		for _, a := range l.Addrs {
			fixed = append(fixed, a.Address)
		}
	}
	local := ""
	if len(fixed) > 0 {
		local = fixed[0]
	}
	keys := map[string]any{}
	for i, k := range in.Keys {
		keys[itoa(i)+"="+k.Name] = map[string]string{"openssh-key": k.Data}
	}
	host := in.Hostname
	// "FIXME" is the manifest path Nova has always served.
	m := map[string]any{
		"ami-id": in.ImageID, "ami-launch-index": in.LaunchIndex, "ami-manifest-path": "FIXME", "hostname": host,
		"instance-id": in.InstanceName, "instance-type": in.FlavorName, "local-hostname": host, "local-ipv4": local,
		"public-hostname": host, "public-ipv4": strings.Join(pubs, ","), "reservation-id": in.ReservationID,
		"security-groups": []string{}, "placement": map[string]string{"availability-zone": in.AvailabilityZone},
		"block-device-mapping": map[string]string{"ami": "vda", "root": "/dev/vda"},
	}
	if len(keys) > 0 {
		m["public-keys"] = keys
	}
	return m
}

// Files are the config drive's files by path.
func (in *Instance) Files() (map[string][]byte, error) {
	files := map[string][]byte{}
	put := func(path string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		files[path] = b
		return nil
	}
	vendor := in.VendorData
	if vendor == nil {
		vendor = map[string]any{}
	}
	for _, v := range append(slices.Clone(Versions), "latest") {
		dir := "openstack/" + v + "/"
		if err := put(dir+"meta_data.json", in.MetaData(v)); err != nil {
			return nil, err
		}
		if in.UserData != nil {
			files[dir+"user_data"] = in.UserData
		}
		if versionAtLeast(v, "2013-04-04") {
			if err := put(dir+"vendor_data.json", vendor); err != nil {
				return nil, err
			}
		}
		if versionAtLeast(v, "2015-10-15") {
			if err := put(dir+"network_data.json", in.NetworkData()); err != nil {
				return nil, err
			}
		}
		if versionAtLeast(v, "2016-10-06") {
			if err := put(dir+"vendor_data2.json", map[string]any{}); err != nil {
				return nil, err
			}
		}
	}
	for _, v := range append(slices.Clone(EC2Versions), "latest") {
		dir := "ec2/" + v + "/"
		if err := put(dir+"meta-data.json", in.EC2MetaData()); err != nil {
			return nil, err
		}
		if in.UserData != nil {
			files[dir+"user-data"] = in.UserData
		}
	}
	return files, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func netmask4(bits int) string {
	var m [4]byte
	for i := 0; i < bits && i < 32; i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(m).String()
}

func netmask6(bits int) string {
	var m [16]byte
	for i := 0; i < bits && i < 128; i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(m).String()
}
