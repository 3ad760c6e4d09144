package api

import (
	"encoding/json"
	"reflect"
	"testing"

	netapi "github.com/tenku-cloud/tenku/api/network"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
)

func TestEncoderMatchesEncodingJSON(t *testing.T) {
	seg := 7
	n := netapi.Network{ID: "n\"1\\\n\x01", Name: "ünï <&>", Subnets: []string{"a", "b"}, SegmentationID: &seg,
		AvailabilityZoneHints: []string{}, Tags: nil, MTU: 1450}
	p := netapi.Port{ID: "p", FixedIPs: []netapi.FixedIP{{SubnetID: "s", IPAddress: "10.0.0.1"}},
		VIFDetails: map[string]any{"port_filter": true}, Profile: nil, AllowedAddressPairs: []netapi.AddressPair{}}
	r := nstore.Router{Router: netapi.Router{ID: "r", ExternalGatewayInfo: &netapi.GatewayInfo{NetworkID: "x", EnableSNAT: true, ExternalFixedIPs: []netapi.ExternalFixedIP{}}}, GWPortID: "secret"}
	for _, v := range []any{n, p, r.Router} {
		rv := reflect.ValueOf(v)
		got := encoderFor(rv.Type()).append(nil, rv, nil, nil)
		var a, b map[string]any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("invalid JSON %s: %v", got, err)
		}
		want, _ := json.Marshal(v)
		json.Unmarshal(want, &b)
		// nil slices are [] here, null in encoding/json; maps likewise.
		for k, bv := range b {
			if bv == nil {
				if av, ok := a[k]; ok && av != nil {
					if l, ok := av.([]any); ok && len(l) == 0 {
						continue
					}
					if m, ok := av.(map[string]any); ok && len(m) == 0 {
						continue
					}
				}
			}
			if !reflect.DeepEqual(a[k], bv) {
				t.Errorf("%T.%s = %#v, want %#v", v, k, a[k], bv)
			}
		}
	}
	// Embedded structs flatten; untagged fields stay private.
	rv := reflect.ValueOf(r)
	got := encoderFor(rv.Type()).append(nil, rv, fieldSet{"id": true, "external_gateway_info": true}, nil)
	if string(got) != `{"id":"r","external_gateway_info":{"network_id":"x","enable_snat":true,"external_fixed_ips":[]}}` {
		t.Fatalf("fields: %s", got)
	}
	got = encoderFor(rv.Type()).append(nil, rv, fieldSet{"id": true, "name": true}, []string{"name"})
	if string(got) != `{"id":"r"}` {
		t.Fatalf("hidden: %s", got)
	}
}
