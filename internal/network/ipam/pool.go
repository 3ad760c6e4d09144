package ipam

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
)

// Range is an inclusive range of addresses of one family.
type Range struct{ Start, End netip.Addr }

// String renders the range as Neutron names pools in messages.
func (r Range) String() string { return r.Start.String() + "-" + r.End.String() }

// Contains reports whether a lies in the range.
func (r Range) Contains(a netip.Addr) bool {
	return a.BitLen() == r.Start.BitLen() && r.Start.Compare(a) <= 0 && a.Compare(r.End) <= 0
}

// Size returns the number of addresses in the range, saturated.
func (r Range) Size() uint64 {
	d := Distance(r.Start, r.End)
	if d == ^uint64(0) {
		return d
	}
	return d + 1
}

// Overlaps reports whether two ranges share an address.
func (r Range) Overlaps(o Range) bool {
	return r.Start.Compare(o.End) <= 0 && o.Start.Compare(r.End) <= 0
}

// DefaultPools returns the pools Neutron gives a subnet created without any:
// every address but the network address, the IPv4 broadcast address and the
// gateway.
func DefaultPools(p netip.Prefix, gateway netip.Addr) []Range {
	p = p.Masked()
	first, last := p.Addr(), Last(p)
	if first == last {
		return []Range{{first, last}}
	}
	start := first.Next()
	end := last
	if p.Addr().Is4() {
		end = last.Prev()
	}
	if start.Compare(end) >= 0 {
		return nil
	}
	r := Range{start, end}
	if !gateway.IsValid() || !r.Contains(gateway) {
		return []Range{r}
	}
	var out []Range
	if gateway != start {
		out = append(out, Range{start, gateway.Prev()})
	}
	if gateway != end {
		out = append(out, Range{gateway.Next(), end})
	}
	return out
}

// PoolError says why a set of pools is refused; Kind names Neutron's
// exception so that the API can answer with the same type and status.
type PoolError struct {
	Kind string // InvalidAllocationPool, OutOfBoundsAllocationPool, OverlappingAllocationPools, GatewayConflictWithAllocationPools
	Msg  string
}

func (e *PoolError) Error() string { return e.Msg }

// ValidatePools checks pools against their subnet: each a valid range of the
// subnet's family, inside the subnet, disjoint from the others. It returns the
// pools sorted.
func ValidatePools(p netip.Prefix, pools []Range) ([]Range, error) {
	p = p.Masked()
	first, last := p.Addr(), Last(p)
	out := append([]Range(nil), pools...)
	for _, r := range out {
		if !r.Start.IsValid() || !r.End.IsValid() || r.Start.BitLen() != r.End.BitLen() || r.Start.Compare(r.End) > 0 {
			return nil, &PoolError{"InvalidAllocationPool", fmt.Sprintf("The allocation pool %s is not valid.", r)}
		}
		if r.Start.BitLen() != first.BitLen() {
			return nil, &PoolError{"InvalidAllocationPool", fmt.Sprintf("The allocation pool %s is not valid.", r)}
		}
		if r.Start.Compare(first) < 0 || r.End.Compare(last) > 0 {
			return nil, &PoolError{"OutOfBoundsAllocationPool", fmt.Sprintf("The allocation pool %s spans beyond the subnet cidr %s.", r, p)}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Compare(out[j].Start) < 0 })
	for i := 1; i < len(out); i++ {
		if out[i-1].Overlaps(out[i]) {
			return nil, &PoolError{"OverlappingAllocationPools", fmt.Sprintf(
				"Found overlapping allocation pools: %s and %s for subnet %s.", out[i-1], out[i], p)}
		}
	}
	return out, nil
}

// GatewayInvalid reports Neutron's "gateway is not valid on subnet" cases: the
// network address of an IPv4 subnet larger than /31, or its broadcast address.
// A gateway outside the subnet is allowed, as in Neutron (it is then a route).
func GatewayInvalid(p netip.Prefix, gw netip.Addr) bool {
	p = p.Masked()
	if gw.BitLen() != p.Addr().BitLen() {
		return true
	}
	if !p.Contains(gw) {
		return false
	}
	if p.Addr().Is4() && p.Bits() < 31 {
		return gw == p.Addr() || gw == Last(p)
	}
	if p.Addr().Is6() && p.Bits() < 127 {
		return gw == p.Addr()
	}
	return false
}

// InPools reports whether a lies in one of the pools.
func InPools(pools []Range, a netip.Addr) bool {
	for _, r := range pools {
		if r.Contains(a) {
			return true
		}
	}
	return false
}

// Candidates returns up to n distinct random addresses from the pools,
// weighted by pool size. Used to find a free address without reading every
// allocation of a big subnet.
func Candidates(pools []Range, n int, rng *rand.Rand) []netip.Addr {
	var total uint64
	for _, r := range pools {
		s := r.Size()
		if total+s < total {
			total = ^uint64(0)
			break
		}
		total += s
	}
	if total == 0 || n <= 0 {
		return nil
	}
	if uint64(n) > total {
		n = int(total)
	}
	seen := make(map[netip.Addr]bool, n)
	out := make([]netip.Addr, 0, n)
	for tries := 0; len(out) < n && tries < 4*n; tries++ {
		k := rng.Uint64N(total)
		for _, r := range pools {
			s := r.Size()
			if k < s {
				a, ok := Add(r.Start, k)
				if ok && !seen[a] {
					seen[a] = true
					out = append(out, a)
				}
				break
			}
			k -= s
		}
	}
	return out
}

// FirstFree returns the lowest address of the pools that used does not
// hold, and false when the pools are exhausted.
func FirstFree(pools []Range, used map[netip.Addr]bool) (netip.Addr, bool) {
	for _, r := range pools {
		for a := r.Start; ; a = a.Next() {
			if !used[a] {
				return a, true
			}
			if a == r.End {
				break
			}
		}
	}
	return netip.Addr{}, false
}

// Remove returns the pools without address a (splitting a pool if needed).
func Remove(pools []Range, a netip.Addr) []Range {
	var out []Range
	for _, r := range pools {
		if !r.Contains(a) {
			out = append(out, r)
			continue
		}
		if r.Start != a {
			out = append(out, Range{r.Start, a.Prev()})
		}
		if r.End != a {
			out = append(out, Range{a.Next(), r.End})
		}
	}
	return out
}
