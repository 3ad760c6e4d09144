package clients

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// The Neutron calls behind the compute API's deprecated proxies and the
// security group actions.

// SecurityGroupNotFound is the compute API's fault for a missing group.
func SecurityGroupNotFound(id string) *fault.Error {
	return fault.NotFound("Security group %s not found.", id).WithType("SecurityGroupNotFound")
}

// SecurityGroupRuleNotFound is the compute API's fault for a missing rule.
func SecurityGroupRuleNotFound(id string) *fault.Error {
	return fault.NotFound("Security group rule %s not found.", id).WithType("SecurityGroupNotFound")
}

// FloatingIPNotFound is the compute API's fault for a missing floating IP.
func FloatingIPNotFound(id string) *fault.Error {
	return fault.NotFound("Floating IP not found for ID %s", id).WithType("FloatingIpNotFound")
}

func (n *NeutronNetwork) send(ctx context.Context, method, path string, in, out any, ok int, notFound *fault.Error) error {
	sc, err := n.S.client(ctx, "network")
	if err != nil {
		return err
	}
	opts := &gophercloud.RequestOpts{OkCodes: []int{ok}}
	u := sc.ResourceBase + path
	switch method {
	case http.MethodPost:
		_, err = sc.Post(ctx, u, in, out, opts)
	case http.MethodPut:
		_, err = sc.Put(ctx, u, in, out, opts)
	case http.MethodDelete:
		_, err = sc.Delete(ctx, u, opts)
	}
	return mapErr(err, notFound)
}

// SetPortSecurityGroups replaces a port's security groups.
func (n *NeutronNetwork) SetPortSecurityGroups(ctx context.Context, portID string, groupIDs []string) error {
	if groupIDs == nil {
		groupIDs = []string{}
	}
	_, err := n.put(ctx, portID, map[string]any{"security_groups": groupIDs})
	return err
}

// ListSecurityGroups lists security groups.
func (n *NeutronNetwork) ListSecurityGroups(ctx context.Context, projectID string) ([]SecurityGroup, error) {
	var body struct {
		SecurityGroups []SecurityGroup `json:"security_groups"`
	}
	q := url.Values{}
	if projectID != "" {
		q.Set("project_id", projectID)
	}
	if err := n.get(ctx, "security-groups?"+q.Encode(), &body, nil); err != nil {
		return nil, err
	}
	return body.SecurityGroups, nil
}

// SecurityGroup returns a security group.
func (n *NeutronNetwork) SecurityGroup(ctx context.Context, id string) (*SecurityGroup, error) {
	var body struct {
		SecurityGroup SecurityGroup `json:"security_group"`
	}
	if id == "" {
		return nil, SecurityGroupNotFound(id)
	}
	if err := n.get(ctx, "security-groups/"+url.PathEscape(id), &body, SecurityGroupNotFound(id)); err != nil {
		return nil, err
	}
	return &body.SecurityGroup, nil
}

// CreateSecurityGroup creates a security group.
func (n *NeutronNetwork) CreateSecurityGroup(ctx context.Context, name, description string) (*SecurityGroup, error) {
	var body struct {
		SecurityGroup SecurityGroup `json:"security_group"`
	}
	in := map[string]any{"security_group": map[string]any{"name": name, "description": description}}
	if err := n.send(ctx, http.MethodPost, "security-groups", in, &body, http.StatusCreated, nil); err != nil {
		return nil, err
	}
	return &body.SecurityGroup, nil
}

// UpdateSecurityGroup renames a security group.
func (n *NeutronNetwork) UpdateSecurityGroup(ctx context.Context, id, name, description string) (*SecurityGroup, error) {
	var body struct {
		SecurityGroup SecurityGroup `json:"security_group"`
	}
	in := map[string]any{"security_group": map[string]any{"name": name, "description": description}}
	if err := n.send(ctx, http.MethodPut, "security-groups/"+url.PathEscape(id), in, &body, http.StatusOK, SecurityGroupNotFound(id)); err != nil {
		return nil, err
	}
	return &body.SecurityGroup, nil
}

// DeleteSecurityGroup deletes a security group.
func (n *NeutronNetwork) DeleteSecurityGroup(ctx context.Context, id string) error {
	return n.send(ctx, http.MethodDelete, "security-groups/"+url.PathEscape(id), nil, nil, http.StatusNoContent, SecurityGroupNotFound(id))
}

// SecurityGroupRule returns a rule.
func (n *NeutronNetwork) SecurityGroupRule(ctx context.Context, id string) (*SecurityGroupRule, error) {
	var body struct {
		Rule SecurityGroupRule `json:"security_group_rule"`
	}
	if err := n.get(ctx, "security-group-rules/"+url.PathEscape(id), &body, SecurityGroupRuleNotFound(id)); err != nil {
		return nil, err
	}
	return &body.Rule, nil
}

