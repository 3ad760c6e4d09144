package linuxbridge

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/tenku-cloud/tenku/internal/linux/netdev"
	"github.com/tenku-cloud/tenku/internal/linux/nft"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
)

// natTable is the nftables table of a router's NAT (in its namespace).
const natTable = "tenku-router"

func (d *Driver) routerNS(id string) string {
	return d.opts.NamespacePrefix + dataplane.RouterNamespace(id)
}

// EnsureRouter implements dataplane.Driver: a qrouter- namespace with a qr-
// port on each attached subnet, a qg- port on the external network holding
// the gateway and floating IPs, the default route through the external
// gateway, the static routes, and one nftables table doing SNAT through
// the gateway and DNAT/SNAT for floating IPs. A router administratively
// down has none of it: its namespace goes, as Neutron's L3 agent removes a
// router whose admin_state_up is false, and comes back when it is up again.
func (d *Driver) EnsureRouter(ctx context.Context, r dataplane.Router) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ensureRouter(ctx, r)
}

func (d *Driver) ensureRouter(ctx context.Context, r dataplane.Router) error {
	if err := checkRouter(r); err != nil {
		return fmt.Errorf("router %s: %w", r.ID, err)
	}
	if !r.AdminStateUp {
		return d.deleteRouter(ctx, r.ID)
	}
	ns := d.routerNS(r.ID)
	for _, rp := range routerPorts(r) {
		if err := d.ensureNetwork(ctx, rp.Network); err != nil {
			return err
		}
	}
	if err := netdev.AddNamespace(ctx, ns); err != nil {
		return err
	}
	in := netdev.Handle{NS: ns}
	if err := in.SetSysctl(ctx, "net.ipv4.ip_forward", "1"); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, rp := range r.Interfaces {
		dev := nsDevice("qr-", rp.PortID)
		want[dev] = true
		if err := d.plugNamespacePort(ctx, ns, rp.Network, rp.PortID, dev, rp.MAC, rp.Addresses); err != nil {
			return fmt.Errorf("router %s: %w", r.ID, err)
		}
	}
	var gwDev string
	if r.Gateway != nil {
		gwDev = nsDevice("qg-", r.Gateway.PortID)
		want[gwDev] = true
		addrs := append([]dataplane.Address(nil), r.Gateway.Addresses...)
		for _, f := range r.FloatingIPs {
			addrs = append(addrs, dataplane.Address{IP: f.FloatingIP, PrefixLen: 32})
		}
		if err := d.plugNamespacePort(ctx, ns, r.Gateway.Network, r.Gateway.PortID, gwDev, r.Gateway.MAC, addrs); err != nil {
			return fmt.Errorf("router %s: %w", r.ID, err)
		}
	}
	// Ports detached since: their veth goes (with its tap on the host).
	links, err := in.Links(ctx)
	if err != nil {
		return err
	}
	for _, l := range links {
		if (strings.HasPrefix(l.Name, "qr-") || strings.HasPrefix(l.Name, "qg-")) && !want[l.Name] {
			if err := in.DeleteLink(ctx, l.Name); err != nil {
				return err
			}
		}
	}
	if err := d.routerRoutes(ctx, in, r, gwDev); err != nil {
		return fmt.Errorf("router %s: %w", r.ID, err)
	}
	if err := (nft.Handle{NS: ns}).ReplaceTable(ctx, "ip", natTable, natRules(r, gwDev, d.metadataEnabled())); err != nil {
		return fmt.Errorf("router %s: %w", r.ID, err)
	}
	if d.metadataEnabled() && len(r.Interfaces) > 0 {
		var nets []string
		for _, rp := range r.Interfaces {
			nets = append(nets, rp.Network.ID)
		}
		if err := d.ensureProxy("router:"+r.ID, ns, fmt.Sprintf("0.0.0.0:%d", MetadataPort), nets); err != nil {
			return fmt.Errorf("router %s: %w", r.ID, err)
		}
	} else {
		d.stopProxy("router:" + r.ID)
	}
	d.routers[r.ID] = r
	return nil
}

// checkRouter refuses what Linux would half-apply.
func checkRouter(r dataplane.Router) error {
	for _, rp := range routerPorts(r) {
		for _, a := range rp.Addresses {
			if ip, err := netip.ParseAddr(a.IP); err != nil || a.PrefixLen < 0 || a.PrefixLen > ip.BitLen() {
				return fmt.Errorf("port %s: address %s/%d is invalid", rp.PortID, a.IP, a.PrefixLen)
			}
		}
	}
	for _, rt := range r.Routes {
		if _, err := netip.ParsePrefix(rt.Destination); err != nil {
			return fmt.Errorf("route %s: %w", rt.Destination, err)
		}
		if _, err := netip.ParseAddr(rt.NextHop); err != nil {
			return fmt.Errorf("route nexthop %q: %w", rt.NextHop, err)
		}
	}
	for _, f := range r.FloatingIPs {
		a, err1 := netip.ParseAddr(f.FloatingIP)
		b, err2 := netip.ParseAddr(f.FixedIP)
		if err1 != nil || err2 != nil || !a.Is4() || !b.Is4() {
			return fmt.Errorf("floating IP %s -> %s is invalid", f.FloatingIP, f.FixedIP)
		}
		if r.Gateway == nil {
			return fmt.Errorf("floating IP %s needs an external gateway", f.FloatingIP)
		}
	}
	return nil
}

