package linuxbridge

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tenku-cloud/tenku/internal/linux/dnsmasq"
	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
)

// metadataIP is where guests find the metadata service.
const metadataIP = "169.254.169.254"

func short(id string) string {
	if len(id) > 11 {
		return id[:11]
	}
	return id
}

// nsDevice names the namespace side of a DHCP or router port as Neutron
// does ("ns-", "qr-", "qg-" and the port id's first 11 characters).
func nsDevice(kind, portID string) string { return kind + short(portID) }

func (d *Driver) dhcpNS(networkID string) string {
	return d.opts.NamespacePrefix + dataplane.DHCPNamespace(networkID)
}

func (d *Driver) dhcpServer(networkID string) dnsmasq.Server {
	return dnsmasq.Server{Dir: filepath.Join(d.stateDir(), "dhcp", networkID)}
}

func (d *Driver) stateDir() string {
	if d.opts.StateDir != "" {
		return d.opts.StateDir
	}
	return "/var/lib/tenku/network"
}

// EnsureDHCP implements dataplane.Driver: a qdhcp- namespace on the
// network's bridge, the DHCP port in it, and dnsmasq serving every host.
func (d *Driver) EnsureDHCP(ctx context.Context, c dataplane.DHCP) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ensureDHCP(ctx, c)
}

func (d *Driver) ensureDHCP(ctx context.Context, c dataplane.DHCP) error {
	cfg, err := dhcpConfig(c)
	if err != nil {
		return fmt.Errorf("dhcp %s: %w", c.Network.ID, err)
	}
	if err := d.ensureNetwork(ctx, c.Network); err != nil {
		return err
	}
	ns := d.dhcpNS(c.Network.ID)
	inner := nsDevice("ns-", c.Port.ID)
	addrs := c.Port.Addresses
	isolated := c.MetadataRoute && d.metadataEnabled()
	if isolated {
		// Isolated metadata: the proxy answers on 169.254.169.254 itself.
		addrs = append(append([]dataplane.Address(nil), addrs...), dataplane.Address{IP: metadataIP, PrefixLen: 32})
	}
	// A namespace or port deleted behind our back leaves dnsmasq bound to
	// what is gone: it starts again once they are made again.
	if ok, _ := netdev.NamespaceExists(ctx, ns); !ok {
		if err := d.dhcpServer(c.Network.ID).Stop(ctx); err != nil {
			return err
		}
	} else if ok, _ := (netdev.Handle{NS: ns}).Exists(ctx, inner); !ok {
		if err := d.dhcpServer(c.Network.ID).Stop(ctx); err != nil {
			return err
		}
	}
	if err := d.plugNamespacePort(ctx, ns, c.Network, c.Port.ID, inner, c.Port.MAC, addrs); err != nil {
		return fmt.Errorf("dhcp %s: %w", c.Network.ID, err)
	}
	if isolated {
		if err := d.ensureProxy("dhcp:"+c.Network.ID, ns, metadataIP+":80", []string{c.Network.ID}); err != nil {
			return fmt.Errorf("dhcp %s: %w", c.Network.ID, err)
		}
	} else {
		d.stopProxy("dhcp:" + c.Network.ID)
	}
	cfg.Namespace, cfg.Interface = ns, inner
	if err := d.dhcpServer(c.Network.ID).Apply(ctx, cfg); err != nil {
		return fmt.Errorf("dhcp %s: %w", c.Network.ID, err)
	}
	d.dhcp[c.Network.ID] = c
	return nil
}

// plugNamespacePort makes a namespace with one port in it: a veth whose
// host side (tap<port>) is on the network's bridge and whose other side
// (inner) has the port's MAC, addresses and the network's MTU. d.mu is held.
func (d *Driver) plugNamespacePort(ctx context.Context, ns string, n dataplane.Network, portID, inner, mac string, addrs []dataplane.Address) error {
	if err := netdev.AddNamespace(ctx, ns); err != nil {
		return err
	}
	in := netdev.Handle{NS: ns}
	if err := in.SetUp(ctx, "lo", true); err != nil {
		return err
	}
	tap := dataplane.TapName(portID)
	hostOK, err := d.host.Exists(ctx, tap)
	if err != nil {
		return err
	}
	innerOK, err := in.Exists(ctx, inner)
	if err != nil {
		return err
	}
	if hostOK != innerOK { // half a pair (cannot be a veth of ours): start again
		if err := d.host.DeleteLink(ctx, tap); err != nil {
			return err
		}
		if err := in.DeleteLink(ctx, inner); err != nil {
			return err
		}
		hostOK = false
	}
	if !hostOK {
		if err := d.host.AddVeth(ctx, tap, inner, ns); err != nil {
			return err
		}
	}
	if l, err := in.Link(ctx, inner); err != nil {
		return err
	} else if mac != "" && !strings.EqualFold(l.MAC, mac) {
		if err := in.SetMAC(ctx, inner, mac); err != nil {
			return err
		}
	}
	if n.MTU > 0 {
		if err := setMTU(ctx, d.host, tap, n.MTU); err != nil {
			return err
		}
		if err := setMTU(ctx, in, inner, n.MTU); err != nil {
			return err
		}
	}
	if err := setMaster(ctx, d.host, tap, bridgeOf(n)); err != nil {
		return err
	}
	if err := d.host.SetUp(ctx, tap, true); err != nil {
		return err
	}
	if err := setAddresses(ctx, in, inner, addrs); err != nil {
		return err
	}
	return in.SetUp(ctx, inner, true)
}

