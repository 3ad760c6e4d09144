package ipam

import "net/netip"

// Carve returns the first prefix of length bits inside one of pool that
// overlaps none of used, and false when there is none. It is how a subnet
// pool hands out subnets.
func Carve(pool []netip.Prefix, used []netip.Prefix, bits int) (netip.Prefix, bool) {
	for _, p := range pool {
		p = p.Masked()
		if bits < p.Bits() || bits > p.Addr().BitLen() {
			continue
		}
		cur := p.Addr()
		for p.Contains(cur) {
			cand := netip.PrefixFrom(cur, bits)
			clash := false
			for _, u := range used {
				if u.Overlaps(cand) {
					clash = true
					// Skip past the used prefix if it is bigger than the candidate.
					if u.Bits() < bits {
						cand = u.Masked()
					}
					break
				}
			}
			if !clash {
				return cand, true
			}
			next, ok := nextPrefix(cand, bits)
			if !ok {
				break
			}
			cur = next
		}
	}
	return netip.Prefix{}, false
}

// nextPrefix returns the address just after prefix c, aligned for bits.
func nextPrefix(c netip.Prefix, bits int) (netip.Addr, bool) {
	last := Last(c)
	n := last.Next()
	if !n.IsValid() || n.Compare(last) <= 0 {
		return netip.Addr{}, false
	}
	return netip.PrefixFrom(n, bits).Masked().Addr(), true
}
