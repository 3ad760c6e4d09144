package fakes

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	netapi "github.com/tenku-cloud/tenku/api/network"
	"io"
	"net"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Images is an in-memory Glance.
type Images struct {
	mu     sync.Mutex
	images map[string]*objects.ImageMeta
	data   map[string][]byte
	// Downloads counts Download calls.
	Downloads int
}

var _ clients.Images = (*Images)(nil)

// NewImages returns an empty image store.
func NewImages() *Images {
	return &Images{images: map[string]*objects.ImageMeta{}, data: map[string][]byte{}}
}

// Add stores an active image with data.
func (f *Images) Add(m objects.ImageMeta, data []byte) *objects.ImageMeta {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	if m.Status == "" {
		m.Status = "active"
	}
	if m.DiskFormat == "" {
		m.DiskFormat = "qcow2"
	}
	if m.ContainerFormat == "" {
		m.ContainerFormat = "bare"
	}
	m.Size = int64(len(data))
	if m.HashAlgo == "" {
		sum := sha512.Sum512(data)
		m.HashAlgo, m.HashValue = "sha512", hex.EncodeToString(sum[:])
	}
	if m.Properties == nil {
		m.Properties = map[string]string{}
	}
	f.images[m.ID] = &m
	f.data[m.ID] = data
	c := m
	return &c
}

func notFound(id string) error {
	return fault.NotFound("Image %s could not be found.", id).WithType("ImageNotFound")
}

// Get returns an image.
func (f *Images) Get(_ context.Context, id string) (*objects.ImageMeta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.images[id]
	if !ok {
		return nil, notFound(id)
	}
	c := *m
	return &c, nil
}

// List lists images.
func (f *Images) List(_ context.Context, flt clients.ImageFilter) ([]*objects.ImageMeta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*objects.ImageMeta
	for _, m := range f.images {
		if flt.Name != "" && m.Name != flt.Name || flt.Status != "" && m.Status != flt.Status {
			continue
		}
		c := *m
		out = append(out, &c)
	}
	return out, nil
}

// Download returns an image's data.
func (f *Images) Download(_ context.Context, id string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.images[id]
	if !ok {
		return nil, notFound(id)
	}
	if m.Status != "active" {
		return nil, fault.Conflict("image %s is %s", id, m.Status)
	}
	f.Downloads++
	return io.NopCloser(bytes.NewReader(f.data[id])), nil
}

// Create registers a queued image.
func (f *Images) Create(_ context.Context, c clients.ImageCreate) (*objects.ImageMeta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := &objects.ImageMeta{ID: uuid.NewString(), Name: c.Name, Status: "queued", DiskFormat: c.DiskFormat,
		ContainerFormat: c.ContainerFormat, MinDisk: c.MinDisk, MinRAM: c.MinRAM, Visibility: c.Visibility,
		Properties: map[string]string{}, CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
	for k, v := range c.Properties {
		m.Properties[k] = v
	}
	f.images[m.ID] = m
	cp := *m
	return &cp, nil
}

// Upload stores data and makes the image active.
func (f *Images) Upload(_ context.Context, id string, data io.Reader, _ int64) error {
	b, err := io.ReadAll(data)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.images[id]
	if !ok {
		return notFound(id)
	}
	f.data[id], m.Size, m.Status = b, int64(len(b)), "active"
	return nil
}

// Update sets properties.
func (f *Images) Update(_ context.Context, id string, props map[string]*string) (*objects.ImageMeta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.images[id]
	if !ok {
		return nil, notFound(id)
	}
	for k, v := range props {
		if v == nil {
			delete(m.Properties, k)
		} else {
			m.Properties[k] = *v
		}
	}
	c := *m
	return &c, nil
}

// Delete removes an image.
func (f *Images) Delete(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.images, id)
	delete(f.data, id)
	return nil
}

// Network is an in-memory Neutron.
type Network struct {
	mu      sync.Mutex
	nets    map[string]*clients.Net
	subnets map[string]*clients.Subnet
	ports   map[string]*clients.Port
	fips    map[string]*clients.FloatingIP
	groups  map[string]clients.SecurityGroup
	rules   map[string]clients.SecurityGroupRule
	next    map[string]int // next host number per subnet
	macs    int
	wg      sync.WaitGroup
	closed  bool
	stop    chan struct{}

	// BoundStatus is the status a port takes when bound: "ACTIVE" (Nova does
	// not wait), or "DOWN" (the default) until Notify reports it plugged.
	BoundStatus string
	// NotifyDelay is how long after a binding the port is reported plugged.
	NotifyDelay time.Duration
	// Notify, when set, is called (in its own goroutine) after a port is
	// bound, as Neutron POSTs network-vif-plugged to Nova.
	Notify func(instanceUUID, portID string)
	// LoseNotify sets a bound port ACTIVE after NotifyDelay without calling
	// Notify, as a Neutron server that dies before sending its batch of
	// events loses them.
	LoseNotify bool
	// FailCreate makes CreatePort fail.
	FailCreate bool
	// Created counts ports created.
	Created int
}

