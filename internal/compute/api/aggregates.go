package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func (a *API) aggregateView(r *rest.Request, ag *objects.Aggregate, full bool) map[string]any {
	v := map[string]any{"id": ag.ID, "name": ag.Name, "availability_zone": nullString(ag.AvailabilityZone()),
		"created_at": isoMicro(ag.CreatedAt), "updated_at": nil, "deleted": false, "deleted_at": nil}
	if !ag.UpdatedAt.Equal(ag.CreatedAt) {
		v["updated_at"] = isoMicro(ag.UpdatedAt)
	}
	if full {
		v["hosts"], v["metadata"] = ag.Hosts, ag.Metadata
	}
	if r.Version.AtLeast(rest.V(2, 41)) {
		v["uuid"] = ag.UUID
	}
	return v
}

func (a *API) listAggregates(ctx context.Context, r *rest.Request) (any, error) {
	aggs, err := a.d.Store.Aggregates(ctx)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, 0, len(aggs))
	for _, ag := range aggs {
		list = append(list, a.aggregateView(r, ag, true))
	}
	return map[string]any{"aggregates": list}, nil
}

func (a *API) aggregateByParam(ctx context.Context, r *rest.Request) (*objects.Aggregate, error) {
	id, err := strconv.ParseInt(r.Param("aggregate_id"), 10, 64)
	if err != nil {
		return nil, fault.BadRequest("Invalid aggregate id %s", r.Param("aggregate_id"))
	}
	return a.d.Store.Aggregate(ctx, id)
}

// validAZName checks an availability zone name (no ':').
func validAZName(s string) error {
	if err := validName("availability_zone", s, false); err != nil {
		return err
	}
	if strings.Contains(s, ":") {
		return fault.BadRequest("Invalid input for field/attribute availability_zone. Value: %s. It contains ':'", s)
	}
	return nil
}

