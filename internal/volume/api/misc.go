package api

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// QuotaDefaults are the default quotas of every project; -1 is unlimited.
// Groups are counted when they exist; tenku has none yet, so their usage
// is 0.
type QuotaDefaults struct {
	Volumes, Gigabytes, Snapshots, Backups, BackupGigabytes, Groups, PerVolumeGigabytes int64
}

// quotaResources are the resources of a quota set, in Cinder's names.
var quotaResources = []string{"volumes", "gigabytes", "snapshots", "backups", "backup_gigabytes", "groups", "per_volume_gigabytes"}

func (q QuotaDefaults) value(res string) int64 {
	switch res {
	case "volumes":
		return q.Volumes
	case "gigabytes":
		return q.Gigabytes
	case "snapshots":
		return q.Snapshots
	case "backups":
		return q.Backups
	case "backup_gigabytes":
		return q.BackupGigabytes
	case "groups":
		return q.Groups
	case "per_volume_gigabytes":
		return q.PerVolumeGigabytes
	}
	return -1
}

func quotaFault(err error) error {
	var qe *store.QuotaError
	if !errors.As(err, &qe) {
		return nil
	}
	if strings.HasPrefix(qe.Resource, "snapshots") {
		return fault.New(413, "SnapshotLimitExceeded: Maximum number of snapshots allowed (%d) exceeded.", qe.Limit).WithType("SnapshotLimitExceeded")
	}
	if strings.HasPrefix(qe.Resource, "volumes") {
		return fault.New(413, "VolumeLimitExceeded: Maximum number of volumes allowed (%d) exceeded for quota '%s'.", qe.Limit, qe.Resource).WithType("VolumeLimitExceeded")
	}
	return fault.New(413, "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed %s quota. Requested %dG, quota is %dG and %dG has been consumed.", qe.Resource, qe.Asked, qe.Limit, qe.InUse).WithType("VolumeSizeExceedsAvailableQuota")
}

func overPerVolume(size int, limit int64) error {
	return fault.New(413, "VolumeSizeExceedsLimit: Requested volume size %dG is larger than maximum allowed limit %dG.", size, limit).WithType("VolumeSizeExceedsLimit")
}

func (a *API) miscRoutes() []rest.Route {
	p := "/v3/{project_id}"
	return []rest.Route{
		{Method: "GET", Path: p + "/limits", Policy: "limits_extension:used_limits", Handler: a.showLimits},
		{Method: "GET", Path: p + "/os-availability-zone", Policy: "volume_extension:availability_zone_list", Handler: a.listZones},
		{Method: "GET", Path: p + "/os-services", Policy: "volume_extension:services:index", Handler: a.listServices},
		{Method: "PUT", Path: p + "/os-services/{action}", Policy: "volume_extension:services:update", Handler: a.updateService},
		{Method: "GET", Path: p + "/clusters", Min: rest.V(3, 7), Policy: "clusters:get_all", Handler: a.listClusters},
		{Method: "GET", Path: p + "/clusters/detail", Min: rest.V(3, 7), Policy: "clusters:get_all", Handler: a.listClusters},
		{Method: "GET", Path: p + "/clusters/{cluster}", Min: rest.V(3, 7), Policy: "clusters:get", Handler: a.showCluster},
		{Method: "PUT", Path: p + "/clusters/{cluster}", Min: rest.V(3, 7), Policy: "clusters:update", Handler: a.updateCluster}, // {cluster} is enable or disable
		{Method: "GET", Path: p + "/scheduler-stats/get_pools", Policy: "scheduler_extension:scheduler_stats:get_pools", Handler: a.getPools},
	}
}

func (a *API) showLimits(ctx context.Context, r *rest.Request) (any, error) {
	project := r.Auth.ProjectID
	q, err := a.quotaSet(ctx, project)
	if err != nil {
		return nil, err
	}
	u, err := a.db.ProjectUsage(ctx, project)
	if err != nil {
		return nil, err
	}
	nb, bgb, err := a.db.ProjectBackupUsage(ctx, project)
	if err != nil {
		return nil, err
	}
	return map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": map[string]int64{
		"maxTotalVolumes": q["volumes"], "maxTotalVolumeGigabytes": q["gigabytes"], "maxTotalSnapshots": q["snapshots"],
		"maxTotalBackups": q["backups"], "maxTotalBackupGigabytes": q["backup_gigabytes"],
		"totalVolumesUsed": u.Volumes, "totalGigabytesUsed": u.Gigabytes, "totalSnapshotsUsed": u.Snapshots, "totalBackupsUsed": nb, "totalBackupGigabytesUsed": bgb,
	}}}, nil
}

