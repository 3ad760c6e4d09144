package api

import (
	"context"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// Extensions are exactly the API extensions tenku implements: tempest's
// api_extensions is generated from this list.
var Extensions = []netapi.Extension{
	ext("address-scope", "Address scope", "Address scopes: sets of subnet pools whose addresses route without NAT."),
	ext("agent", "agent", "The agents API: list, show, update and delete network agents."),
	ext("allowed-address-pairs", "Allowed Address Pairs", "Extra MAC/IP pairs a port may send from."),
	ext("availability_zone", "Availability Zone", "The availability zones of network and router agents."),
	ext("binding", "Port Binding", "The binding:host_id, vif_type, vif_details, vnic_type and profile attributes of ports."),
	ext("default-subnetpools", "Default Subnetpools", "Subnets may be created from the default subnet pool of their IP family."),
	ext("dhcp_agent_scheduler", "DHCP Agent Scheduler", "Which DHCP agents serve which networks."),
	ext("external-net", "Neutron external network", "The router:external attribute of networks."),
	ext("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "The enable_snat flag of router gateways."),
	ext("extra_dhcp_opt", "Neutron Extra DHCP options", "Extra DHCP options per port."),
	ext("extraroute", "Neutron Extra Route", "Static routes on routers."),
	ext("filter-validation", "Filter parameters validation", "Unknown filter parameters are refused."),
	ext("fip-port-details", "Floating IP Port Details Extension", "The port_details attribute of floating IPs."),
	ext("ip-substring-filtering", "IP address substring filtering", "Ports filtered by part of an IP address."),
	ext("l2_adjacency", "L2 Adjacency", "Whether a network guarantees L2 adjacency between its ports."),
	ext("l3_agent_scheduler", "L3 Agent Scheduler", "Which L3 agents host which routers."),
	ext("net-mtu", "Network MTU", "The mtu attribute of networks."),
	ext("net-mtu-writable", "Network MTU (writable)", "The mtu of a network may be set and changed."),
	ext("network_availability_zone", "Network Availability Zone", "Availability zone hints and zones of networks."),
	ext("pagination", "Pagination support", "limit, marker and page_reverse on lists."),
	ext("port-security", "Port Security", "The port_security_enabled attribute of networks and ports."),
	ext("port-security-groups-filtering", "Port filtering on security groups", "Ports filtered by security group."),
	ext("project-id", "project_id field enabled", "Resources carry project_id beside tenant_id."),
	ext("provider", "Provider Network", "The provider:network_type, physical_network and segmentation_id attributes."),
	ext("quota_details", "Quota details management support", "Usage and limits of each quota."),
	ext("quotas", "Quota management support", "Per-project quotas."),
	ext("revision-if-match", "If-Match constraints based on revision_number", "Updates and deletes constrained by If-Match: revision_number=N."),
	ext("router", "Neutron L3 Router", "Routers, their interfaces and gateways, and floating IPs."),
	ext("router_availability_zone", "Router Availability Zone", "Availability zone hints and zones of routers."),
	ext("security-group", "security-group", "Security groups and rules."),
	ext("security-groups-normalized-cidr", "Normalized CIDR field for security group rules", "The normalized_cidr attribute of rules."),
	ext("security-groups-rules-belongs-to-default-sg", "Security group rule belongs to the project's default security group", "The belongs_to_default_sg attribute of rules."),
	ext("service-type", "Neutron Service Type Management", "The service providers API."),
	ext("sorting", "Sorting support", "sort_key and sort_dir on lists."),
	ext("standard-attr-description", "standard-attr-description", "The description attribute of resources."),
	ext("standard-attr-revisions", "Resource revision numbers", "The revision_number attribute of resources."),
	ext("standard-attr-tag", "Tag support for resources with standard attribute", "Tags on networks, subnets, ports, routers, floating IPs, security groups and subnet pools."),
	ext("standard-attr-timestamp", "Resource timestamps", "The created_at and updated_at attributes of resources."),
	ext("stateful-security-group", "Stateful security group", "The stateful attribute of security groups."),
	ext("subnet-service-types", "Subnet service types", "The service_types attribute of subnets."),
	ext("subnet_allocation", "Subnet Allocation", "Subnet pools and subnets allocated from them."),
	ext("tag", "Tag support", "Tags on networks."),
}

func ext(alias, name, desc string) netapi.Extension {
	return netapi.Extension{Alias: alias, Name: name, Description: desc, Updated: "2024-01-01T00:00:00-00:00", Links: []netapi.Link{}}
}

func (a *API) listExtensions(ctx context.Context, r *rest.Request) (any, error) {
	return map[string]any{"extensions": Extensions}, nil
}

func (a *API) showExtension(ctx context.Context, r *rest.Request) (any, error) {
	alias := r.Param("alias")
	for _, e := range Extensions {
		if e.Alias == alias {
			return map[string]any{"extension": e}, nil
		}
	}
	return nil, fault.NotFound("Extension with alias %s does not exist", alias).WithType("HTTPNotFound")
}