func (a *API) createAggregate(ctx context.Context, r *rest.Request) (any, error) {
	var body struct {
		Aggregate struct {
			Name *string `json:"name"`
			AZ   *string `json:"availability_zone"`
		} `json:"aggregate"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if body.Aggregate.Name == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute aggregate. 'name' is a required property")
	}
	if err := validName("name", *body.Aggregate.Name, false); err != nil {
		return nil, err
	}
	ag := &objects.Aggregate{UUID: uuid.NewString(), Name: *body.Aggregate.Name, Hosts: []string{}, Metadata: map[string]string{}}
	if z := body.Aggregate.AZ; z != nil {
		if err := validAZName(*z); err != nil {
			return nil, err
		}
		ag.Metadata["availability_zone"] = *z
	}
	if err := a.d.Store.CreateAggregate(ctx, ag); err != nil {
		return nil, err
	}
	return map[string]any{"aggregate": a.aggregateView(r, ag, false)}, nil
}

func (a *API) showAggregate(ctx context.Context, r *rest.Request) (any, error) {
	ag, err := a.aggregateByParam(ctx, r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"aggregate": a.aggregateView(r, ag, true)}, nil
}

func (a *API) updateAggregate(ctx context.Context, r *rest.Request) (any, error) {
	ag, err := a.aggregateByParam(ctx, r)
	if err != nil {
		return nil, err
	}
	var body struct {
		Aggregate map[string]*string `json:"aggregate"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if len(body.Aggregate) == 0 {
		return nil, fault.BadRequest("Invalid input for field/attribute aggregate. It should have at least 1 property")
	}
	for k, v := range body.Aggregate {
		switch k {
		case "name":
			if v == nil {
				return nil, fault.BadRequest("Invalid input for field/attribute name. None is not of type 'string'")
			}
			if err := validName("name", *v, false); err != nil {
				return nil, err
			}
			if err := a.d.Store.UpdateAggregate(ctx, ag.ID, *v); err != nil {
				return nil, err
			}
		case "availability_zone":
			if v != nil {
				if err := validAZName(*v); err != nil {
					return nil, err
				}
				if err := a.checkAZMove(ctx, ag, *v); err != nil {
					return nil, err
				}
			}
			if err := a.d.Store.SetAggregateMetadata(ctx, ag.ID, map[string]*string{"availability_zone": v}); err != nil {
				return nil, err
			}
		default:
			return nil, fault.BadRequest("Invalid input for field/attribute aggregate. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	ag, err = a.d.Store.Aggregate(ctx, ag.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"aggregate": a.aggregateView(r, ag, true)}, nil
}

// checkAZMove refuses to change the zone of an aggregate whose hosts have
// instances or are in another zone (Nova's InvalidAggregateAction).
func (a *API) checkAZMove(ctx context.Context, ag *objects.Aggregate, az string) error {
	if az == ag.AvailabilityZone() {
		return nil
	}
	for _, h := range ag.Hosts {
		insts, err := a.d.Store.Instances(ctx, store.InstanceFilter{Host: h, Limit: 1})
		if err != nil {
			return err
		}
		if len(insts) > 0 {
			return fault.BadRequest("Cannot update aggregate %d. Reason: One or more hosts contain instances in this zone.", ag.ID).WithType("InvalidAggregateActionUpdate")
		}
	}
	return nil
}

func (a *API) deleteAggregate(ctx context.Context, r *rest.Request) (any, error) {
	ag, err := a.aggregateByParam(ctx, r)
	if err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusOK}, a.d.Store.DeleteAggregate(ctx, ag.ID)
}

func (a *API) aggregateAction(ctx context.Context, r *rest.Request) (any, error) {
	var body map[string]json.RawMessage
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if len(body) != 1 {
		return nil, fault.BadRequest("There is either no or more than one action in the request body.")
	}
	ag, err := a.aggregateByParam(ctx, r)
	if err != nil {
		return nil, err
	}
	for action, raw := range body {
		switch action {
		case "add_host", "remove_host":
			rule := "os_compute_api:os-aggregates:" + action
			if err := r.Enforce(ctx, rule, nil); err != nil {
				return nil, err
			}
			var args struct {
				Host *string `json:"host"`
			}
			if err := json.Unmarshal(raw, &args); err != nil || args.Host == nil || *args.Host == "" {
				return nil, fault.BadRequest("Invalid input for field/attribute %s. 'host' is a required property", action)
			}
			if action == "add_host" {
				svcs, err := a.d.Store.Services(ctx, *args.Host, "nova-compute")
				if err != nil {
					return nil, err
				}
				if len(svcs) == 0 {
					return nil, fault.NotFound("Compute host %s could not be found.", *args.Host).WithType("ComputeHostNotFound")
				}
				if z := ag.AvailabilityZone(); z != "" {
					azs, err := a.hostAZs(ctx)
					if err != nil {
						return nil, err
					}
					if cur, ok := azs[*args.Host]; ok && cur != z {
						return nil, fault.Conflict("Cannot add host to aggregate %d. Reason: One or more hosts already in availability zone(s) [%s].", ag.ID, cur).WithType("InvalidAggregateActionAdd")
					}
				}
				if err := a.d.Store.AddAggregateHost(ctx, ag.ID, *args.Host); err != nil {
					return nil, err
				}
			} else {
				if err := a.d.Store.RemoveAggregateHost(ctx, ag.ID, *args.Host); err != nil {
					if fault.IsNotFound(err) {
						if svcs, _ := a.d.Store.Services(ctx, *args.Host, "nova-compute"); len(svcs) == 0 {
							return nil, fault.NotFound("Compute host %s could not be found.", *args.Host)
						}
					}
					return nil, err
				}
			}
		case "set_metadata":
			if err := r.Enforce(ctx, "os_compute_api:os-aggregates:set_metadata", nil); err != nil {
				return nil, err
			}
			var args struct {
				Metadata map[string]*string `json:"metadata"`
			}
			if err := json.Unmarshal(raw, &args); err != nil || args.Metadata == nil {
				return nil, fault.BadRequest("Invalid input for field/attribute set_metadata. 'metadata' is a required property")
			}
			for k, v := range args.Metadata {
				if k == "" || len(k) > 255 || v != nil && len(*v) > 255 {
					return nil, fault.BadRequest("Invalid input for field/attribute metadata. Keys and values must be 1 to 255 characters")
				}
				if k == "availability_zone" && v != nil {
					if err := validAZName(*v); err != nil {
						return nil, err
					}
					if err := a.checkAZMove(ctx, ag, *v); err != nil {
						return nil, err
					}
				}
			}
			if err := a.d.Store.SetAggregateMetadata(ctx, ag.ID, args.Metadata); err != nil {
				return nil, err
			}
		default:
			return nil, fault.BadRequest("Invalid request body: unknown aggregate action %s", action)
		}
	}
	ag, err = a.d.Store.Aggregate(ctx, ag.ID)
	if err != nil {
		return nil, err
	}
	if a.d.Bus != nil {
		// Scheduling decisions follow aggregate changes at the next refresh.
	}
	return map[string]any{"aggregate": a.aggregateView(r, ag, true)}, nil
}

func (a *API) aggregateImages(ctx context.Context, r *rest.Request) (any, error) {
	if _, err := a.aggregateByParam(ctx, r); err != nil {
		return nil, err
	}
	var body struct {
		CacheImages []struct {
			ID string `json:"id"`
		} `json:"cache"`
	}
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if len(body.CacheImages) == 0 {
		return nil, fault.BadRequest("Invalid input for field/attribute cache. [] is too short")
	}
	for _, im := range body.CacheImages {
		if _, err := a.d.Images.Get(ctx, im.ID); err != nil {
			return nil, fault.BadRequest("Image %s could not be found.", im.ID)
		}
	}
	return nil, nil
}

// Availability zones.

func (a *API) listZones(detail bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		svcs, err := a.d.Store.Services(ctx, "", "")
		if err != nil {
			return nil, err
		}
		azs, err := a.hostAZs(ctx)
		if err != nil {
			return nil, err
		}
		type zone struct {
			available bool
			hosts     map[string]map[string]any
		}
		zones := map[string]*zone{}
		var order []string
		now := a.d.Now()
		for _, s := range svcs {
			z := a.cfg.Default.InternalServiceAZ
			if s.Binary == "nova-compute" {
				z = a.cfg.Default.DefaultAvailabilityZone
				if v, ok := azs[s.Host]; ok {
					z = v
				}
			} else if !detail {
				continue
			}
			if s.Disabled && s.Binary == "nova-compute" && !detail {
				continue
			}
			zn := zones[z]
			if zn == nil {
				zn = &zone{hosts: map[string]map[string]any{}}
				zones[z] = zn
				order = append(order, z)
			}
			up := s.Up(now, a.cfg.Default.ServiceDownTime)
			zn.available = zn.available || up && !s.Disabled
			if zn.hosts[s.Host] == nil {
				zn.hosts[s.Host] = map[string]any{}
			}
			zn.hosts[s.Host][s.Binary] = map[string]any{"available": up, "active": !s.Disabled, "updated_at": isoMicro(s.UpdatedAt)}
		}
		slices.Sort(order)
		list := []map[string]any{}
		for _, z := range order {
			zn := zones[z]
			e := map[string]any{"zoneName": z, "zoneState": map[string]bool{"available": zn.available}, "hosts": nil}
			if detail {
				e["hosts"] = zn.hosts
			}
			list = append(list, e)
		}
		return map[string]any{"availabilityZoneInfo": list}, nil
	}
}

// Migrations.