func (a *API) quotaTarget(ctx context.Context, r *rest.Request, rule string) (string, error) {
	target := r.Param("target")
	if err := r.Enforce(ctx, rule, map[string]any{"project_id": target}); err != nil {
		return "", err
	}
	return target, nil
}

func (a *API) deleteQuotas(ctx context.Context, r *rest.Request) (any, error) {
	return nil, a.db.DeleteQuotas(ctx, r.Param("target"))
}

func (a *API) listZones(ctx context.Context, r *rest.Request) (any, error) {
	svcs, err := a.db.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	state := map[string]bool{}
	var order []string
	for _, s := range svcs {
		if s.Binary != rpc.Binary {
			continue
		}
		if _, ok := state[s.AvailabilityZone]; !ok {
			order = append(order, s.AvailabilityZone)
		}
		state[s.AvailabilityZone] = state[s.AvailabilityZone] || (!s.Disabled && a.up(s))
	}
	out := []map[string]any{}
	for _, z := range order {
		out = append(out, map[string]any{"zoneName": z, "zoneState": map[string]bool{"available": state[z]}})
	}
	return map[string]any{"availabilityZoneInfo": out}, nil
}

func (a *API) up(s store.ServiceRow) bool { return time.Since(s.UpdatedAt) <= a.opt.ServiceDownTime }

func (a *API) listServices(ctx context.Context, r *rest.Request) (any, error) {
	svcs, err := a.db.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	q := r.HTTP.URL.Query()
	out := []map[string]any{}
	for _, s := range svcs {
		if h := q.Get("host"); h != "" && !hostMatches(h, s.Host) {
			continue
		}
		if b := q.Get("binary"); b != "" && b != s.Binary {
			continue
		}
		status, state := "enabled", "up"
		if s.Disabled {
			status = "disabled"
		}
		if !a.up(s) {
			state = "down"
		}
		svc := map[string]any{
			"binary": s.Binary, "host": s.Host, "zone": s.AvailabilityZone, "status": status, "state": state,
			"updated_at": fmtTime(s.UpdatedAt), "disabled_reason": nilIfEmpty(s.DisabledReason),
		}
		if r.Version.AtLeast(rest.V(3, 7)) {
			svc["cluster"] = nil // tenku's services are not clustered
		}
		if s.Binary == rpc.Binary {
			// tenku has no replication: not-capable, on the first backend.
			svc["frozen"], svc["replication_status"], svc["active_backend_id"] = s.Frozen, "not-capable", nil
		}
		out = append(out, svc)
	}
	return map[string]any{"services": out}, nil
}

func (a *API) updateService(ctx context.Context, r *rest.Request) (any, error) {
	action := r.Param("action")
	var disabled bool
	switch action {
	case "enable":
	case "disable", "disable-log-reason":
		disabled = true
	case "freeze", "thaw":
		return a.freeze(ctx, r, action == "freeze")
	default:
		return nil, fault.NotFound("Unknown action %s.", action)
	}
	var b struct {
		Host           string `json:"host"`
		Binary         string `json:"binary"`
		Service        string `json:"service"`
		DisabledReason string `json:"disabled_reason"`
	}
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	if b.Host == "" || b.Binary == "" {
		return nil, fault.BadRequest("Missing required element 'host' and 'binary' in request body.")
	}
	reason := ""
	if disabled {
		reason = b.DisabledReason
	}
	if action == "disable-log-reason" && (strings.TrimSpace(reason) == "" || len(strings.TrimSpace(reason)) > 255) {
		return nil, fault.BadRequest("Invalid input received: Disabled reason contains invalid characters or is too long")
	}
	if err := a.db.SetServiceDisabled(ctx, b.Host, b.Binary, disabled, reason); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fault.NotFound("Service %s could not be found.", b.Host).WithType("ServiceNotFound")
		}
		return nil, err
	}
	status := "enabled"
	if disabled {
		status = "disabled"
	}
	// service echoes the deprecated key of the request, as Cinder does.
	return map[string]any{"host": b.Host, "binary": b.Binary, "service": b.Service, "status": status, "disabled": disabled, "disabled_reason": nilIfEmpty(reason)}, nil
}

