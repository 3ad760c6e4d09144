package computetest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	wire "github.com/tenku-cloud/tenku/api/compute"
	"github.com/tenku-cloud/tenku/internal/compute/computetest"
)

// The wire types of api/compute decode what the API answers at MaxVersion,
// with no field left over: they stay in step with the views.
func TestWireTypesMatchResponses(t *testing.T) {
	c := start(t, fakeOpts{PortStatus: "ACTIVE"})
	ctx := context.Background()
	admin, demo := computetest.AdminToken, computetest.DemoToken
	id := bootActive(t, c, "wire")
	raw := func(method, path, token string, body any) json.RawMessage {
		t.Helper()
		var out json.RawMessage
		code, err := c.Do(ctx, method, path, token, wire.MaxVersion, body, &out)
		if err != nil || code >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, code, err)
		}
		return out
	}
	strict := func(what string, b []byte, v any) {
		t.Helper()
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		if err := d.Decode(v); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, b)
		}
	}
	// Servers: admin and owner views, list and show.
	var one wire.ServerBody
	strict("server (admin)", raw("GET", "/v2.1/servers/"+id, admin, nil), &one)
	if one.Server.ID != id || one.Server.Status != wire.StatusActive || one.Server.PowerState != wire.PowerRunning ||
		one.Server.Host == nil || one.Server.Flavor.OriginalName != "m1.tiny" || len(one.Server.Addresses) == 0 {
		t.Fatalf("server view: %+v", one.Server)
	}
	var own wire.ServerBody
	strict("server (owner)", raw("GET", "/v2.1/servers/"+id, demo, nil), &own)
	if own.Server.Host != nil || own.Server.HostStatus != nil {
		t.Fatalf("the owner sees the host: %+v", own.Server)
	}
	var list wire.ServerList
	strict("servers/detail", raw("GET", "/v2.1/servers/detail?all_tenants=1", admin, nil), &list)
	// A create request marshalled from the types is accepted.
	req := wire.CreateServerRequest{Server: wire.CreateServer{Name: "wire2", ImageRef: c.Image.ID, FlavorRef: "1",
		Networks: &wire.Networks{List: []wire.NetworkRequest{{UUID: c.PrivateNet.ID}}}}}
	var created wire.CreateServerResponse
	strict("create", raw("POST", "/v2.1/servers", demo, req), &created)
	if created.Server == nil || created.Server.ID == "" {
		t.Fatalf("create response: %+v", created)
	}
	var flavors wire.FlavorList
	strict("flavors/detail", raw("GET", "/v2.1/flavors/detail", admin, nil), &flavors)
	var kp struct {
		Keypair wire.Keypair `json:"keypair"`
	}
	strict("keypair create", raw("POST", "/v2.1/os-keypairs", demo, map[string]any{"keypair": map[string]any{"name": "k1",
		"public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBc5yh6nOgR1Ixz1o2Sx9lTm3zP6tZ7yLU9d7b5nQ1bY test"}}), &kp)
	strict("keypair show", raw("GET", "/v2.1/os-keypairs/k1", demo, nil), &kp)
	var sg struct {
		Group wire.ServerGroup `json:"server_group"`
	}
	strict("server group", raw("POST", "/v2.1/os-server-groups", demo, map[string]any{"server_group": map[string]any{"name": "g", "policy": wire.PolicyAntiAffinity}}), &sg)
	var limits wire.Limits
	strict("limits", raw("GET", "/v2.1/limits", demo, nil), &limits)
	var actions struct {
		Actions []wire.InstanceAction `json:"instanceActions"`
	}
	strict("instance actions", raw("GET", "/v2.1/servers/"+id+"/os-instance-actions", admin, nil), &actions)
	var action struct {
		Action wire.InstanceAction `json:"instanceAction"`
	}
	strict("instance action", raw("GET", "/v2.1/servers/"+id+"/os-instance-actions/"+actions.Actions[0].RequestID, admin, nil), &action)
	names := map[string]bool{}
	for _, e := range action.Action.Events {
		names[e.Event] = true
	}
	for _, want := range []string{wire.EventSchedule, wire.EventBuild, wire.EventBuildNetworking, wire.EventBuildBlockDevices, wire.EventBuildSpawning} {
		if !names[want] {
			t.Fatalf("no %s event: %+v", want, action.Action.Events)
		}
	}
	var services struct {
		Services []wire.Service `json:"services"`
	}
	strict("services", raw("GET", "/v2.1/os-services", admin, nil), &services)
	var hyps struct {
		Hypervisors []wire.Hypervisor `json:"hypervisors"`
	}
	strict("hypervisors", raw("GET", "/v2.1/os-hypervisors/detail?with_servers=true", admin, nil), &hyps)
	var agg struct {
		Aggregate wire.Aggregate `json:"aggregate"`
	}
	strict("aggregate", raw("POST", "/v2.1/os-aggregates", admin, map[string]any{"aggregate": map[string]any{"name": "a1", "availability_zone": "z1"}}), &agg)
	var azs struct {
		Zones []wire.AvailabilityZone `json:"availabilityZoneInfo"`
	}
	strict("availability zones", raw("GET", "/v2.1/os-availability-zone/detail", admin, nil), &azs)
	var versions wire.Versions
	code, err := c.Do(ctx, "GET", "/", "", "", nil, new(json.RawMessage))
	if err != nil || code != 200 {
		t.Fatalf("versions: %d %v", code, err)
	}
	var rawVersions json.RawMessage
	c.Do(ctx, "GET", "/", "", "", nil, &rawVersions)
	strict("versions", rawVersions, &versions)
	if v := versions.Versions[len(versions.Versions)-1]; v.Version != wire.MaxVersion || v.MinVersion != wire.MinVersion {
		t.Fatalf("versions: %+v", versions)
	}
}
