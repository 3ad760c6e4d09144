package clients

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Session reaches other OpenStack services the way Nova does: it logs in as
// the service user (keystoneauth's [service_user]), finds endpoints in the
// catalog, and makes calls with the caller's token when the context carries
// one (so that a user sees only what the user may see), or as the service
// user when asked to (AsService) or when there is no caller.
type Session struct {
	creds  authn.ServiceCredentials
	region string
	http   *http.Client

	mu        sync.Mutex
	provider  *gophercloud.ProviderClient
	endpoints map[string]string
}

// NewSession returns a session for the service credentials in a region
// ("" for any).
func NewSession(creds authn.ServiceCredentials, region string, hc *http.Client) *Session {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Minute}
	}
	if creds.UserDomainName == "" {
		creds.UserDomainName = "Default"
	}
	if creds.ProjectDomainName == "" {
		creds.ProjectDomainName = "Default"
	}
	return &Session{creds: creds, region: region, http: hc, endpoints: map[string]string{}}
}

type serviceKey struct{}

// AsService marks ctx so that calls made with it use the service user's
// token rather than the caller's (long-running work whose user token may
// expire, admin-only attributes).
func AsService(ctx context.Context) context.Context {
	return context.WithValue(ctx, serviceKey{}, true)
}

func (s *Session) login(ctx context.Context) (*gophercloud.ProviderClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider != nil {
		return s.provider, nil
	}
	authURL := strings.TrimSuffix(s.creds.AuthURL, "/")
	if !strings.HasSuffix(authURL, "/v3") {
		authURL += "/v3"
	}
	pc, err := openstack.NewClient(authURL)
	if err != nil {
		return nil, err
	}
	pc.HTTPClient = *s.http
	if err := authn.Authenticate(ctx, pc, s.creds); err != nil {
		return nil, fault.Unavailable("cannot log in to Keystone as %s: %v", s.creds.Username, err)
	}
	s.provider = pc
	return pc, nil
}

// client returns a service client for a service type ("image", "network",
// "block-storage").
func (s *Session) client(ctx context.Context, typ string) (*gophercloud.ServiceClient, error) {
	pc, err := s.login(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	ep := s.endpoints[typ]
	s.mu.Unlock()
	if ep == "" {
		eo := gophercloud.EndpointOpts{Region: s.region, Availability: gophercloud.AvailabilityPublic}
		var sc *gophercloud.ServiceClient
		switch typ {
		case "image":
			sc, err = openstack.NewImageV2(pc, eo)
		case "network":
			sc, err = openstack.NewNetworkV2(pc, eo)
		case "block-storage":
			sc, err = openstack.NewBlockStorageV3(pc, eo)
		default:
			return nil, fmt.Errorf("unknown service type %q", typ)
		}
		if err != nil {
			return nil, fault.Unavailable("no %s endpoint in the catalog: %v", typ, err)
		}
		ep = sc.Endpoint
		s.mu.Lock()
		s.endpoints[typ] = ep
		s.mu.Unlock()
	}
	sc := &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: ep, Type: typ}
	if a := authn.From(ctx); a != nil && a.Token != "" && ctx.Value(serviceKey{}) == nil {
		user := &gophercloud.ProviderClient{HTTPClient: *s.http, UserAgent: pc.UserAgent}
		user.SetToken(a.Token)
		sc.ProviderClient = user
		if typ == "block-storage" && a.ProjectID != "" {
			// Cinder's URL names a project: the caller's, not the
			// service user's the catalog was read with.
			sc.Endpoint = withProject(ep, a.ProjectID)
		}
	}
	sc.ResourceBase = sc.Endpoint
	switch typ {
	case "image":
		sc.ResourceBase += "v2/"
	case "network":
		sc.ResourceBase += "v2.0/"
	}
	return sc, nil
}

// mapErr turns a REST failure into a fault with the status the compute API
// should pass on; notFound is the fault for a 404.
func mapErr(err error, notFound *fault.Error) error {
	if err == nil {
		return nil
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		switch code.Actual {
		case http.StatusNotFound:
			if notFound != nil {
				return notFound
			}
			return fault.NotFound("not found: %s", code.URL)
		case http.StatusForbidden:
			return fault.Forbidden("%s", briefBody(code.Body))
		case http.StatusConflict:
			return fault.Conflict("%s", briefBody(code.Body))
		case http.StatusBadRequest:
			return fault.BadRequest("%s", briefBody(code.Body))
		case http.StatusRequestEntityTooLarge:
			return fault.TooLarge("%s", briefBody(code.Body))
		}
	}
	return fault.Unavailable("%v", err)
}