// routerRoutes sets the default route through the gateway and the static
// routes, removing the ones the router no longer has.
func (d *Driver) routerRoutes(ctx context.Context, in netdev.Handle, r dataplane.Router, gwDev string) error {
	want := map[string]bool{}
	if r.Gateway != nil {
		for _, a := range r.Gateway.Addresses {
			if a.Gateway != "" && !strings.Contains(a.IP, ":") {
				if err := in.ReplaceRoute(ctx, "default", a.Gateway, gwDev); err != nil {
					return err
				}
				want["default"] = true
				break
			}
		}
	}
	for _, rt := range r.Routes {
		dst := netip.MustParsePrefix(rt.Destination).Masked().String()
		if err := in.ReplaceRoute(ctx, dst, rt.NextHop, ""); err != nil {
			return err
		}
		want[dst] = true
	}
	if old, ok := d.routers[r.ID]; ok {
		for _, rt := range old.Routes {
			dst := netip.MustParsePrefix(rt.Destination).Masked().String()
			if !want[dst] {
				if err := in.DeleteRoute(ctx, dst); err != nil {
					return err
				}
			}
		}
	}
	if !want["default"] {
		return in.DeleteRoute(ctx, "default")
	}
	return nil
}

// natRules is the router's NAT as Neutron's L3 agent makes it (in nftables):
// floating IPs DNAT in and SNAT out; other traffic leaving through the
// gateway SNAT to the gateway address, unless enable_snat is off; traffic
// between the router's own subnets is never translated.
func natRules(r dataplane.Router, gwDev string, metadata bool) string {
	var pre, out, post []string
	if metadata {
		// Guests' metadata requests go to the proxy (Neutron's rule).
		for _, rp := range r.Interfaces {
			pre = append(pre, fmt.Sprintf("iifname %s ip daddr %s tcp dport 80 redirect to :%d", nft.Quote(nsDevice("qr-", rp.PortID)), metadataIP, MetadataPort))
		}
	}
	fips := append([]dataplane.FloatingIP(nil), r.FloatingIPs...)
	sort.Slice(fips, func(i, j int) bool { return fips[i].FloatingIP < fips[j].FloatingIP })
	for _, f := range fips {
		pre = append(pre, fmt.Sprintf("ip daddr %s dnat to %s", f.FloatingIP, f.FixedIP))
		out = append(out, fmt.Sprintf("ip daddr %s dnat to %s", f.FloatingIP, f.FixedIP))
		post = append(post, fmt.Sprintf("oifname %s ip saddr %s snat to %s", nft.Quote(gwDev), f.FixedIP, f.FloatingIP))
	}
	if r.Gateway != nil && r.EnableSNAT {
		var gwIP string
		for _, a := range r.Gateway.Addresses {
			if !strings.Contains(a.IP, ":") {
				gwIP = a.IP
				break
			}
		}
		if gwIP != "" {
			post = append(post, fmt.Sprintf("oifname %s ct status dnat accept", nft.Quote(gwDev)),
				fmt.Sprintf("oifname %s snat to %s", nft.Quote(gwDev), gwIP))
		}
	}
	chain := func(name, hook, prio string, rules []string) string {
		return fmt.Sprintf("  chain %s {\n    type nat hook %s priority %s; policy accept;\n%s  }\n", name, hook, prio, indent(rules))
	}
	return chain("prerouting", "prerouting", "dstnat", pre) + chain("output", "output", "-100", out) + chain("postrouting", "postrouting", "srcnat", post)
}

func indent(rules []string) string {
	var b strings.Builder
	for _, r := range rules {
		b.WriteString("    " + r + "\n")
	}
	return b.String()
}

// DeleteRouter implements dataplane.Driver.
func (d *Driver) DeleteRouter(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.deleteRouter(ctx, id)
}

func (d *Driver) deleteRouter(ctx context.Context, id string) error {
	d.stopProxy("router:" + id)
	if err := d.deleteNamespace(ctx, d.routerNS(id)); err != nil {
		return err
	}
	delete(d.routers, id)
	return nil
}

// resyncRouters hosts exactly the desired routers; d.mu is held.
func (d *Driver) resyncRouters(ctx context.Context, want []dataplane.Router) error {
	var errs []error
	keep := map[string]bool{}
	d.routers = map[string]dataplane.Router{}
	for _, r := range want {
		keep[r.ID] = true
		if err := d.ensureRouter(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	names, err := netdev.Namespaces(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	prefix := d.routerNS("")
	for _, ns := range names {
		if id, ok := strings.CutPrefix(ns, prefix); ok && !keep[id] {
			d.stopProxy("router:" + id)
			errs = append(errs, d.deleteNamespace(ctx, ns))
		}
	}
	return errors.Join(errs...)
}
