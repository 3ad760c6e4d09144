package image

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/limits"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/registeredlimits"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/services"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
)

// keystoneLimits reads the image service's unified limits from Keystone,
// as oslo.limit does: the project's limit for a resource if one is set,
// else the registered default, else 0. Answers are kept for a short while
// so that an upload does not cost three Keystone round trips.
type keystoneLimits struct {
	creds  authn.ServiceCredentials
	region string
	opt    LimitOptions
	ttl    time.Duration

	mu       sync.Mutex
	client   *gophercloud.ServiceClient
	service  string
	regionID string
	cache    map[string]cachedLimits
}

type cachedLimits struct {
	at     time.Time
	limits map[string]int64
}

func newKeystoneLimits(creds authn.ServiceCredentials, region string, opt LimitOptions) *keystoneLimits {
	if opt.EndpointRegionName != "" {
		region = opt.EndpointRegionName
	}
	return &keystoneLimits{creds: creds, region: region, opt: opt, ttl: 30 * time.Second, cache: map[string]cachedLimits{}}
}

// connect logs in and finds the service the limits are registered for.
func (k *keystoneLimits) connect(ctx context.Context) error {
	if k.client != nil {
		return nil
	}
	authURL := strings.TrimSuffix(k.creds.AuthURL, "/")
	if !strings.HasSuffix(authURL, "/v3") {
		authURL += "/v3"
	}
	p, err := openstack.NewClient(authURL)
	if err != nil {
		return err
	}
	if err := authn.Authenticate(ctx, p, k.creds); err != nil {
		return fmt.Errorf("log in to Keystone: %w", err)
	}
	c, err := openstack.NewIdentityV3(p, gophercloud.EndpointOpts{Region: k.region})
	if err != nil {
		return err
	}
	if k.opt.EndpointID != "" {
		ep, err := endpoints.Get(ctx, c, k.opt.EndpointID).Extract()
		if err != nil {
			return fmt.Errorf("endpoint %s: %w", k.opt.EndpointID, err)
		}
		k.service, k.regionID = ep.ServiceID, ep.Region
	} else {
		pages, err := services.List(c, services.ListOpts{ServiceType: k.opt.EndpointServiceType}).AllPages(ctx)
		if err != nil {
			return fmt.Errorf("find the %s service: %w", k.opt.EndpointServiceType, err)
		}
		svcs, err := services.ExtractServices(pages)
		if err != nil || len(svcs) == 0 {
			return fmt.Errorf("no %s service in Keystone's catalog", k.opt.EndpointServiceType)
		}
		k.service, k.regionID = svcs[0].ID, k.region
	}
	k.client = c
	return nil
}

// ProjectLimits implements api.Limits.
func (k *keystoneLimits) ProjectLimits(ctx context.Context, project string, resources []string) (map[string]int64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c, ok := k.cache[project]; ok && time.Since(c.at) < k.ttl {
		return c.limits, nil
	}
	if err := k.connect(ctx); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	pages, err := registeredlimits.List(k.client, registeredlimits.ListOpts{ServiceID: k.service, RegionID: k.regionID}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("registered limits: %w", err)
	}
	regs, err := registeredlimits.ExtractRegisteredLimits(pages)
	if err != nil {
		return nil, err
	}
	for _, r := range regs {
		out[r.ResourceName] = int64(r.DefaultLimit)
	}
	pages, err = limits.List(k.client, limits.ListOpts{ProjectID: project, ServiceID: k.service, RegionID: k.regionID}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("project limits: %w", err)
	}
	ls, err := limits.ExtractLimits(pages)
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		out[l.ResourceName] = int64(l.ResourceLimit)
	}
	k.cache[project] = cachedLimits{at: time.Now(), limits: out}
	return out, nil
}
