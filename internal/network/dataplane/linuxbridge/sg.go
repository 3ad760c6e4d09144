package linuxbridge

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/internal/linux/nft"
	"github.com/tenku-cloud/tenku/internal/network/dataplane"
)

// sgTable names the two tables of the security groups on the host: a
// bridge-family one that marks frames with the port they come from and go
// to and drops spoofed ones, and an inet one, reached through
// br_netfilter, holding the stateful rules of each port keyed by mark.
const sgTable = "tenku-sg"

// maxFilteredPorts bounds the port marks (16 bits each way).
const maxFilteredPorts = 0xffff

type memberKey struct{ group, ethertype string }

// ApplySecurityGroups implements dataplane.Driver.
func (d *Driver) ApplySecurityGroups(ctx context.Context, fs []dataplane.PortFilter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, f := range fs {
		if err := checkFilter(f); err != nil {
			return fmt.Errorf("port %s: %w", f.PortID, err)
		}
	}
	if ok, err := d.applyIncremental(ctx, fs); ok {
		if err != nil {
			return err
		}
		for _, f := range fs {
			d.filters[f.PortID] = f
		}
		return nil
	}
	old := map[string]dataplane.PortFilter{}
	for _, f := range fs {
		if o, ok := d.filters[f.PortID]; ok {
			old[f.PortID] = o
		}
		d.filters[f.PortID] = f
	}
	if err := d.applyFilters(ctx); err != nil {
		for _, f := range fs { // nothing changed on the host: neither here
			if o, ok := old[f.PortID]; ok {
				d.filters[f.PortID] = o
			} else {
				delete(d.filters, f.PortID)
			}
		}
		return err
	}
	return nil
}

// RemoveSecurityGroups implements dataplane.Driver.
func (d *Driver) RemoveSecurityGroups(ctx context.Context, ids []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	changed := false
	for _, id := range ids {
		if _, ok := d.filters[id]; ok {
			delete(d.filters, id)
			delete(d.sgIndex, id)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return d.applyFilters(ctx)
}

// SetMemberSets implements dataplane.Driver.
func (d *Driver) SetMemberSets(ctx context.Context, sets []dataplane.MemberSet) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range sets {
		for _, c := range m.CIDRs {
			if _, err := netip.ParsePrefix(c); err != nil {
				return fmt.Errorf("member set %s: %q: %w", m.GroupID, c, err)
			}
		}
	}
	ok, err := d.setsIncremental(ctx, sets)
	if ok && err != nil {
		return err
	}
	for _, m := range sets {
		d.members[memberKey{m.GroupID, m.EtherType}] = append([]string(nil), m.CIDRs...)
	}
	if ok {
		return nil
	}
	return d.applyFilters(ctx)
}

// RemoveMemberSets implements dataplane.Driver.
func (d *Driver) RemoveMemberSets(ctx context.Context, groups []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, g := range groups {
		delete(d.members, memberKey{g, "IPv4"})
		delete(d.members, memberKey{g, "IPv6"})
	}
	return d.applyFilters(ctx)
}

func (d *Driver) resyncFilters(ctx context.Context, fs []dataplane.PortFilter, sets []dataplane.MemberSet) error {
	d.filters = map[string]dataplane.PortFilter{}
	d.members = map[memberKey][]string{}
	d.sgIndex = map[string]int{}
	for _, f := range fs {
		if err := checkFilter(f); err != nil {
			return fmt.Errorf("port %s: %w", f.PortID, err)
		}
		d.filters[f.PortID] = f
	}
	for _, m := range sets {
		d.members[memberKey{m.GroupID, m.EtherType}] = append([]string(nil), m.CIDRs...)
	}
	return d.applyFilters(ctx)
}

func checkFilter(f dataplane.PortFilter) error {
	for _, ip := range f.IPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return fmt.Errorf("address %q: %w", ip, err)
		}
	}
	for _, p := range f.AllowedAddressPairs {
		if _, err := parseCIDR(p.IP); err != nil {
			return fmt.Errorf("allowed address pair %q: %w", p.IP, err)
		}
	}
	if f.MAC == "" {
		return errors.New("no MAC address")
	}
	for _, r := range f.Rules {
		if r.Direction != "ingress" && r.Direction != "egress" {
			return fmt.Errorf("rule direction %q", r.Direction)
		}
		if r.EtherType != "IPv4" && r.EtherType != "IPv6" {
			return fmt.Errorf("rule ethertype %q", r.EtherType)
		}
		for _, c := range r.RemoteCIDRs {
			if _, err := parseCIDR(c); err != nil {
				return fmt.Errorf("rule remote %q: %w", c, err)
			}
		}
		if strings.ContainsAny(r.Protocol, " ;{}\"\n") {
			return fmt.Errorf("rule protocol %q", r.Protocol)
		}
	}
	return nil
}