var _ clients.Network = (*Network)(nil)

// NewNetwork returns an empty Neutron.
func NewNetwork() *Network {
	return &Network{nets: map[string]*clients.Net{}, subnets: map[string]*clients.Subnet{}, ports: map[string]*clients.Port{},
		fips: map[string]*clients.FloatingIP{}, stop: make(chan struct{}), groups: map[string]clients.SecurityGroup{}, rules: map[string]clients.SecurityGroupRule{}, next: map[string]int{}, BoundStatus: "DOWN"}
}

// Close drops pending notifications, stops new ones and waits for the
// goroutines that deliver them.
func (f *Network) Close() {
	f.mu.Lock()
	if !f.closed {
		close(f.stop)
	}
	f.closed = true
	f.mu.Unlock()
	f.wg.Wait()
}

// AddNetwork creates a network with one IPv4 subnet.
func (f *Network) AddNetwork(name, projectID, cidr string, shared bool) *clients.Net {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := &clients.Net{ID: uuid.NewString(), Name: name, Status: "ACTIVE", Shared: shared, ProjectID: projectID, MTU: 1450}
	_, ipn, _ := net.ParseCIDR(cidr)
	gw := make(net.IP, 4)
	copy(gw, ipn.IP.To4())
	gw[3]++
	s := &clients.Subnet{ID: uuid.NewString(), NetworkID: n.ID, CIDR: ipn.String(), GatewayIP: gw.String(), IPVersion: 4, EnableDHCP: true}
	n.Subnets = []string{s.ID}
	f.nets[n.ID], f.subnets[s.ID] = n, s
	f.next[s.ID] = 2
	c := *n
	return &c
}

// AddSecurityGroup registers a security group.
func (f *Network) AddSecurityGroup(name string) clients.SecurityGroup {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := clients.SecurityGroup{ID: uuid.NewString(), Name: name}
	f.groups[g.ID] = g
	return g
}

// AddFloatingIP associates a floating IP with a port.
func (f *Network) AddFloatingIP(portID, address string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.ports[portID]
	fixed := ""
	if p != nil && len(p.FixedIPs) > 0 {
		fixed = p.FixedIPs[0].IPAddress
	}
	f.fips[address] = &clients.FloatingIP{ID: uuid.NewString(), FloatingIPAddress: address, FixedIPAddress: fixed, PortID: portID}
}

// AddPort creates an unbound port, as a user would before booting with it.
func (f *Network) AddPort(networkID, projectID string) (*clients.Port, error) {
	return f.CreatePort(context.Background(), clients.PortCreate{NetworkID: networkID, ProjectID: projectID})
}

// PortCount counts existing ports.
func (f *Network) PortCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ports)
}

// Network returns a network.
func (f *Network) Network(_ context.Context, id string) (*clients.Net, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.nets[id]
	if !ok {
		return nil, fault.NotFound("Network %s could not be found.", id).WithType("NetworkNotFound")
	}
	c := *n
	return &c, nil
}

// Networks lists networks.
func (f *Network) Networks(_ context.Context, flt clients.NetFilter) ([]clients.Net, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []clients.Net
	for _, n := range f.nets {
		if len(flt.IDs) > 0 {
			match := false
			for _, id := range flt.IDs {
				match = match || id == n.ID
			}
			if !match {
				continue
			}
		}
		if flt.ProjectID != "" && n.ProjectID != flt.ProjectID && !n.Shared {
			continue
		}
		out = append(out, *n)
	}
	return out, nil
}

// Port returns a port.
func (f *Network) Port(_ context.Context, id string) (*clients.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.ports[id]
	if !ok {
		return nil, fault.NotFound("Port id %s could not be found.", id).WithType("PortNotFound")
	}
	c := *p
	return &c, nil
}

// Ports lists an instance's ports.
func (f *Network) Ports(_ context.Context, deviceID string) ([]clients.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []clients.Port
	for _, p := range f.ports {
		if p.DeviceID == deviceID {
			out = append(out, *p)
		}
	}
	return out, nil
}

// CreatePort creates a port with an address from the network's subnet.
func (f *Network) CreatePort(_ context.Context, c clients.PortCreate) (*clients.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.FailCreate {
		return nil, fault.Unavailable("neutron is down")
	}
	n, ok := f.nets[c.NetworkID]
	if !ok {
		return nil, fault.NotFound("Network %s could not be found.", c.NetworkID).WithType("NetworkNotFound")
	}
	f.macs++
	p := &clients.Port{ID: uuid.NewString(), NetworkID: n.ID, ProjectID: c.ProjectID, Status: "DOWN", AdminStateUp: true,
		MACAddress: fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", (f.macs>>16)&0xff, (f.macs>>8)&0xff, f.macs&0xff),
		DeviceID:   c.DeviceID, DeviceOwner: c.DeviceOwner, SecurityGroups: c.SecurityGroups, Name: c.Name}
	if len(n.Subnets) > 0 {
		s := f.subnets[n.Subnets[0]]
		addr := ""
		if len(c.FixedIPs) > 0 && c.FixedIPs[0].IPAddress != "" {
			addr = c.FixedIPs[0].IPAddress
			for _, q := range f.ports {
				for _, ip := range q.FixedIPs {
					if ip.IPAddress == addr {
						return nil, fault.Conflict("IP address %s already allocated in subnet %s", addr, s.ID).WithType("IpAddressAlreadyAllocated")
					}
				}
			}
		} else {
			addr = f.allocLocked(s.ID, s.CIDR)
		}
		p.FixedIPs = []clients.FixedIP{{SubnetID: s.ID, IPAddress: addr}}
	}
	f.ports[p.ID] = p
	f.Created++
	cp := *p
	return &cp, nil
}

