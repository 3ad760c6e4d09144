package glance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Image is what the block storage service reads of a Glance image.
type Image struct {
	ID              string
	Name            string
	Status          string
	DiskFormat      string
	ContainerFormat string
	Size            int64
	VirtualSize     int64
	MinDisk         int
	MinRAM          int
	Checksum        string
	Owner           string
	Visibility      string
	Protected       bool
	// Properties are the image's own properties (not Glance's core
	// attributes), as strings.
	Properties map[string]string
}

// Create describes an image to register (queued, no data yet).
type Create struct {
	Name            string
	DiskFormat      string
	ContainerFormat string
	MinDisk         int
	MinRAM          int
	Visibility      string
	Protected       bool
	Properties      map[string]string
}

// Client reaches Glance.
type Client struct {
	creds  authn.ServiceCredentials
	region string
	http   *http.Client

	mu       sync.Mutex
	provider *gophercloud.ProviderClient
	endpoint string
}

// New returns a client for the service credentials in a region ("" for
// any).
func New(creds authn.ServiceCredentials, region string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Minute}
	}
	return &Client{creds: creds, region: region, http: hc}
}

func (c *Client) login(ctx context.Context) (*gophercloud.ProviderClient, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return c.provider, c.endpoint, nil
	}
	if c.creds.AuthURL == "" {
		return nil, "", fault.Unavailable("the Image service cannot be reached: no service credentials")
	}
	authURL := strings.TrimSuffix(c.creds.AuthURL, "/")
	if !strings.HasSuffix(authURL, "/v3") {
		authURL += "/v3"
	}
	pc, err := openstack.NewClient(authURL)
	if err != nil {
		return nil, "", err
	}
	pc.HTTPClient = *c.http
	if err := authn.Authenticate(ctx, pc, c.creds); err != nil {
		return nil, "", fault.Unavailable("cannot log in to Keystone as %s: %v", c.creds.Username, err)
	}
	sc, err := openstack.NewImageV2(pc, gophercloud.EndpointOpts{Region: c.region, Availability: gophercloud.AvailabilityPublic})
	if err != nil {
		return nil, "", fault.Unavailable("no image endpoint in the catalog: %v", err)
	}
	c.provider, c.endpoint = pc, sc.Endpoint
	return pc, sc.Endpoint, nil
}

// client is a Glance client presenting token, or the service user's own
// when token is empty.
func (c *Client) client(ctx context.Context, token string) (*gophercloud.ServiceClient, error) {
	pc, ep, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	sc := &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: ep, Type: "image"}
	if token != "" {
		user := &gophercloud.ProviderClient{HTTPClient: *c.http, UserAgent: pc.UserAgent}
		user.SetToken(token)
		sc.ProviderClient = user
	}
	sc.ResourceBase = ep + "v2/"
	return sc, nil
}

// ErrNotFound: the image does not exist or the caller may not see it.
var ErrNotFound = errors.New("image not found")

func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		body := strings.TrimSpace(string(code.Body))
		if len(body) > 300 {
			body = body[:300]
		}
		switch code.Actual {
		case http.StatusNotFound:
			return ErrNotFound
		case http.StatusForbidden:
			return fault.Forbidden("the Image service refused: %s", body)
		case http.StatusConflict:
			return fault.Conflict("the Image service refused: %s", body)
		case http.StatusBadRequest:
			return fault.BadRequest("Invalid input received: the Image service refused: %s", body)
		case http.StatusRequestEntityTooLarge:
			return fault.TooLarge("the Image service refused: %s", body)
		}
	}
	return fault.Unavailable("the Image service failed: %v", err)
}

// core are Glance's own attributes, which are not image properties.
var core = map[string]bool{"os_hash_algo": true, "os_hash_value": true, "os_hidden": true, "stores": true,
	"direct_url": true, "locations": true, "owner": true, "visibility": true, "protected": true, "id": true, "size": true,
	"virtual_size": true, "status": true, "checksum": true, "created_at": true, "updated_at": true, "file": true,
	"schema": true, "tags": true, "self": true, "name": true, "disk_format": true, "container_format": true,
	"min_disk": true, "min_ram": true}