// parseCIDR accepts an address or a prefix and returns it as a masked prefix.
func parseCIDR(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// applyFilters writes both tables from the filters held, in one nft
// transaction; d.mu is held.
func (d *Driver) applyFilters(ctx context.Context) error {
	h := nft.Handle{NS: d.opts.Namespace}
	var enabled []dataplane.PortFilter
	for _, f := range d.filters {
		if f.Enabled {
			enabled = append(enabled, f)
		}
	}
	d.sgSets, d.sgDevice = map[memberKey]bool{}, map[int]string{}
	if len(enabled) == 0 {
		return h.Run(ctx, fmt.Sprintf("add table bridge %[1]s\ndelete table bridge %[1]s\nadd table inet %[1]s\ndelete table inet %[1]s\n", sgTable))
	}
	if !d.brnf {
		// Bridged IP traffic must cross the inet hooks (and conntrack).
		for _, k := range []string{"net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"} {
			if err := d.host.SetSysctl(ctx, k, "1"); err != nil {
				return fmt.Errorf("security groups need br_netfilter: %w", err)
			}
		}
		d.brnf = true
	}
	sort.Slice(enabled, func(i, j int) bool { return enabled[i].PortID < enabled[j].PortID })
	for _, f := range enabled {
		if _, ok := d.sgIndex[f.PortID]; !ok {
			if len(d.sgIndex) >= maxFilteredPorts {
				return fmt.Errorf("more than %d filtered ports on one host", maxFilteredPorts)
			}
			d.sgNext++
			for d.sgNext == 0 || d.sgNext > maxFilteredPorts || d.indexUsed(d.sgNext) {
				d.sgNext = d.sgNext%maxFilteredPorts + 1
			}
			d.sgIndex[f.PortID] = d.sgNext
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "add table bridge %[1]s\ndelete table bridge %[1]s\nadd table inet %[1]s\ndelete table inet %[1]s\n", sgTable)
	// The bridge table: marks and anti-spoofing.
	fmt.Fprintf(&b, "table bridge %s {\n", sgTable)
	var from, to []string
	for _, f := range enabled {
		n := d.sgIndex[f.PortID]
		dev := nft.Quote(f.Device)
		from = append(from, fmt.Sprintf("    iifname %s jump from_%d", dev, n))
		to = append(to, fmt.Sprintf("    oifname %s meta mark set meta mark | 0x%x", dev, n<<16))
		b.WriteString(spoofChain(f, n))
	}
	fmt.Fprintf(&b, "  chain mark_from {\n    type filter hook prerouting priority -300; policy accept;\n%s\n  }\n", strings.Join(from, "\n"))
	fmt.Fprintf(&b, "  chain mark_to {\n    type filter hook forward priority -300; policy accept;\n%s\n  }\n}\n", strings.Join(to, "\n"))
	// The inet table: member sets and the rules per port.
	fmt.Fprintf(&b, "table inet %s {\n", sgTable)
	sets := map[memberKey]bool{}
	for _, f := range enabled {
		for _, r := range f.Rules {
			if r.RemoteGroupID != "" {
				sets[memberKey{r.RemoteGroupID, r.EtherType}] = true
			}
		}
	}
	keys := make([]memberKey, 0, len(sets))
	for k := range sets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return setName(keys[i]) < setName(keys[j]) })
	for _, k := range keys {
		typ := "ipv4_addr"
		if k.ethertype == "IPv6" {
			typ = "ipv6_addr"
		}
		fmt.Fprintf(&b, "  set %s {\n    type %s; flags interval;\n", setName(k), typ)
		if m := d.members[k]; len(m) > 0 {
			fmt.Fprintf(&b, "    elements = { %s }\n", strings.Join(m, ", "))
		}
		b.WriteString("  }\n")
	}
	var egress, ingress []string
	for _, f := range enabled {
		n := d.sgIndex[f.PortID]
		egress = append(egress, fmt.Sprintf("0x%x : jump egress_%d", n, n))
		ingress = append(ingress, fmt.Sprintf("0x%x : jump ingress_%d", n<<16, n))
		b.WriteString(ruleChains(f, n))
	}
	fmt.Fprintf(&b, "  chain filter_fw {\n    type filter hook forward priority 0; policy accept;\n"+
		"    meta mark & 0x0000ffff vmap { %s }\n    meta mark & 0xffff0000 vmap { %s }\n  }\n}\n",
		strings.Join(egress, ", "), strings.Join(ingress, ", "))
	if err := h.Run(ctx, b.String()); err != nil {
		d.sgSets, d.sgDevice = map[memberKey]bool{}, map[int]string{} // unknown: the next change rewrites all
		return err
	}
	for _, k := range keys {
		d.sgSets[k] = true
	}
	for _, f := range enabled {
		d.sgDevice[d.sgIndex[f.PortID]] = f.Device
	}
	return nil
}