// allocLocked is the subnet's next address.
func (f *Network) allocLocked(subnetID, cidr string) string {
	_, ipn, _ := net.ParseCIDR(cidr)
	ip := make(net.IP, 4)
	copy(ip, ipn.IP.To4())
	k := f.next[subnetID]
	f.next[subnetID] = k + 1
	ip[2] += byte(k >> 8)
	ip[3] += byte(k)
	return ip.String()
}

// BindPort binds a port and reports it plugged later.
func (f *Network) BindPort(_ context.Context, id string, b clients.PortBinding) (*clients.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.ports[id]
	if !ok {
		return nil, fault.NotFound("Port id %s could not be found.", id).WithType("PortNotFound")
	}
	p.BindingHostID, p.DeviceID, p.DeviceOwner = b.HostID, b.DeviceID, b.DeviceOwner
	p.BindingVIFType, p.BindingVNICType = "bridge", "normal"
	p.BindingVIFDetails = map[string]any{"bridge_name": netapi.BridgeName(p.NetworkID)}
	p.Status = f.BoundStatus
	if f.Notify != nil && !f.closed {
		notify, delay, dev := f.Notify, f.NotifyDelay, b.DeviceID
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			if delay > 0 {
				select {
				case <-time.After(delay):
				case <-f.stop:
					return
				}
			}
			f.mu.Lock()
			if q := f.ports[id]; q != nil {
				q.Status = "ACTIVE"
			}
			lose := f.LoseNotify
			f.mu.Unlock()
			if !lose {
				notify(dev, id)
			}
		}()
	}
	c := *p
	return &c, nil
}

// UnbindPort clears a port's device and binding.
func (f *Network) UnbindPort(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.ports[id]; ok {
		p.BindingHostID, p.DeviceID, p.DeviceOwner, p.Status = "", "", "", "DOWN"
	}
	return nil
}

// UpdatePortFixedIPs sets a port's fixed IPs, allocating for entries that
// name only a subnet.
func (f *Network) UpdatePortFixedIPs(_ context.Context, id string, ips []clients.FixedIP) (*clients.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.ports[id]
	if !ok {
		return nil, fault.NotFound("Port %s could not be found.", id).WithType("PortNotFound")
	}
	out := make([]clients.FixedIP, 0, len(ips))
	for _, ip := range ips {
		if ip.IPAddress == "" {
			s, ok := f.subnets[ip.SubnetID]
			if !ok {
				return nil, fault.NotFound("Subnet %s could not be found.", ip.SubnetID).WithType("SubnetNotFound")
			}
			ip.IPAddress = f.allocLocked(s.ID, s.CIDR)
		}
		out = append(out, ip)
	}
	p.FixedIPs = out
	cp := *p
	return &cp, nil
}

// DeletePort deletes a port.
func (f *Network) DeletePort(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.ports, id)
	for k, fip := range f.fips {
		if fip.PortID == id {
			delete(f.fips, k)
		}
	}
	return nil
}

// Subnet returns a subnet.
func (f *Network) Subnet(_ context.Context, id string) (*clients.Subnet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.subnets[id]
	if !ok {
		return nil, fault.NotFound("Subnet %s could not be found.", id)
	}
	c := *s
	return &c, nil
}

// FloatingIPs lists floating IPs of ports.
func (f *Network) FloatingIPs(_ context.Context, portIDs []string) ([]clients.FloatingIP, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []clients.FloatingIP
	for _, fip := range f.fips {
		for _, id := range portIDs {
			if fip.PortID == id {
				out = append(out, *fip)
			}
		}
	}
	return out, nil
}

// SecurityGroups resolves security groups; "default" always exists.
func (f *Network) SecurityGroups(_ context.Context, _ string, namesOrIDs []string) ([]clients.SecurityGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []clients.SecurityGroup
	for _, want := range namesOrIDs {
		if want == "default" {
			out = append(out, clients.SecurityGroup{ID: "default", Name: "default"})
			continue
		}
		found := false
		for _, g := range f.groups {
			if g.ID == want || g.Name == want {
				out = append(out, g)
				found = true
			}
		}
		if !found {
			return nil, fault.BadRequest("Security group %s not found.", want).WithType("SecurityGroupNotFound")
		}
	}
	return out, nil
}
