package ipam

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func mp(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ma(s string) netip.Addr   { return netip.MustParseAddr(s) }

func TestDefaultPools(t *testing.T) {
	cases := []struct {
		cidr, gw string
		want     []string
	}{
		{"10.0.0.0/24", "10.0.0.1", []string{"10.0.0.2-10.0.0.254"}},
		{"10.0.0.0/24", "", []string{"10.0.0.1-10.0.0.254"}},
		{"10.0.0.0/24", "10.0.0.100", []string{"10.0.0.1-10.0.0.99", "10.0.0.101-10.0.0.254"}},
		{"10.0.0.0/24", "10.0.0.254", []string{"10.0.0.1-10.0.0.253"}},
		{"10.0.0.0/24", "192.168.0.1", []string{"10.0.0.1-10.0.0.254"}},
		{"10.0.0.0/30", "10.0.0.1", []string{"10.0.0.2-10.0.0.2"}},
		{"10.0.0.0/31", "", nil},
		{"10.0.0.7/32", "", []string{"10.0.0.7-10.0.0.7"}},
		{"2001:db8::/64", "2001:db8::1", []string{"2001:db8::2-2001:db8::ffff:ffff:ffff:ffff"}},
		{"2001:db8::/126", "", []string{"2001:db8::1-2001:db8::3"}},
	}
	for _, c := range cases {
		var gw netip.Addr
		if c.gw != "" {
			gw = ma(c.gw)
		}
		got := DefaultPools(mp(c.cidr), gw)
		if len(got) != len(c.want) {
			t.Errorf("%s gw %s: %v, want %v", c.cidr, c.gw, got, c.want)
			continue
		}
		for i := range got {
			if got[i].String() != c.want[i] {
				t.Errorf("%s gw %s: pool %d = %s, want %s", c.cidr, c.gw, i, got[i], c.want[i])
			}
		}
	}
}

func TestValidatePools(t *testing.T) {
	r := func(a, b string) Range { return Range{ma(a), ma(b)} }
	cases := []struct {
		name  string
		cidr  string
		pools []Range
		kind  string
	}{
		{"ok", "10.0.0.0/24", []Range{r("10.0.0.10", "10.0.0.20"), r("10.0.0.2", "10.0.0.5")}, ""},
		{"reversed", "10.0.0.0/24", []Range{r("10.0.0.20", "10.0.0.10")}, "InvalidAllocationPool"},
		{"wrong family", "10.0.0.0/24", []Range{r("2001:db8::1", "2001:db8::5")}, "InvalidAllocationPool"},
		{"mixed", "10.0.0.0/24", []Range{r("10.0.0.1", "2001:db8::5")}, "InvalidAllocationPool"},
		{"outside", "10.0.0.0/24", []Range{r("10.0.0.200", "10.0.1.5")}, "OutOfBoundsAllocationPool"},
		{"overlap", "10.0.0.0/24", []Range{r("10.0.0.2", "10.0.0.50"), r("10.0.0.50", "10.0.0.60")}, "OverlappingAllocationPools"},
	}
	for _, c := range cases {
		out, err := ValidatePools(mp(c.cidr), c.pools)
		if c.kind == "" {
			if err != nil || out[0].Start != ma("10.0.0.2") {
				t.Errorf("%s: %v %v", c.name, out, err)
			}
			continue
		}
		pe, ok := err.(*PoolError)
		if !ok || pe.Kind != c.kind {
			t.Errorf("%s: err %v, want %s", c.name, err, c.kind)
		}
	}
}

func TestGatewayInvalid(t *testing.T) {
	cases := []struct {
		cidr, gw string
		bad      bool
	}{
		{"10.0.0.0/24", "10.0.0.1", false},
		{"10.0.0.0/24", "10.0.0.0", true},
		{"10.0.0.0/24", "10.0.0.255", true},
		{"10.0.0.0/24", "10.0.1.1", false},
		{"10.0.0.0/24", "2001:db8::1", true},
		{"10.0.0.0/31", "10.0.0.0", false},
		{"2001:db8::/64", "2001:db8::", true},
		{"2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff", false},
	}
	for _, c := range cases {
		if got := GatewayInvalid(mp(c.cidr), ma(c.gw)); got != c.bad {
			t.Errorf("%s gw %s: invalid=%v, want %v", c.cidr, c.gw, got, c.bad)
		}
	}
}

func TestEUI64(t *testing.T) {
	// The example of RFC 4291 appendix A, as oslo's get_ipv6_addr_by_EUI64 computes it.
	a, err := EUI64(mp("2001:db8::/64"), "fa:16:3e:4f:3a:2b")
	if err != nil || a.String() != "2001:db8::f816:3eff:fe4f:3a2b" {
		t.Fatalf("EUI64 = %s %v", a, err)
	}
	if _, err := EUI64(mp("2001:db8::/64"), "zz"); err == nil {
		t.Fatal("bad MAC accepted")
	}
	if _, err := EUI64(mp("10.0.0.0/24"), "fa:16:3e:4f:3a:2b"); err == nil {
		t.Fatal("IPv4 prefix accepted")
	}
}

func TestCandidatesAndFirstFree(t *testing.T) {
	pools := []Range{{ma("10.0.0.2"), ma("10.0.0.4")}, {ma("10.0.0.10"), ma("10.0.0.10")}}
	rng := rand.New(rand.NewPCG(1, 2))
	got := Candidates(pools, 10, rng)
	if len(got) != 4 {
		t.Fatalf("candidates %v: want the 4 addresses of the pools", got)
	}
	for _, a := range got {
		if !InPools(pools, a) {
			t.Fatalf("candidate %s outside the pools", a)
		}
	}
	used := map[netip.Addr]bool{ma("10.0.0.2"): true, ma("10.0.0.3"): true}
	if a, ok := FirstFree(pools, used); !ok || a != ma("10.0.0.4") {
		t.Fatalf("FirstFree = %s %v", a, ok)
	}
	used[ma("10.0.0.4")], used[ma("10.0.0.10")] = true, true
	if _, ok := FirstFree(pools, used); ok {
		t.Fatal("exhausted pools reported a free address")
	}
	big := []Range{{ma("2001:db8::2"), ma("2001:db8::ffff:ffff:ffff:ffff")}}
	for _, a := range Candidates(big, 5, rng) {
		if !InPools(big, a) {
			t.Fatalf("v6 candidate %s outside", a)
		}
	}
}

func TestRemoveAndAdd(t *testing.T) {
	pools := Remove([]Range{{ma("10.0.0.2"), ma("10.0.0.9")}}, ma("10.0.0.5"))
	if len(pools) != 2 || pools[0].String() != "10.0.0.2-10.0.0.4" || pools[1].String() != "10.0.0.6-10.0.0.9" {
		t.Fatalf("Remove = %v", pools)
	}
	if _, ok := Add(ma("255.255.255.255"), 1); ok {
		t.Fatal("Add overflowed IPv4 silently")
	}
	if a, ok := Add(ma("::ffff:ffff:ffff:ffff"), 1); !ok || a.String() != "0:0:0:1::" {
		t.Fatalf("Add across 64 bits = %s", a)
	}
}

func TestParsePrefix(t *testing.T) {
	for _, bad := range []string{"192.168.1./24", "192.168.1.1/33", "bad_prefix", "256", " 10.0.0.0/8", ""} {
		if _, err := ParsePrefix(bad, true); err == nil {
			t.Errorf("ParsePrefix(%q) accepted", bad)
		}
	}
	p, err := ParsePrefix("10.0.0.5/24", false)
	if err != nil || p.String() != "10.0.0.0/24" {
		t.Fatalf("masking: %s %v", p, err)
	}
	if p, err := ParsePrefix("10.1.2.3", true); err != nil || p.String() != "10.1.2.3/32" {
		t.Fatalf("host prefix: %s %v", p, err)
	}
	if _, err := ParsePrefix("10.1.2.3", false); err == nil {
		t.Fatal("bare address accepted as a CIDR")
	}
}

func TestCarve(t *testing.T) {
	pool := []netip.Prefix{mp("10.0.0.0/16")}
	used := []netip.Prefix{mp("10.0.0.0/24"), mp("10.0.2.0/23")}
	got, ok := Carve(pool, used, 24)
	if !ok || got.String() != "10.0.1.0/24" {
		t.Fatalf("Carve = %s %v", got, ok)
	}
	used = append(used, got)
	got, ok = Carve(pool, used, 24)
	if !ok || got.String() != "10.0.4.0/24" {
		t.Fatalf("Carve after = %s %v", got, ok)
	}
	if _, ok := Carve([]netip.Prefix{mp("10.0.0.0/24")}, []netip.Prefix{mp("10.0.0.0/16")}, 26); ok {
		t.Fatal("carved from a fully used pool")
	}
	if _, ok := Carve(pool, nil, 8); ok {
		t.Fatal("carved a prefix bigger than the pool")
	}
}