func briefBody(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// GlanceImages is Images over Glance's v2 API.
type GlanceImages struct{ S *Session }

var _ Images = (*GlanceImages)(nil)

func imageNotFound(id string) *fault.Error {
	return fault.NotFound("Image %s could not be found.", id).WithType("ImageNotFound")
}

func toMeta(im *images.Image) *objects.ImageMeta {
	m := &objects.ImageMeta{ID: im.ID, Name: im.Name, Status: string(im.Status), DiskFormat: im.DiskFormat,
		ContainerFormat: im.ContainerFormat, Size: im.SizeBytes, VirtualSize: im.VirtualSize, MinDisk: im.MinDiskGigabytes,
		MinRAM: im.MinRAMMegabytes, Checksum: im.Checksum, Owner: im.Owner, Visibility: string(im.Visibility),
		CreatedAt: im.CreatedAt, UpdatedAt: im.UpdatedAt, Properties: map[string]string{}}
	m.HashAlgo, _ = im.Properties["os_hash_algo"].(string)
	m.HashValue, _ = im.Properties["os_hash_value"].(string)
	for k, v := range im.Properties {
		if glanceCore[k] || strings.HasPrefix(k, "os_glance") {
			continue
		}
		switch x := v.(type) {
		case string:
			m.Properties[k] = x
		case nil:
		default:
			m.Properties[k] = fmt.Sprint(x)
		}
	}
	return m
}

// glanceCore are Glance's own image attributes, which are not properties a
// client may set (a snapshot that copied them would be refused).
var glanceCore = map[string]bool{"os_hash_algo": true, "os_hash_value": true, "os_hidden": true, "stores": true,
	"direct_url": true, "locations": true, "owner": true, "visibility": true, "protected": true, "id": true, "size": true,
	"virtual_size": true, "status": true, "checksum": true, "created_at": true, "updated_at": true, "file": true,
	"schema": true, "tags": true, "self": true, "name": true, "disk_format": true, "container_format": true,
	"min_disk": true, "min_ram": true}

// Get returns an image.
func (g *GlanceImages) Get(ctx context.Context, id string) (*objects.ImageMeta, error) {
	sc, err := g.S.client(ctx, "image")
	if err != nil {
		return nil, err
	}
	im, err := images.Get(ctx, sc, id).Extract()
	if err != nil {
		return nil, mapErr(err, imageNotFound(id))
	}
	return toMeta(im), nil
}

// List lists images.
func (g *GlanceImages) List(ctx context.Context, f ImageFilter) ([]*objects.ImageMeta, error) {
	sc, err := g.S.client(ctx, "image")
	if err != nil {
		return nil, err
	}
	opts := images.ListOpts{Name: f.Name, Limit: f.Limit, Marker: f.Marker}
	if f.Status != "" {
		opts.Status = images.ImageStatus(f.Status)
	}
	page, err := images.List(sc, opts).AllPages(ctx)
	if err != nil {
		return nil, mapErr(err, nil)
	}
	all, err := images.ExtractImages(page)
	if err != nil {
		return nil, err
	}
	out := make([]*objects.ImageMeta, len(all))
	for i := range all {
		out[i] = toMeta(&all[i])
	}
	return out, nil
}

// Download streams an image's data.
func (g *GlanceImages) Download(ctx context.Context, id string) (io.ReadCloser, error) {
	sc, err := g.S.client(ctx, "image")
	if err != nil {
		return nil, err
	}
	rc, err := imagedata.Download(ctx, sc, id).Extract()
	if err != nil {
		return nil, mapErr(err, imageNotFound(id))
	}
	return rc, nil
}

// Create registers a queued image.
func (g *GlanceImages) Create(ctx context.Context, c ImageCreate) (*objects.ImageMeta, error) {
	sc, err := g.S.client(ctx, "image")
	if err != nil {
		return nil, err
	}
	opts := images.CreateOpts{Name: c.Name, DiskFormat: c.DiskFormat, ContainerFormat: c.ContainerFormat,
		MinDisk: c.MinDisk, MinRAM: c.MinRAM, Properties: c.Properties}
	if c.Visibility != "" {
		v := images.ImageVisibility(c.Visibility)
		opts.Visibility = &v
	}
	im, err := images.Create(ctx, sc, opts).Extract()
	if err != nil {
		return nil, mapErr(err, nil)
	}
	return toMeta(im), nil
}

// Upload stores image data.
func (g *GlanceImages) Upload(ctx context.Context, id string, data io.Reader, size int64) error {
	sc, err := g.S.client(ctx, "image")
	if err != nil {
		return err
	}
	return mapErr(imagedata.Upload(ctx, sc, id, data).ExtractErr(), imageNotFound(id))
}

// Update sets or removes image properties.
func (g *GlanceImages) Update(ctx context.Context, id string, props map[string]*string) (*objects.ImageMeta, error) {
	sc, err := g.S.client(ctx, "image")
	if err != nil {
		return nil, err
	}
	var ops images.UpdateOpts
	for k, v := range props {
		if v == nil {
			ops = append(ops, images.UpdateImageProperty{Op: images.RemoveOp, Name: k})
		} else {
			ops = append(ops, images.UpdateImageProperty{Op: images.AddOp, Name: k, Value: *v})
		}
	}
	im, err := images.Update(ctx, sc, id, ops).Extract()
	if err != nil {
		return nil, mapErr(err, imageNotFound(id))
	}
	return toMeta(im), nil
}

// Delete removes an image.
func (g *GlanceImages) Delete(ctx context.Context, id string) error {
	sc, err := g.S.client(ctx, "image")
	if err != nil {
		return err
	}
	err = images.Delete(ctx, sc, id).ExtractErr()
	if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return nil
	}
	return mapErr(err, nil)
}

