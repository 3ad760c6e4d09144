package netdev

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// ErrNotFound is returned for a device that does not exist.
var ErrNotFound = errors.New("device not found")

// Handle runs iproute2 commands in one network namespace.
type Handle struct {
	// NS is the namespace name ("" for the caller's namespace).
	NS string
}

// Link is what netdev reads of a device.
type Link struct {
	Name   string
	Kind   string // bridge, veth, vlan, vxlan, tun, "" for physical
	Master string
	MTU    int
	MAC    string
	Up     bool
}

func (h Handle) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	if h.NS != "" {
		args = append([]string{"-n", h.NS}, args...)
	}
	cmd := exec.CommandContext(ctx, tool, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if strings.Contains(msg, "does not exist") || strings.Contains(msg, "Cannot find device") {
			return nil, fmt.Errorf("%s %s: %w: %s", tool, strings.Join(args, " "), ErrNotFound, msg)
		}
		return nil, fmt.Errorf("%s %s: %v: %s", tool, strings.Join(args, " "), err, msg)
	}
	return out.Bytes(), nil
}

func (h Handle) ip(ctx context.Context, args ...string) error {
	_, err := h.run(ctx, "ip", args...)
	return err
}

// AddNamespace creates a named network namespace (no error if it exists).
func AddNamespace(ctx context.Context, name string) error {
	if ok, err := NamespaceExists(ctx, name); err != nil || ok {
		return err
	}
	return Handle{}.ip(ctx, "netns", "add", name)
}

// DeleteNamespace removes a named namespace (no error if it is absent).
func DeleteNamespace(ctx context.Context, name string) error {
	if ok, err := NamespaceExists(ctx, name); err != nil || !ok {
		return err
	}
	return Handle{}.ip(ctx, "netns", "delete", name)
}

// Namespaces lists the named namespaces.
func Namespaces(ctx context.Context) ([]string, error) {
	out, err := Handle{}.run(ctx, "ip", "-j", "netns", "list")
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, nil
	}
	var list []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("ip netns list: %w", err)
	}
	names := make([]string, 0, len(list))
	for _, n := range list {
		names = append(names, n.Name)
	}
	return names, nil
}

// NamespaceExists says whether a named namespace exists.
func NamespaceExists(ctx context.Context, name string) (bool, error) {
	names, err := Namespaces(ctx)
	for _, n := range names {
		if n == name {
			return true, nil
		}
	}
	return false, err
}

type ipLink struct {
	IfName   string   `json:"ifname"`
	Master   string   `json:"master"`
	MTU      int      `json:"mtu"`
	Address  string   `json:"address"`
	Flags    []string `json:"flags"`
	LinkInfo struct {
		InfoKind string `json:"info_kind"`
	} `json:"linkinfo"`
}

func (l ipLink) link() Link {
	up := false
	for _, f := range l.Flags {
		if f == "UP" {
			up = true
		}
	}
	return Link{Name: l.IfName, Kind: l.LinkInfo.InfoKind, Master: l.Master, MTU: l.MTU, MAC: l.Address, Up: up}
}

func (h Handle) links(ctx context.Context, args ...string) ([]Link, error) {
	out, err := h.run(ctx, "ip", append([]string{"-d", "-j", "link", "show"}, args...)...)
	if err != nil {
		return nil, err
	}
	var raw []ipLink
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("ip link show: %w", err)
	}
	links := make([]Link, 0, len(raw))
	for _, r := range raw {
		links = append(links, r.link())
	}
	return links, nil
}

