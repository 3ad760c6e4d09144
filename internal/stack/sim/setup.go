package sim

import (
	"context"
	"fmt"
	"net/http"
)

// Tenant is what the load boots with: the demo user's token, a tiny image,
// a flavor and a network big enough for any run.
type Tenant struct {
	AdminToken, Token string
	ImageID           string
	FlavorID          string
	NetworkID         string
}

// Prepare lifts the demo project's quotas and makes the image and network
// the load boots with.
func (c *Cloud) Prepare(ctx context.Context, network bool) (*Tenant, error) {
	st := c.Replicas[0]
	admin, _, err := st.Login(ctx, "admin", "admin")
	if err != nil {
		return nil, err
	}
	demo, demoCtx, err := st.Login(ctx, "demo", "demo")
	if err != nil {
		return nil, err
	}
	t := &Tenant{AdminToken: admin, Token: demo, FlavorID: "1"}
	ac := &client{hc: http.DefaultClient, token: admin}
	dc := &client{hc: http.DefaultClient, token: demo}
	if _, _, err := ac.do(ctx, "PUT", c.URL(0, "nova")+"/os-quota-sets/"+demoCtx.ProjectID, map[string]any{
		"quota_set": map[string]any{"instances": -1, "cores": -1, "ram": -1}}, nil); err != nil {
		return nil, err
	}
	if _, _, err := ac.do(ctx, "PUT", c.URL(0, "neutron")+"/v2.0/quotas/"+demoCtx.ProjectID, map[string]any{
		"quota": map[string]any{"port": -1}}, nil); err != nil {
		return nil, err
	}
	// A 64 KiB raw image: every host fetches it once into its cache.
	var img struct {
		ID string `json:"id"`
	}
	if _, _, err := dc.do(ctx, "POST", c.URL(0, "glance")+"/v2/images", map[string]any{
		"name": "sim-tiny", "disk_format": "raw", "container_format": "bare"}, &img); err != nil {
		return nil, err
	}
	if _, _, err := dc.do(ctx, "PUT", c.URL(0, "glance")+"/v2/images/"+img.ID+"/file", make([]byte, 64<<10), nil,
		"Content-Type", "application/octet-stream"); err != nil {
		return nil, err
	}
	t.ImageID = img.ID
	if !network {
		return t, nil
	}
	var net struct {
		Network struct {
			ID string `json:"id"`
		} `json:"network"`
	}
	if _, _, err := dc.do(ctx, "POST", c.URL(0, "neutron")+"/v2.0/networks", map[string]any{"network": map[string]any{"name": "sim-net"}}, &net); err != nil {
		return nil, err
	}
	if _, _, err := dc.do(ctx, "POST", c.URL(0, "neutron")+"/v2.0/subnets", map[string]any{"subnet": map[string]any{
		"network_id": net.Network.ID, "cidr": "10.128.0.0/12", "ip_version": 4, "name": "sim-subnet"}}, nil); err != nil {
		return nil, fmt.Errorf("subnet: %w", err)
	}
	t.NetworkID = net.Network.ID
	return t, nil
}
