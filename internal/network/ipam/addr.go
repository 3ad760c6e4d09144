package ipam

import (
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"strings"
)

// u128 is an address as a 128-bit unsigned number (IPv4 in the low 32 bits).
type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var x u128
	for i := 0; i < 8; i++ {
		x.hi = x.hi<<8 | uint64(b[i])
		x.lo = x.lo<<8 | uint64(b[i+8])
	}
	return x
}

func fromU128(x u128, v4 bool) netip.Addr {
	if v4 {
		v := uint32(x.lo)
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	var b [16]byte
	for i := 7; i >= 0; i-- {
		b[i] = byte(x.hi)
		x.hi >>= 8
		b[i+8] = byte(x.lo)
		x.lo >>= 8
	}
	return netip.AddrFrom16(b)
}

func (x u128) add(n uint64) u128 {
	lo, c := bits.Add64(x.lo, n, 0)
	return u128{x.hi + c, lo}
}

func (x u128) sub(y u128) u128 {
	lo, b := bits.Sub64(x.lo, y.lo, 0)
	return u128{x.hi - y.hi - b, lo}
}

func (x u128) cmp(y u128) int {
	switch {
	case x.hi < y.hi || x.hi == y.hi && x.lo < y.lo:
		return -1
	case x == y:
		return 0
	}
	return 1
}

// Add returns a + n, and false when that leaves the address family.
func Add(a netip.Addr, n uint64) (netip.Addr, bool) {
	x := toU128(a)
	y := x.add(n)
	if a.Is4() && y.lo > 0xffffffff || y.cmp(x) < 0 {
		return netip.Addr{}, false
	}
	return fromU128(y, a.Is4()), true
}

// Distance returns b - a (b >= a), saturated at the largest uint64.
func Distance(a, b netip.Addr) uint64 {
	d := toU128(b).sub(toU128(a))
	if d.hi != 0 {
		return ^uint64(0)
	}
	return d.lo
}

// ParseAddr parses an IP address as Neutron's validators accept one: no
// zone, no surrounding space; an IPv4-mapped IPv6 address stays IPv6.
func ParseAddr(s string) (netip.Addr, error) {
	if s == "" || strings.TrimSpace(s) != s {
		return netip.Addr{}, fmt.Errorf("'%s' is not a valid IP address", s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("'%s' is not a valid IP address", s)
	}
	return a, nil
}

// ParsePrefix parses a CIDR and returns it masked to its network address.
// A bare address is accepted as a host prefix when host is true.
func ParsePrefix(s string, host bool) (netip.Prefix, error) {
	if s == "" || strings.TrimSpace(s) != s {
		return netip.Prefix{}, fmt.Errorf("'%s' is not a valid IP subnet", s)
	}
	if !strings.Contains(s, "/") {
		if !host {
			return netip.Prefix{}, fmt.Errorf("'%s' is not a valid IP subnet", s)
		}
		a, err := ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("'%s' is not a valid IP subnet", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		// net.ParseCIDR accepts a few spellings netip refuses (leading zeros
		// in the length are refused by both); keep the message uniform.
		return netip.Prefix{}, fmt.Errorf("'%s' is not a valid IP subnet", s)
	}
	return p.Masked(), nil
}

// Last returns the last address of a prefix (the IPv4 broadcast address).
func Last(p netip.Prefix) netip.Addr {
	x := toU128(p.Masked().Addr())
	host := p.Addr().BitLen() - p.Bits()
	switch {
	case host >= 128:
		x = u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		x.hi |= (uint64(1) << (host - 64)) - 1
		x.lo = ^uint64(0)
	case host > 0:
		x.lo |= (uint64(1) << host) - 1
	}
	return fromU128(x, p.Addr().Is4())
}

// Size returns the number of addresses of a prefix, saturated.
func Size(p netip.Prefix) uint64 {
	host := p.Addr().BitLen() - p.Bits()
	if host >= 64 {
		return ^uint64(0)
	}
	return uint64(1) << host
}

// EUI64 returns the SLAAC address of a MAC address on a /64 prefix.
func EUI64(p netip.Prefix, mac string) (netip.Addr, error) {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return netip.Addr{}, fmt.Errorf("'%s' is not a valid MAC address", mac)
	}
	if !p.Addr().Is6() {
		return netip.Addr{}, fmt.Errorf("EUI-64 needs an IPv6 prefix, got %s", p)
	}
	b := p.Masked().Addr().As16()
	b[8] = hw[0] ^ 0x02
	b[9], b[10] = hw[1], hw[2]
	b[11], b[12] = 0xff, 0xfe
	b[13], b[14], b[15] = hw[3], hw[4], hw[5]
	return netip.AddrFrom16(b), nil
}

// Overlap reports whether two prefixes share an address.
func Overlap(a, b netip.Prefix) bool { return a.Overlaps(b) }