// NeutronNetwork is Network over Neutron's v2.0 API.
type NeutronNetwork struct{ S *Session }

var _ Network = (*NeutronNetwork)(nil)

func (n *NeutronNetwork) get(ctx context.Context, path string, out any, notFound *fault.Error) error {
	sc, err := n.S.client(ctx, "network")
	if err != nil {
		return err
	}
	_, err = sc.Get(ctx, sc.ResourceBase+path, out, nil)
	return mapErr(err, notFound)
}

// Network returns a network.
func (n *NeutronNetwork) Network(ctx context.Context, id string) (*Net, error) {
	var body struct {
		Network Net `json:"network"`
	}
	nf := fault.NotFound("Network %s could not be found.", id).WithType("NetworkNotFound")
	if err := n.get(ctx, "networks/"+url.PathEscape(id), &body, nf); err != nil {
		return nil, err
	}
	return &body.Network, nil
}

// Networks lists networks.
func (n *NeutronNetwork) Networks(ctx context.Context, f NetFilter) ([]Net, error) {
	var body struct {
		Networks []Net `json:"networks"`
	}
	q := url.Values{}
	for _, id := range f.IDs {
		q.Add("id", id)
	}
	if err := n.get(ctx, "networks?"+q.Encode(), &body, nil); err != nil {
		return nil, err
	}
	if f.ProjectID == "" {
		return body.Networks, nil
	}
	var out []Net
	for _, nw := range body.Networks {
		if nw.ProjectID == f.ProjectID || nw.Shared {
			out = append(out, nw)
		}
	}
	return out, nil
}

func portNotFound(id string) *fault.Error {
	return fault.NotFound("Port id %s could not be found.", id).WithType("PortNotFound")
}

// Port returns a port.
func (n *NeutronNetwork) Port(ctx context.Context, id string) (*Port, error) {
	var body struct {
		Port Port `json:"port"`
	}
	if err := n.get(ctx, "ports/"+url.PathEscape(id), &body, portNotFound(id)); err != nil {
		return nil, err
	}
	return &body.Port, nil
}

// Ports lists an instance's ports.
func (n *NeutronNetwork) Ports(ctx context.Context, deviceID string) ([]Port, error) {
	var body struct {
		Ports []Port `json:"ports"`
	}
	if err := n.get(ctx, "ports?device_id="+url.QueryEscape(deviceID), &body, nil); err != nil {
		return nil, err
	}
	return body.Ports, nil
}