// setAddresses makes a device hold exactly the addresses.
func setAddresses(ctx context.Context, h netdev.Handle, dev string, addrs []dataplane.Address) error {
	want := map[string]bool{}
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a.IP)
		if err != nil || a.PrefixLen < 0 || a.PrefixLen > ip.BitLen() {
			return fmt.Errorf("address %s/%d is invalid", a.IP, a.PrefixLen)
		}
		want[netip.PrefixFrom(ip, a.PrefixLen).String()] = true
	}
	have, err := h.Addresses(ctx, dev)
	if err != nil {
		return err
	}
	for _, c := range have {
		if !want[c] {
			if err := h.DeleteAddress(ctx, dev, c); err != nil {
				return err
			}
		}
	}
	for c := range want {
		if !slices.Contains(have, c) {
			if err := h.AddAddress(ctx, dev, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// dhcpConfig turns a network's DHCP service into dnsmasq's terms, as
// Neutron's dnsmasq driver does: a static range per subnet with DHCP, the
// gateway, DNS servers, host routes (as option 121 and Microsoft's 249,
// with the default route and, on isolated networks, the metadata route
// through the DHCP port added) and the MTU per subnet, and a tag per port
// for its extra options.
func dhcpConfig(c dataplane.DHCP) (dnsmasq.Config, error) {
	cfg := dnsmasq.Config{Domain: c.DNSDomain}
	if cfg.Domain == "" {
		cfg.Domain = "openstacklocal"
	}
	var served []netip.Prefix
	for _, s := range c.Subnets {
		if !s.EnableDHCP {
			continue
		}
		pfx, err := netip.ParsePrefix(s.CIDR)
		if err != nil {
			return cfg, fmt.Errorf("subnet %s: CIDR %q: %w", s.ID, s.CIDR, err)
		}
		tag := "subnet-" + s.ID
		v6 := pfx.Addr().Is6()
		if v6 && (s.IPv6AddressMode == "slaac" || s.IPv6AddressMode == "") {
			continue // addresses from router advertisements, not DHCP
		}
		r := dnsmasq.Range{Tag: tag, Prefix: pfx.Masked()}
		if v6 && s.IPv6AddressMode == "dhcpv6-stateless" {
			r.Mode = "ra-stateless"
		}
		cfg.Ranges = append(cfg.Ranges, r)
		served = append(served, pfx.Masked())
		opt := "option:"
		if v6 {
			opt = "option6:"
		}
		if !v6 {
			if s.Gateway != "" {
				cfg.Options = append(cfg.Options, dnsmasq.Option{Tag: tag, Name: "option:router", Values: []string{s.Gateway}})
			} else {
				cfg.Options = append(cfg.Options, dnsmasq.Option{Tag: tag, Name: "option:router"})
			}
		}
		if len(s.DNSNameservers) > 0 {
			var dns []string
			for _, ns := range s.DNSNameservers {
				if v6 {
					ns = "[" + ns + "]"
				}
				dns = append(dns, ns)
			}
			cfg.Options = append(cfg.Options, dnsmasq.Option{Tag: tag, Name: opt + "dns-server", Values: dns})
		}
		if v6 {
			continue
		}
		var routes []string
		for _, r := range s.HostRoutes {
			if _, err := netip.ParsePrefix(r.Destination); err != nil {
				return cfg, fmt.Errorf("subnet %s: host route %q: %w", s.ID, r.Destination, err)
			}
			routes = append(routes, r.Destination, r.NextHop)
		}
		if c.MetadataRoute {
			for _, a := range c.Port.Addresses {
				if ip, err := netip.ParseAddr(a.IP); err == nil && pfx.Contains(ip) {
					routes = append(routes, metadataIP+"/32", a.IP)
					break
				}
			}
		}
		if len(routes) > 0 {
			// A client that takes option 121 ignores option 3: the
			// default route goes in too.
			if s.Gateway != "" {
				routes = append(routes, "0.0.0.0/0", s.Gateway)
			}
			cfg.Options = append(cfg.Options,
				dnsmasq.Option{Tag: tag, Name: "option:classless-static-route", Values: routes},
				dnsmasq.Option{Tag: tag, Name: "249", Values: routes})
		}
		if c.Network.MTU > 0 {
			cfg.Options = append(cfg.Options, dnsmasq.Option{Tag: tag, Name: "option:mtu", Values: []string{strconv.Itoa(c.Network.MTU)}, Force: true})
		}
	}
	for _, h := range c.Hosts {
		var ips []string
		for _, ip := range h.IPs {
			a, err := netip.ParseAddr(ip)
			if err != nil {
				return cfg, fmt.Errorf("port %s: address %q", h.PortID, ip)
			}
			for _, p := range served {
				if p.Contains(a) {
					ips = append(ips, ip)
				}
			}
		}
		if len(ips) == 0 {
			continue
		}
		host := dnsmasq.Host{MAC: h.MAC, Name: h.Hostname, IPs: ips}
		if len(h.Options) > 0 {
			host.Tag = "port-" + h.PortID
			for _, o := range h.Options {
				name := o.Name
				if _, err := strconv.Atoi(name); err != nil {
					if o.IPVersion == 6 {
						name = "option6:" + name
					} else {
						name = "option:" + name
					}
				}
				cfg.Options = append(cfg.Options, dnsmasq.Option{Tag: host.Tag, Name: name, Values: []string{o.Value}})
			}
		}
		cfg.Hosts = append(cfg.Hosts, host)
	}
	return cfg, nil
}

// DeleteDHCP implements dataplane.Driver.
func (d *Driver) DeleteDHCP(ctx context.Context, networkID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.deleteDHCP(ctx, networkID)
}

func (d *Driver) deleteDHCP(ctx context.Context, networkID string) error {
	d.stopProxy("dhcp:" + networkID)
	if err := d.dhcpServer(networkID).Remove(ctx); err != nil {
		return err
	}
	if c, ok := d.dhcp[networkID]; ok {
		if err := d.host.DeleteLink(ctx, dataplane.TapName(c.Port.ID)); err != nil {
			return err
		}
	}
	if err := d.deleteNamespace(ctx, d.dhcpNS(networkID)); err != nil {
		return err
	}
	delete(d.dhcp, networkID)
	return nil
}

// deleteNamespace ends what runs in a namespace the driver made and deletes
// it (its devices go with it; the host side of its veths too).
func (d *Driver) deleteNamespace(ctx context.Context, ns string) error {
	ok, err := netdev.NamespaceExists(ctx, ns)
	if err != nil || !ok {
		return err
	}
	pids, err := netdev.NamespacePIDs(ctx, ns)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, pid := range pids {
		for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return netdev.DeleteNamespace(ctx, ns)
}

// resyncDHCP serves exactly the desired DHCP services; d.mu is held.
func (d *Driver) resyncDHCP(ctx context.Context, want []dataplane.DHCP) error {
	var errs []error
	keep := map[string]bool{}
	d.dhcp = map[string]dataplane.DHCP{}
	for _, c := range want {
		keep[c.Network.ID] = true
		if err := d.ensureDHCP(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	names, err := netdev.Namespaces(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	prefix := d.dhcpNS("")
	for _, ns := range names {
		if id, ok := strings.CutPrefix(ns, prefix); ok && !keep[id] {
			d.stopProxy("dhcp:" + id)
			errs = append(errs, d.dhcpServer(id).Remove(ctx), d.deleteNamespace(ctx, ns))
		}
	}
	dirs, _ := os.ReadDir(filepath.Join(d.stateDir(), "dhcp"))
	for _, e := range dirs {
		if !keep[e.Name()] {
			errs = append(errs, d.dhcpServer(e.Name()).Remove(ctx))
		}
	}
	return errors.Join(errs...)
}

// superviseDHCP starts again a dnsmasq that died; d.mu is held.
func (d *Driver) superviseDHCP(ctx context.Context) {
	for id, c := range d.dhcp {
		if d.dhcpServer(id).Running() {
			continue
		}
		d.log.Warn("dnsmasq is not running; starting it again", "network_id", id)
		if err := d.ensureDHCP(ctx, c); err != nil && ctx.Err() == nil {
			d.log.Warn("restarting dnsmasq failed", "network_id", id, "err", err)
		}
	}
}