func (a *API) getPools(ctx context.Context, r *rest.Request) (any, error) {
	svcs, err := a.db.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	detail, _ := truthy(r.HTTP.URL.Query().Get("detail"))
	out := []map[string]any{}
	for _, s := range svcs {
		if s.Binary != rpc.Binary || !a.up(s) {
			continue
		}
		var caps map[string]any
		if err := json.Unmarshal(s.Capabilities, &caps); err != nil {
			continue
		}
		name, _ := caps["volume_backend_name"].(string)
		if name == "" {
			name = "pool"
		}
		pool := map[string]any{"name": s.Host + "#" + name}
		if detail {
			alloc, err := a.db.HostAllocated(ctx, s.Host)
			if err != nil {
				return nil, err
			}
			caps["allocated_capacity_gb"] = alloc
			caps["pool_name"] = name
			caps["timestamp"] = fmtTime(s.UpdatedAt)
			pool["capabilities"] = caps
		}
		out = append(out, pool)
	}
	return map[string]any{"pools": out}, nil
}

// heartbeat records this process's scheduler in os-services.
func (a *API) heartbeat(ctx context.Context) {
	if a.opt.Host == "" {
		return
	}
	if err := a.db.ReportService(ctx, store.ServiceRow{Host: a.opt.Host, Binary: "cinder-scheduler", AvailabilityZone: a.opt.StorageAZ}); err != nil && ctx.Err() == nil {
		a.log.WarnContext(ctx, "scheduler heartbeat failed", "err", err)
	}
}

// Clusters (3.7): Cinder groups volume services configured with the same
// [DEFAULT] cluster into a cluster for active-active backends. tenku has
// no cluster option, so no service belongs to a cluster and there are
// none to list, show or update, as in a Cinder deployment without one.
func (a *API) listClusters(ctx context.Context, r *rest.Request) (any, error) {
	return map[string]any{"clusters": []any{}}, nil
}

func clusterNotFound(name string) error {
	return fault.NotFound("Cluster %s could not be found.", name).WithType("ClusterNotFound")
}

func (a *API) showCluster(ctx context.Context, r *rest.Request) (any, error) {
	return nil, clusterNotFound(r.Param("cluster"))
}

func (a *API) updateCluster(ctx context.Context, r *rest.Request) (any, error) {
	action := r.Param("cluster")
	if action != "enable" && action != "disable" {
		return nil, fault.NotFound("Unknown action %s.", action)
	}
	var b struct {
		Name *string `json:"name"`
	}
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	if b.Name == nil || *b.Name == "" {
		return nil, fault.BadRequest("Invalid input for field/attribute name. 'name' is a required property")
	}
	return nil, clusterNotFound(*b.Name)
}

// freeze is os-services/freeze and thaw: the volume services of a host
// ("host" or "host@backend") stop (or resume) taking new volumes, deletes
// and snapshots.
func (a *API) freeze(ctx context.Context, r *rest.Request, frozen bool) (any, error) {
	rule := "volume:freeze_host"
	if !frozen {
		rule = "volume:thaw_host"
	}
	if err := r.Enforce(ctx, rule, map[string]any{"project_id": r.Auth.ProjectID}); err != nil {
		return nil, err
	}
	var b struct {
		Host *string `json:"host"`
	}
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	if b.Host == nil || *b.Host == "" {
		return nil, fault.BadRequest("Missing required element 'host' in request body.")
	}
	svcs, err := a.db.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, s := range svcs {
		if s.Binary == rpc.Binary && hostMatches(*b.Host, s.Host) {
			hosts = append(hosts, s.Host)
		}
	}
	if len(hosts) == 0 {
		return nil, fault.BadRequest("Invalid input received: No service found with host=%s.", *b.Host).WithType("InvalidInput")
	}
	for _, h := range hosts {
		switch err := a.db.SetServiceFrozen(ctx, h, rpc.Binary, frozen); {
		case errors.Is(err, store.ErrState) && frozen:
			return nil, fault.BadRequest("Invalid input received: Host is already Frozen.").WithType("InvalidInput")
		case errors.Is(err, store.ErrState):
			return nil, fault.BadRequest("Invalid input received: Host is NOT Frozen.").WithType("InvalidInput")
		case err != nil:
			return nil, err
		}
	}
	a.log.InfoContext(ctx, "volume services frozen", "hosts", hosts, "frozen", frozen)
	return nil, nil
}

// assertNotFrozen refuses a change to a volume whose backend is frozen.
func (a *API) assertNotFrozen(ctx context.Context, v *store.Volume) error {
	if v.Host == "" {
		return nil
	}
	host, _, _ := strings.Cut(v.Host, "#")
	svcs, err := a.db.ListServices(ctx)
	if err != nil {
		return err
	}
	for _, s := range svcs {
		if s.Binary == rpc.Binary && s.Host == host && s.Frozen {
			return fault.BadRequest("Invalid input received: Volume %s is on a frozen backend (%s).", v.ID, host).WithType("InvalidInput")
		}
	}
	return nil
}