// CreateSecurityGroupRule creates a rule.
func (n *NeutronNetwork) CreateSecurityGroupRule(ctx context.Context, r SecurityGroupRule) (*SecurityGroupRule, error) {
	var body struct {
		Rule SecurityGroupRule `json:"security_group_rule"`
	}
	err := n.send(ctx, http.MethodPost, "security-group-rules", map[string]any{"security_group_rule": r}, &body, http.StatusCreated,
		SecurityGroupNotFound(r.SecurityGroupID))
	if err != nil {
		return nil, err
	}
	return &body.Rule, nil
}

// DeleteSecurityGroupRule deletes a rule.
func (n *NeutronNetwork) DeleteSecurityGroupRule(ctx context.Context, id string) error {
	return n.send(ctx, http.MethodDelete, "security-group-rules/"+url.PathEscape(id), nil, nil, http.StatusNoContent, SecurityGroupRuleNotFound(id))
}

// fipWithDevice fills a floating IP's PortDeviceID.
func (n *NeutronNetwork) fipWithDevice(ctx context.Context, f *FloatingIP) {
	if f.PortID == "" {
		return
	}
	if p, err := n.Port(AsService(ctx), f.PortID); err == nil {
		f.PortDeviceID = p.DeviceID
	}
}

// ListFloatingIPs lists floating IPs.
func (n *NeutronNetwork) ListFloatingIPs(ctx context.Context, projectID, address string) ([]FloatingIP, error) {
	var body struct {
		FloatingIPs []FloatingIP `json:"floatingips"`
	}
	q := url.Values{}
	if projectID != "" {
		q.Set("project_id", projectID)
	}
	if address != "" {
		q.Set("floating_ip_address", address)
	}
	if err := n.get(ctx, "floatingips?"+q.Encode(), &body, nil); err != nil {
		return nil, err
	}
	for i := range body.FloatingIPs {
		n.fipWithDevice(ctx, &body.FloatingIPs[i])
	}
	return body.FloatingIPs, nil
}

// FloatingIP returns a floating IP.
func (n *NeutronNetwork) FloatingIP(ctx context.Context, id string) (*FloatingIP, error) {
	var body struct {
		FloatingIP FloatingIP `json:"floatingip"`
	}
	if err := n.get(ctx, "floatingips/"+url.PathEscape(id), &body, FloatingIPNotFound(id)); err != nil {
		return nil, err
	}
	n.fipWithDevice(ctx, &body.FloatingIP)
	return &body.FloatingIP, nil
}

// CreateFloatingIP allocates a floating IP.
func (n *NeutronNetwork) CreateFloatingIP(ctx context.Context, networkID string) (*FloatingIP, error) {
	var body struct {
		FloatingIP FloatingIP `json:"floatingip"`
	}
	in := map[string]any{"floatingip": map[string]any{"floating_network_id": networkID}}
	if err := n.send(ctx, http.MethodPost, "floatingips", in, &body, http.StatusCreated, nil); err != nil {
		return nil, err
	}
	return &body.FloatingIP, nil
}

// AssociateFloatingIP associates or disassociates a floating IP.
func (n *NeutronNetwork) AssociateFloatingIP(ctx context.Context, id, portID, fixedIP string) (*FloatingIP, error) {
	var body struct {
		FloatingIP FloatingIP `json:"floatingip"`
	}
	f := map[string]any{"port_id": nil}
	if portID != "" {
		f["port_id"] = portID
		if fixedIP != "" {
			f["fixed_ip_address"] = fixedIP
		}
	}
	if err := n.send(ctx, http.MethodPut, "floatingips/"+url.PathEscape(id), map[string]any{"floatingip": f}, &body, http.StatusOK, FloatingIPNotFound(id)); err != nil {
		return nil, err
	}
	n.fipWithDevice(ctx, &body.FloatingIP)
	return &body.FloatingIP, nil
}

// DeleteFloatingIP releases a floating IP.
func (n *NeutronNetwork) DeleteFloatingIP(ctx context.Context, id string) error {
	return n.send(ctx, http.MethodDelete, "floatingips/"+url.PathEscape(id), nil, nil, http.StatusNoContent, FloatingIPNotFound(id))
}

// ExternalNetworks lists external networks.
func (n *NeutronNetwork) ExternalNetworks(ctx context.Context) ([]Net, error) {
	var body struct {
		Networks []Net `json:"networks"`
	}
	if err := n.get(ctx, "networks?router:external=true", &body, nil); err != nil {
		return nil, err
	}
	return body.Networks, nil
}