func (d *Driver) indexUsed(n int) bool {
	for _, v := range d.sgIndex {
		if v == n {
			return true
		}
	}
	return false
}

func setName(k memberKey) string {
	v := "4"
	if k.ethertype == "IPv6" {
		v = "6"
	}
	return "g" + v + "_" + strings.NewReplacer("-", "_").Replace(k.group)
}

// spoofChain is a port's anti-spoofing (MAC, and IP for IPv4, ARP and IPv6,
// with the allowed address pairs), as Neutron's filter does, and the mark
// saying which port the frame came from.
func spoofChain(f dataplane.PortFilter, n int) string {
	return fmt.Sprintf("  chain from_%d {\n%s  }\n", n, indent(spoofRules(f, n)))
}

func spoofRules(f dataplane.PortFilter, n int) []string {
	macs := []string{strings.ToLower(f.MAC)}
	var v4, v6 []string
	for _, ip := range f.IPs {
		a := netip.MustParseAddr(ip)
		if a.Is4() {
			v4 = append(v4, ip)
		} else {
			v6 = append(v6, ip)
		}
	}
	for _, p := range f.AllowedAddressPairs {
		c, _ := parseCIDR(p.IP)
		if c.Addr().Is4() {
			v4 = append(v4, c.String())
		} else {
			v6 = append(v6, c.String())
		}
		if p.MAC != "" && !containsFold(macs, p.MAC) {
			macs = append(macs, strings.ToLower(p.MAC))
		}
	}
	v6 = append(v6, "fe80::/10")
	rules := []string{
		fmt.Sprintf("meta mark set 0x%x", n),
		fmt.Sprintf("ether saddr != { %s } drop", strings.Join(macs, ", ")),
		// DHCP discovery comes from 0.0.0.0; a guest serving DHCP does not.
		"ether type ip udp sport 67 udp dport 68 drop",
		"ether type ip ip saddr 0.0.0.0 udp sport 68 udp dport 67 return",
		"ether type ip6 udp sport 547 udp dport 546 drop",
		"ether type ip6 icmpv6 type nd-router-advert drop",
		"ether type ip6 ip6 saddr :: icmpv6 type { nd-neighbor-solicit, mld2-listener-report, mld-listener-report } return",
		fmt.Sprintf("ether type ip6 ip6 saddr != { %s } drop", strings.Join(v6, ", ")),
	}
	if len(v4) > 0 {
		rules = append(rules,
			fmt.Sprintf("ether type arp arp saddr ip != { %s } drop", strings.Join(v4, ", ")),
			fmt.Sprintf("ether type ip ip saddr != { %s } drop", strings.Join(v4, ", ")))
	} else {
		rules = append(rules, "ether type arp drop", "ether type ip drop")
	}
	return rules
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// ruleChains are a port's egress chain (returns when allowed: the
// destination port's ingress still applies) and ingress chain (accepts).
// Both drop what no rule allows; DHCP and IPv6 neighbour discovery are
// always allowed, as Neutron's filter does.
func ruleChains(f dataplane.PortFilter, n int) string {
	eg, in := ruleLists(f)
	return fmt.Sprintf("  chain egress_%d {\n%s  }\n  chain ingress_%d {\n%s  }\n", n, indent(eg), n, indent(in))
}

func ruleLists(f dataplane.PortFilter) (eg, in []string) {
	eg = []string{}
	in = []string{}
	if f.Stateful {
		eg = append(eg, "ct state established,related return", "ct state invalid drop")
		in = append(in, "ct state established,related accept", "ct state invalid drop")
	}
	eg = append(eg, "meta nfproto ipv4 udp sport 68 udp dport 67 return",
		"meta nfproto ipv6 udp sport 546 udp dport 547 return",
		"icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, mld2-listener-report } return")
	in = append(in, "meta nfproto ipv4 udp sport 67 udp dport 68 accept",
		"meta nfproto ipv6 udp sport 547 udp dport 546 accept",
		"icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query } accept")
	for _, r := range f.Rules {
		m := ruleMatch(r)
		if r.Direction == "egress" {
			eg = append(eg, m+" return")
		} else {
			in = append(in, m+" accept")
		}
	}
	eg = append(eg, "drop")
	in = append(in, "drop")
	return eg, in
}

// remoteSets lists the member sets a filter's rules name.
func remoteSets(f dataplane.PortFilter) []memberKey {
	var out []memberKey
	for _, r := range f.Rules {
		if r.RemoteGroupID != "" {
			out = append(out, memberKey{r.RemoteGroupID, r.EtherType})
		}
	}
	return out
}

// applyIncremental changes only the chains of ports the tables already
// have (a rule change: a few lines in one batch, not the whole table); it
// reports false when the change needs the whole table. d.mu is held.
func (d *Driver) applyIncremental(ctx context.Context, fs []dataplane.PortFilter) (bool, error) {
	for _, f := range fs {
		n, ok := d.sgIndex[f.PortID]
		if !ok || !f.Enabled || d.sgDevice[n] != f.Device {
			return false, nil
		}
		for _, k := range remoteSets(f) {
			if !d.sgSets[k] {
				return false, nil
			}
		}
	}
	var b strings.Builder
	for _, f := range fs {
		n := d.sgIndex[f.PortID]
		fmt.Fprintf(&b, "flush chain bridge %s from_%d\n", sgTable, n)
		for _, r := range spoofRules(f, n) {
			fmt.Fprintf(&b, "add rule bridge %s from_%d %s\n", sgTable, n, r)
		}
		eg, in := ruleLists(f)
		for _, c := range []struct {
			name  string
			rules []string
		}{{fmt.Sprintf("egress_%d", n), eg}, {fmt.Sprintf("ingress_%d", n), in}} {
			fmt.Fprintf(&b, "flush chain inet %s %s\n", sgTable, c.name)
			for _, r := range c.rules {
				fmt.Fprintf(&b, "add rule inet %s %s %s\n", sgTable, c.name, r)
			}
		}
	}
	return true, nft.Handle{NS: d.opts.Namespace}.Run(ctx, b.String())
}

// setsIncremental replaces the elements of sets the table already has.
func (d *Driver) setsIncremental(ctx context.Context, sets []dataplane.MemberSet) (bool, error) {
	for _, m := range sets {
		if !d.sgSets[memberKey{m.GroupID, m.EtherType}] {
			return false, nil
		}
	}
	var b strings.Builder
	for _, m := range sets {
		name := setName(memberKey{m.GroupID, m.EtherType})
		fmt.Fprintf(&b, "flush set inet %s %s\n", sgTable, name)
		if len(m.CIDRs) > 0 {
			fmt.Fprintf(&b, "add element inet %s %s { %s }\n", sgTable, name, strings.Join(m.CIDRs, ", "))
		}
	}
	if b.Len() == 0 {
		return true, nil
	}
	return true, nft.Handle{NS: d.opts.Namespace}.Run(ctx, b.String())
}

// ruleMatch turns a rule into an nft match.
func ruleMatch(r dataplane.Rule) string {
	v6 := r.EtherType == "IPv6"
	parts := []string{"meta nfproto ipv4"}
	addr := "ip"
	if v6 {
		parts = []string{"meta nfproto ipv6"}
		addr = "ip6"
	}
	peer := "saddr"
	if r.Direction == "egress" {
		peer = "daddr"
	}
	if r.RemoteGroupID != "" {
		parts = append(parts, fmt.Sprintf("%s %s @%s", addr, peer, setName(memberKey{r.RemoteGroupID, r.EtherType})))
	} else if len(r.RemoteCIDRs) > 0 {
		var cs []string
		for _, c := range r.RemoteCIDRs {
			p, _ := parseCIDR(c)
			if p.Bits() == 0 {
				cs = nil
				break
			}
			cs = append(cs, p.String())
		}
		if len(cs) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s { %s }", addr, peer, strings.Join(cs, ", ")))
		}
	}
	proto := strings.ToLower(r.Protocol)
	switch proto {
	case "6":
		proto = "tcp"
	case "17":
		proto = "udp"
	case "1":
		proto = "icmp"
	case "58", "icmpv6", "ipv6-icmp":
		proto = "ipv6-icmp"
	case "any", "0":
		proto = ""
	}
	if v6 && proto == "icmp" {
		proto = "ipv6-icmp"
	}
	port := func(p *int) string { return strconv.Itoa(*p) }
	switch proto {
	case "":
	case "tcp", "udp", "sctp", "udplite", "dccp":
		parts = append(parts, "meta l4proto "+proto)
		if r.PortMin != nil || r.PortMax != nil {
			lo, hi := 1, 65535
			if r.PortMin != nil {
				lo = *r.PortMin
			}
			if r.PortMax != nil {
				hi = *r.PortMax
			}
			if lo == hi {
				parts = append(parts, fmt.Sprintf("th dport %d", lo))
			} else {
				parts = append(parts, fmt.Sprintf("th dport %d-%d", lo, hi))
			}
		}
	case "icmp", "ipv6-icmp":
		parts = append(parts, "meta l4proto "+proto)
		kw := "icmp"
		if proto == "ipv6-icmp" {
			kw = "icmpv6"
		}
		if r.PortMin != nil {
			parts = append(parts, kw+" type "+port(r.PortMin))
			if r.PortMax != nil {
				parts = append(parts, kw+" code "+port(r.PortMax))
			}
		}
	default:
		parts = append(parts, "meta l4proto "+proto)
	}
	return strings.Join(parts, " ")
}
