package api

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// addFixedIp and removeFixedIp (os-multinic, up to 2.43), as Nova does them
// with Neutron: adding puts one more address from each of the network's
// subnets on the server's port on that network; removing takes the address
// off the port that has it. The instance's host then refreshes its network
// info cache (network-changed), so the server's addresses show it.

// multinicPorts checks the caller may change the server's fixed IPs (the
// policy, and the guard table's lock check) and returns the server's ports.
func (a *API) multinicPorts(ctx context.Context, r *rest.Request, inst *objects.Instance, act states.Action) ([]clients.Port, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-multinic", inst); err != nil {
		return nil, err
	}
	if err := states.Check(act, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	return a.d.Network.Ports(clients.AsService(ctx), inst.UUID)
}

func (a *API) actAddFixedIP(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	var b struct {
		NetworkID *string `json:"networkId"`
	}
	if json.Unmarshal(raw, &b) != nil || b.NetworkID == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute addFixedIp. Value: %s. 'networkId' is a required property", raw)
	}
	sctx := clients.AsService(ctx)
	ports, err := a.multinicPorts(ctx, r, inst, states.ActAddFixedIP)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(ports, func(p clients.Port) bool { return p.NetworkID == *b.NetworkID })
	if i < 0 {
		return nil, fault.BadRequest("Network %s could not be found for instance %s.", *b.NetworkID, inst.UUID).WithType("NetworkNotFoundForInstance")
	}
	n, err := a.d.Network.Network(sctx, *b.NetworkID)
	if err != nil {
		return nil, err
	}
	if len(n.Subnets) == 0 {
		return nil, fault.BadRequest("Network %s has no subnet to take an address from.", n.ID)
	}
	ips := slices.Clone(ports[i].FixedIPs)
	for _, s := range n.Subnets {
		ips = append(ips, clients.FixedIP{SubnetID: s})
	}
	if _, err := a.d.Network.UpdatePortFixedIPs(sctx, ports[i].ID, ips); err != nil {
		return nil, err
	}
	a.refreshNetworkInfo(ctx, inst.UUID)
	return &rest.Response{Status: 202}, nil
}

func (a *API) actRemoveFixedIP(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	var b struct {
		Address *string `json:"address"`
	}
	if json.Unmarshal(raw, &b) != nil || b.Address == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute removeFixedIp. Value: %s. 'address' is a required property", raw)
	}
	sctx := clients.AsService(ctx)
	ports, err := a.multinicPorts(ctx, r, inst, states.ActRemoveFixedIP)
	if err != nil {
		return nil, err
	}
	for _, p := range ports {
		keep := slices.DeleteFunc(slices.Clone(p.FixedIPs), func(ip clients.FixedIP) bool { return ip.IPAddress == *b.Address })
		if len(keep) == len(p.FixedIPs) {
			continue
		}
		if _, err := a.d.Network.UpdatePortFixedIPs(sctx, p.ID, keep); err != nil {
			return nil, err
		}
		a.refreshNetworkInfo(ctx, inst.UUID)
		return &rest.Response{Status: 202}, nil
	}
	return nil, fault.BadRequest("There are no fixed ips associated with instance %s for address %s.", inst.UUID, *b.Address).WithType("FixedIpNotFoundForInstance")
}