func toImage(im *images.Image) *Image {
	out := &Image{ID: im.ID, Name: im.Name, Status: string(im.Status), DiskFormat: im.DiskFormat,
		ContainerFormat: im.ContainerFormat, Size: im.SizeBytes, VirtualSize: im.VirtualSize, MinDisk: im.MinDiskGigabytes,
		MinRAM: im.MinRAMMegabytes, Checksum: im.Checksum, Owner: im.Owner, Visibility: string(im.Visibility),
		Protected: im.Protected, Properties: map[string]string{}}
	for k, v := range im.Properties {
		if core[k] || strings.HasPrefix(k, "os_glance") {
			continue
		}
		switch x := v.(type) {
		case string:
			out.Properties[k] = x
		case nil:
		default:
			out.Properties[k] = fmt.Sprint(x)
		}
	}
	return out
}

// Get returns an image as the holder of token sees it ("" for the
// service user); ErrNotFound when it is not there.
func (c *Client) Get(ctx context.Context, token, id string) (*Image, error) {
	sc, err := c.client(ctx, token)
	if err != nil {
		return nil, err
	}
	im, err := images.Get(ctx, sc, id).Extract()
	if err != nil {
		return nil, mapErr(err)
	}
	return toImage(im), nil
}

// FindByName lists the images named name that token's holder sees.
func (c *Client) FindByName(ctx context.Context, token, name string) ([]*Image, error) {
	sc, err := c.client(ctx, token)
	if err != nil {
		return nil, err
	}
	page, err := images.List(sc, images.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	all, err := images.ExtractImages(page)
	if err != nil {
		return nil, err
	}
	out := make([]*Image, len(all))
	for i := range all {
		out[i] = toImage(&all[i])
	}
	return out, nil
}

// Download streams an image's data, as the service user.
func (c *Client) Download(ctx context.Context, id string) (io.ReadCloser, error) {
	sc, err := c.client(ctx, "")
	if err != nil {
		return nil, err
	}
	rc, err := imagedata.Download(ctx, sc, id).Extract()
	if err != nil {
		return nil, mapErr(err)
	}
	return rc, nil
}

// Create registers a queued image owned by token's holder's project.
func (c *Client) Create(ctx context.Context, token string, in Create) (*Image, error) {
	sc, err := c.client(ctx, token)
	if err != nil {
		return nil, err
	}
	opts := images.CreateOpts{Name: in.Name, DiskFormat: in.DiskFormat, ContainerFormat: in.ContainerFormat,
		MinDisk: in.MinDisk, MinRAM: in.MinRAM, Properties: in.Properties}
	if in.Visibility != "" {
		v := images.ImageVisibility(in.Visibility)
		opts.Visibility = &v
	}
	if in.Protected {
		p := true
		opts.Protected = &p
	}
	im, err := images.Create(ctx, sc, opts).Extract()
	if err != nil {
		return nil, mapErr(err)
	}
	return toImage(im), nil
}

// Upload stores an image's data, as the service user.
func (c *Client) Upload(ctx context.Context, id string, data io.Reader) error {
	sc, err := c.client(ctx, "")
	if err != nil {
		return err
	}
	return mapErr(imagedata.Upload(ctx, sc, id, data).ExtractErr())
}

// Delete removes an image, as the service user; a missing one is no
// error.
func (c *Client) Delete(ctx context.Context, id string) error {
	sc, err := c.client(ctx, "")
	if err != nil {
		return err
	}
	err = images.Delete(ctx, sc, id).ExtractErr()
	if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return nil
	}
	return mapErr(err)
}

// VolumeMetadata is what a volume made from an image records of it
// (Cinder's get_volume_image_metadata): the image's properties, then its
// id, name and core attributes, as strings.
func VolumeMetadata(img *Image) map[string]string {
	md := maps.Clone(img.Properties)
	if md == nil {
		md = map[string]string{}
	}
	md["image_id"] = img.ID
	if img.Name != "" {
		md["image_name"] = img.Name
	}
	if img.Checksum != "" {
		md["checksum"] = img.Checksum
	}
	if img.ContainerFormat != "" {
		md["container_format"] = img.ContainerFormat
	}
	if img.DiskFormat != "" {
		md["disk_format"] = img.DiskFormat
	}
	md["min_disk"] = strconv.Itoa(img.MinDisk)
	md["min_ram"] = strconv.Itoa(img.MinRAM)
	md["size"] = fmt.Sprint(img.Size)
	return md
}