// Link returns one device, or ErrNotFound.
func (h Handle) Link(ctx context.Context, name string) (Link, error) {
	links, err := h.links(ctx, "dev", name)
	if err != nil {
		return Link{}, err
	}
	if len(links) == 0 {
		return Link{}, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return links[0], nil
}

// Links lists every device of the namespace.
func (h Handle) Links(ctx context.Context) ([]Link, error) { return h.links(ctx) }

// Slaves lists the devices enslaved to a bridge.
func (h Handle) Slaves(ctx context.Context, bridge string) ([]Link, error) {
	return h.links(ctx, "master", bridge)
}

func (h Handle) exists(ctx context.Context, name string) (bool, error) {
	_, err := h.Link(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (h Handle) add(ctx context.Context, name string, args ...string) error {
	ok, err := h.exists(ctx, name)
	if err != nil || ok {
		return err
	}
	return h.ip(ctx, append([]string{"link", "add"}, args...)...)
}

// AddBridge creates a bridge.
func (h Handle) AddBridge(ctx context.Context, name string) error {
	return h.add(ctx, name, "name", name, "type", "bridge")
}

// AddVeth creates a veth pair; the peer is moved into peerNS when it is set.
func (h Handle) AddVeth(ctx context.Context, name, peer, peerNS string) error {
	args := []string{"name", name, "type", "veth", "peer", "name", peer}
	if peerNS != "" {
		args = append(args, "netns", peerNS)
	}
	return h.add(ctx, name, args...)
}

// AddVLAN creates a VLAN sub-interface of parent.
func (h Handle) AddVLAN(ctx context.Context, name, parent string, id int) error {
	return h.add(ctx, name, "link", parent, "name", name, "type", "vlan", "id", strconv.Itoa(id))
}

// VXLAN describes a unicast VXLAN device (peers are FDB entries).
type VXLAN struct {
	Name    string
	VNI     int
	LocalIP string
	Port    int    // UDP destination port (4789 when 0)
	Dev     string // underlay device ("" lets the kernel route)
}

// AddVXLAN creates a VXLAN device without multicast group or learning.
func (h Handle) AddVXLAN(ctx context.Context, v VXLAN) error {
	port := v.Port
	if port == 0 {
		port = 4789
	}
	args := []string{"name", v.Name, "type", "vxlan", "id", strconv.Itoa(v.VNI), "dstport", strconv.Itoa(port), "nolearning"}
	if v.LocalIP != "" {
		args = append(args, "local", v.LocalIP)
	}
	if v.Dev != "" {
		args = append(args, "dev", v.Dev)
	}
	return h.add(ctx, v.Name, args...)
}

// DeleteLink removes a device (no error if it is absent).
func (h Handle) DeleteLink(ctx context.Context, name string) error {
	err := h.ip(ctx, "link", "delete", "dev", name)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// SetMaster enslaves dev to a bridge ("" frees it).
func (h Handle) SetMaster(ctx context.Context, dev, master string) error {
	if master == "" {
		return h.ip(ctx, "link", "set", "dev", dev, "nomaster")
	}
	return h.ip(ctx, "link", "set", "dev", dev, "master", master)
}

// SetMTU sets a device's MTU.
func (h Handle) SetMTU(ctx context.Context, dev string, mtu int) error {
	return h.ip(ctx, "link", "set", "dev", dev, "mtu", strconv.Itoa(mtu))
}

// SetUp brings a device up or down.
func (h Handle) SetUp(ctx context.Context, dev string, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return h.ip(ctx, "link", "set", "dev", dev, state)
}

// SetMAC sets a device's MAC address.
func (h Handle) SetMAC(ctx context.Context, dev, mac string) error {
	return h.ip(ctx, "link", "set", "dev", dev, "address", mac)
}

// SetNamespace moves a device into another namespace.
func (h Handle) SetNamespace(ctx context.Context, dev, ns string) error {
	return h.ip(ctx, "link", "set", "dev", dev, "netns", ns)
}

// Addresses lists a device's addresses as CIDRs (ip/prefix).
func (h Handle) Addresses(ctx context.Context, dev string) ([]string, error) {
	out, err := h.run(ctx, "ip", "-j", "addr", "show", "dev", dev)
	if err != nil {
		return nil, err
	}
	var raw []struct {
		AddrInfo []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
			Scope     string `json:"scope"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("ip addr show: %w", err)
	}
	var cidrs []string
	for _, r := range raw {
		for _, a := range r.AddrInfo {
			if a.Scope == "link" {
				continue
			}
			cidrs = append(cidrs, a.Local+"/"+strconv.Itoa(a.PrefixLen))
		}
	}
	return cidrs, nil
}

// AddAddress adds an address (ip/prefix) to a device; present is fine.
func (h Handle) AddAddress(ctx context.Context, dev, cidr string) error {
	return h.ip(ctx, "addr", "replace", cidr, "dev", dev)
}

// DeleteAddress removes an address from a device; absent is fine.
func (h Handle) DeleteAddress(ctx context.Context, dev, cidr string) error {
	have, err := h.Addresses(ctx, dev)
	if err != nil {
		return err
	}
	for _, a := range have {
		if a == cidr {
			return h.ip(ctx, "addr", "del", cidr, "dev", dev)
		}
	}
	return nil
}

// ReplaceRoute sets a route (via may be "" for a device route).
func (h Handle) ReplaceRoute(ctx context.Context, dst, via, dev string) error {
	args := []string{"route", "replace", dst}
	if via != "" {
		args = append(args, "via", via)
	}
	if dev != "" {
		args = append(args, "dev", dev)
	}
	return h.ip(ctx, args...)
}

// AppendFDB adds a flood entry (all-zero MAC) or a unicast entry sending
// mac through a VXLAN device to the tunnel address dst.
func (h Handle) AppendFDB(ctx context.Context, dev, mac, dst string) error {
	_, err := h.run(ctx, "bridge", "fdb", "append", mac, "dev", dev, "dst", dst)
	if err != nil && strings.Contains(err.Error(), "File exists") {
		return nil
	}
	return err
}

// DeleteFDB removes an FDB entry; absent is fine.
func (h Handle) DeleteFDB(ctx context.Context, dev, mac, dst string) error {
	_, err := h.run(ctx, "bridge", "fdb", "del", mac, "dev", dev, "dst", dst)
	if err != nil && (errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), "No such file")) {
		return nil
	}
	return err
}

// FloodPeers lists the tunnel addresses a VXLAN device floods to.
func (h Handle) FloodPeers(ctx context.Context, dev string) ([]string, error) {
	out, err := h.run(ctx, "bridge", "-j", "fdb", "show", "dev", dev)
	if err != nil {
		return nil, err
	}
	var raw []struct {
		MAC string `json:"mac"`
		Dst string `json:"dst"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("bridge fdb show: %w", err)
	}
	var peers []string
	for _, r := range raw {
		if r.MAC == "00:00:00:00:00:00" && r.Dst != "" {
			peers = append(peers, r.Dst)
		}
	}
	return peers, nil
}