// CreatePort creates a port.
func (n *NeutronNetwork) CreatePort(ctx context.Context, c PortCreate) (*Port, error) {
	sc, err := n.S.client(ctx, "network")
	if err != nil {
		return nil, err
	}
	p := map[string]any{"network_id": c.NetworkID, "device_id": c.DeviceID, "device_owner": c.DeviceOwner}
	if c.Name != "" {
		p["name"] = c.Name
	}
	if c.ProjectID != "" {
		p["project_id"] = c.ProjectID
	}
	if len(c.FixedIPs) > 0 {
		p["fixed_ips"] = c.FixedIPs
	}
	if c.SecurityGroups != nil {
		p["security_groups"] = c.SecurityGroups
	}
	var body struct {
		Port Port `json:"port"`
	}
	_, err = sc.Post(ctx, sc.ResourceBase+"ports", map[string]any{"port": p}, &body, &gophercloud.RequestOpts{OkCodes: []int{201}})
	if err != nil {
		return nil, mapErr(err, fault.NotFound("Network %s could not be found.", c.NetworkID).WithType("NetworkNotFound"))
	}
	return &body.Port, nil
}

func (n *NeutronNetwork) put(ctx context.Context, id string, p map[string]any) (*Port, error) {
	sc, err := n.S.client(ctx, "network")
	if err != nil {
		return nil, err
	}
	var body struct {
		Port Port `json:"port"`
	}
	_, err = sc.Put(ctx, sc.ResourceBase+"ports/"+url.PathEscape(id), map[string]any{"port": p}, &body, &gophercloud.RequestOpts{OkCodes: []int{200}})
	if err != nil {
		return nil, mapErr(err, portNotFound(id))
	}
	return &body.Port, nil
}

// BindPort binds a port to a host.
func (n *NeutronNetwork) BindPort(ctx context.Context, id string, b PortBinding) (*Port, error) {
	return n.put(AsService(ctx), id, map[string]any{"binding:host_id": b.HostID, "device_id": b.DeviceID, "device_owner": b.DeviceOwner})
}

// UnbindPort clears a port's device and binding.
func (n *NeutronNetwork) UnbindPort(ctx context.Context, id string) error {
	_, err := n.put(AsService(ctx), id, map[string]any{"binding:host_id": "", "device_id": "", "device_owner": ""})
	if fault.IsNotFound(err) {
		return nil
	}
	return err
}

// UpdatePortFixedIPs sets a port's fixed IPs.
func (n *NeutronNetwork) UpdatePortFixedIPs(ctx context.Context, id string, ips []FixedIP) (*Port, error) {
	return n.put(AsService(ctx), id, map[string]any{"fixed_ips": ips})
}

// DeletePort deletes a port.
func (n *NeutronNetwork) DeletePort(ctx context.Context, id string) error {
	sc, err := n.S.client(ctx, "network")
	if err != nil {
		return err
	}
	_, err = sc.Delete(ctx, sc.ResourceBase+"ports/"+url.PathEscape(id), nil)
	if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return nil
	}
	return mapErr(err, nil)
}

// Subnet returns a subnet.
func (n *NeutronNetwork) Subnet(ctx context.Context, id string) (*Subnet, error) {
	var body struct {
		Subnet Subnet `json:"subnet"`
	}
	if err := n.get(ctx, "subnets/"+url.PathEscape(id), &body, fault.NotFound("Subnet %s could not be found.", id)); err != nil {
		return nil, err
	}
	return &body.Subnet, nil
}

// FloatingIPs lists floating IPs of ports.
func (n *NeutronNetwork) FloatingIPs(ctx context.Context, portIDs []string) ([]FloatingIP, error) {
	if len(portIDs) == 0 {
		return nil, nil
	}
	q := url.Values{}
	for _, id := range portIDs {
		q.Add("port_id", id)
	}
	var body struct {
		FloatingIPs []FloatingIP `json:"floatingips"`
	}
	if err := n.get(ctx, "floatingips?"+q.Encode(), &body, nil); err != nil {
		return nil, err
	}
	return body.FloatingIPs, nil
}

// SecurityGroups resolves security groups by name or id.
func (n *NeutronNetwork) SecurityGroups(ctx context.Context, projectID string, namesOrIDs []string) ([]SecurityGroup, error) {
	all, err := n.ListSecurityGroups(ctx, projectID)
	if err != nil {
		return nil, err
	}
	var out []SecurityGroup
	for _, want := range namesOrIDs {
		found := false
		for _, g := range all {
			if g.ID == want || g.Name == want {
				out = append(out, g)
				found = true
				break
			}
		}
		if !found {
			return nil, fault.BadRequest("Security group %s not found for project %s.", want, projectID).WithType("SecurityGroupNotFound")
		}
	}
	return out, nil
}
