package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func (a *API) serverRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2.1/servers", Handler: a.listServers},
		{Method: "GET", Path: "/v2.1/servers/detail", Handler: a.listServersDetail},
		{Method: "POST", Path: "/v2.1/servers", Handler: a.createServer, Status: http.StatusAccepted},
		{Method: "GET", Path: "/v2.1/servers/{server_id}", Handler: a.showServer},
		{Method: "PUT", Path: "/v2.1/servers/{server_id}", Handler: a.updateServer},
		{Method: "DELETE", Path: "/v2.1/servers/{server_id}", Handler: a.deleteServer, Status: http.StatusNoContent},
		{Method: "GET", Path: "/v2.1/servers/{server_id}/ips", Handler: a.listIPs},
		{Method: "GET", Path: "/v2.1/servers/{server_id}/ips/{network_label}", Handler: a.showIPs},
	}
}

// getInstance loads a server the caller may see: another project's is a 404
// for non-admins, as Nova's project-only database queries make it.
func (a *API) getInstance(ctx context.Context, r *rest.Request, id string, o store.GetOptions) (*objects.Instance, error) {
	inst, err := a.d.Store.Instance(ctx, id, o)
	if err != nil {
		return nil, err
	}
	if project, _ := caller(r); !isAdmin(r) && inst.ProjectID != project {
		return nil, fault.NotFound("Instance %s could not be found.", id).WithType("InstanceNotFound")
	}
	return inst, nil
}

func (a *API) showServer(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{Tags: true, Fault: true})
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:show", inst); err != nil {
		return nil, err
	}
	o := a.showOpts(ctx, r, inst)
	vc, err := a.loadViewCtx(ctx, []*objects.Instance{inst}, o)
	if err != nil {
		return nil, err
	}
	return map[string]any{"server": a.serverView(r, vc, inst, o)}, nil
}

// serverFilters are the list filters a non-admin may use; admins may use any
// instance attribute Nova knows.
var userFilters = map[string]bool{
	"reservation_id": true, "name": true, "status": true, "image": true, "flavor": true, "ip": true,
	"changes-since": true, "all_tenants": true, "ip6": true, "tags": true, "tags-any": true, "not-tags": true,
	"not-tags-any": true, "changes-before": true, "locked": true, "limit": true, "marker": true,
	"sort_key": true, "sort_dir": true, "availability_zone": true, "config_drive": true, "key_name": true,
	"created_at": true, "description": true, "host": false, "hostname": true, "launched_at": true,
	"terminated_at": true, "power_state": true, "task_state": true, "vm_state": true, "progress": true, "user_id": true,
}

// listQuery is a parsed server list request.
type listQuery struct {
	f          store.InstanceFilter
	name       *regexp.Regexp
	ip, ip6    *regexp.Regexp
	status     states.Filter
	page       rest.Page
	empty      bool
	allTenants bool
}

func (a *API) parseListQuery(ctx context.Context, r *rest.Request, detail bool) (*listQuery, error) {
	q := r.HTTP.URL.Query()
	admin := isAdmin(r)
	lq := &listQuery{}
	get := func(k string) string {
		if !admin && !userFilters[k] {
			return ""
		}
		if k == "ip6" && !r.Version.AtLeast(rest.V(2, 5)) && !admin {
			return ""
		}
		return q.Get(k)
	}
	var err error
	var zero bool
	if lq.page, zero, err = a.page(r); err != nil {
		return nil, err
	}
	lq.empty = zero
	if v := q.Get("all_tenants"); q.Has("all_tenants") && !strings.EqualFold(v, "false") && v != "0" {
		rule := "os_compute_api:servers:index:get_all_tenants"
		if detail {
			rule = "os_compute_api:servers:detail:get_all_tenants"
		}
		if err := r.Enforce(ctx, rule, nil); err != nil {
			return nil, err
		}
		lq.allTenants = true
	}
	project, user := caller(r)
	if lq.allTenants {
		lq.f.ProjectID = q.Get("project_id")
		if lq.f.ProjectID == "" {
			lq.f.ProjectID = q.Get("tenant_id")
		}
	} else {
		lq.f.ProjectID = project
		if project == "" {
			lq.f.UserID = user
		}
	}
	if u := get("user_id"); u != "" && (admin || r.Version.AtLeast(rest.V(2, 83))) {
		lq.f.UserID = u
	}
	if statuses := q["status"]; len(statuses) > 0 && statuses[0] != "" {
		lq.status = states.StatusFilter(statuses)
		if len(lq.status) == 0 {
			if r.Version.AtLeast(rest.V(2, 38)) {
				return nil, fault.BadRequest("Invalid status value")
			}
			lq.empty = true
		}
		lq.f.VMStates = lq.status.VMStates()
		if slices.Contains(lq.f.VMStates, states.Deleted) {
			if !admin {
				return nil, fault.Forbidden("Only administrators may list deleted instances")
			}
			yes := true
			lq.f.Deleted = &yes
		}
	}
	if v := get("vm_state"); v != "" {
		lq.f.VMStates = append(lq.f.VMStates, states.VM(v))
	}
	if v := get("task_state"); v != "" {
		lq.f.TaskStates = append(lq.f.TaskStates, states.Task(v))
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"changes-since", &lq.f.ChangesSince}, {"changes-before", &lq.f.ChangesBefore}} {
		if s := q.Get(p.name); s != "" {
			if p.name == "changes-before" && !r.Version.AtLeast(rest.V(2, 66)) {
				continue
			}
			t, err := parseTime(p.name, s)
			if err != nil {
				return nil, err
			}
			*p.dst = t
		}
	}
	if !lq.f.ChangesSince.IsZero() && !lq.f.ChangesBefore.IsZero() && lq.f.ChangesBefore.Before(lq.f.ChangesSince) {
		return nil, fault.BadRequest("The value of changes-since must be less than or equal to changes-before.")
	}
	if v := get("deleted"); v != "" && admin {
		b, _ := queryBool("deleted", v)
		lq.f.Deleted = &b
	}
	if v := get("image"); v != "" {
		lq.f.ImageRef = lastSegment(v)
	}
	if v := get("flavor"); v != "" {
		lq.f.FlavorID = lastSegment(v)
	}
	lq.f.ReservationID = get("reservation_id")
	lq.f.KeyName = get("key_name")
	lq.f.AZ = get("availability_zone")
	if admin {
		lq.f.Host, lq.f.Node = q.Get("host"), q.Get("node")
		if v := q.Get("uuid"); v != "" {
			lq.f.UUIDs = []string{v}
		}
	}
	if v := get("locked"); v != "" && r.Version.AtLeast(rest.V(2, 73)) {
		b, err := queryBool("locked", v)
		if err != nil {
			return nil, fault.BadRequest("Unrecognized value '%s', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", v)
		}
		lq.f.Locked = &b
	}
	if r.Version.AtLeast(rest.V(2, 26)) {
		split := func(k string) []string {
			if v := q.Get(k); v != "" {
				return strings.Split(v, ",")
			}
			return nil
		}
		lq.f.Tags, lq.f.TagsAny, lq.f.NotTags, lq.f.NotTagsAny = split("tags"), split("tags-any"), split("not-tags"), split("not-tags-any")
	}
	for _, p := range []struct {
		name string
		dst  **regexp.Regexp
	}{{"name", &lq.name}, {"ip", &lq.ip}, {"ip6", &lq.ip6}} {
		if v := get(p.name); v != "" {
			re, err := regexp.Compile(v)
			if err != nil {
				return nil, fault.BadRequest("Invalid input for query parameters %s. Value: %s. '%s' is not a 'regex'", p.name, v, v)
			}
			*p.dst = re
		}
	}
	for _, k := range q["sort_key"] {
		if _, ok := store.SortableColumns[k]; !ok {
			return nil, fault.BadRequest("Invalid input for query parameters sort_key. Value: %s. '%s' is not one of the valid sort keys", k, k)
		}
		if (k == "host" || k == "node") && !admin {
			continue
		}
		lq.f.SortKeys = append(lq.f.SortKeys, k)
	}
	for _, d := range q["sort_dir"] {
		if d != "asc" && d != "desc" {
			return nil, fault.BadRequest("Invalid input for query parameters sort_dir. Value: %s. '%s' is not one of ['asc', 'desc']", d, d)
		}
		lq.f.SortDirs = append(lq.f.SortDirs, d)
	}
	return lq, nil
}

func lastSegment(s string) string {
	s = strings.TrimSuffix(s, "/")
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// matchIP reports whether one of the server's fixed (v4 or v6) addresses
// matches the expression.
func matchIP(inst *objects.Instance, re *regexp.Regexp, version int) bool {
	for _, v := range inst.NetworkInfo {
		for _, ip := range v.IPs {
			if ip.Version == version && re.MatchString(ip.Address) {
				return true
			}
		}
	}
	return false
}

// listInstances runs a list query: SQL, then Nova's Go-side filters, then
// the page.
func (a *API) listInstances(ctx context.Context, r *rest.Request, detail bool) ([]*objects.Instance, *listQuery, bool, error) {
	lq, err := a.parseListQuery(ctx, r, detail)
	if err != nil {
		return nil, nil, false, err
	}
	if lq.empty {
		return nil, lq, false, nil
	}
	if lq.status == nil && lq.name == nil && lq.ip == nil && lq.ip6 == nil {
		// Nothing to filter in Go: the database pages (LIMIT and a keyset
		// after the marker), so a page costs the same however many
		// servers the cloud has.
		f := lq.f
		f.Marker = lq.page.Marker
		if lq.page.Limit > 0 {
			f.Limit = lq.page.Limit + 1
		}
		page, err := a.d.Store.Instances(ctx, f)
		if err == nil {
			more := lq.page.Limit > 0 && len(page) > lq.page.Limit
			if more {
				page = page[:lq.page.Limit]
			}
			return page, lq, more || len(page) == lq.page.Limit && len(page) > 0, nil
		}
		if !errors.Is(err, store.ErrMarkerNull) {
			return nil, nil, false, err
		}
	}
	all, err := a.d.Store.Instances(ctx, lq.f)
	if err != nil {
		return nil, nil, false, err
	}
	out := all[:0]
	for _, inst := range all {
		if lq.status != nil && !inst.Deleted && !lq.status.Match(inst.VMState, inst.TaskState) {
			continue
		}
		if lq.name != nil && !lq.name.MatchString(inst.DisplayName) {
			continue
		}
		if lq.ip != nil && !matchIP(inst, lq.ip, 4) {
			continue
		}
		if lq.ip6 != nil && !matchIP(inst, lq.ip6, 6) {
			continue
		}
		out = append(out, inst)
	}
	page, more, err := rest.PageOf(out, lq.page, func(i *objects.Instance) string { return i.UUID })
	if err != nil {
		return nil, nil, false, err
	}
	return page, lq, more || len(page) == lq.page.Limit && len(page) > 0, nil
}

func (a *API) listServers(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "os_compute_api:servers:index", nil); err != nil {
		return nil, err
	}
	insts, _, more, err := a.listInstances(ctx, r, false)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, 0, len(insts))
	for _, i := range insts {
		list = append(list, map[string]any{"id": i.UUID, "name": i.DisplayName, "links": a.links(r, "servers", i.UUID)})
	}
	out := map[string]any{"servers": list}
	if more {
		out["servers_links"] = a.nextLink(r, insts[len(insts)-1].UUID)
	}
	return out, nil
}

func (a *API) listServersDetail(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "os_compute_api:servers:detail", nil); err != nil {
		return nil, err
	}
	insts, _, more, err := a.listInstances(ctx, r, true)
	if err != nil {
		return nil, err
	}
	if err := a.d.Store.LoadExtras(ctx, insts, r.Version.AtLeast(rest.V(2, 26)), true); err != nil {
		return nil, err
	}
	o := viewOpts{full: true, userData: true,
		extendedAttr: a.can(ctx, r, "os_compute_api:os-extended-server-attributes", nil),
		hostStatus:   r.Version.AtLeast(rest.V(2, 16)) && a.can(ctx, r, "os_compute_api:servers:show:host_status", nil),
		extraSpecs:   r.Version.AtLeast(rest.V(2, 47)) && a.can(ctx, r, "os_compute_api:servers:show:flavor-extra-specs", nil),
	}
	vc, err := a.loadViewCtx(ctx, insts, o)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, 0, len(insts))
	for _, i := range insts {
		list = append(list, a.serverView(r, vc, i, o))
	}
	out := map[string]any{"servers": list}
	if more {
		out["servers_links"] = a.nextLink(r, insts[len(insts)-1].UUID)
	}
	return out, nil
}

// generatePassword returns a random password of n letters and digits, as
// Nova's utils.generate_password.
func generatePassword(n int) string {
	const chars = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		b[i] = chars[k.Int64()]
	}
	return string(b)
}

var hostnameBad = regexp.MustCompile(`[^a-z0-9-]+`)

// sanitizeHostname turns a display name into a host name (Nova's
// sanitize_hostname).
func sanitizeHostname(name string) string {
	h := strings.ToLower(name)
	h = strings.NewReplacer(" ", "-", "_", "-").Replace(h)
	h = hostnameBad.ReplaceAllString(h, "")
	h = strings.Trim(h, ".-")
	if len(h) > 63 {
		h = strings.Trim(h[:63], ".-")
	}
	if h == "" {
		h = "server"
	}
	return h
}

func reservationID() string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 8)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		b[i] = chars[k.Int64()]
	}
	return "r-" + string(b)
}

// create writes the instances with their quota in one transaction and hands
// them to the conductor.
func (a *API) create(ctx context.Context, r *rest.Request, cr *createReq, project, user string, body map[string]any) (any, error) {
	count := cr.maxCount
	per := store.InstanceUsage(cr.flavor, 1)
	// Server group members are counted against server_group_members.
	if cr.group != nil {
		limit, err := a.quota.userLimit(ctx, project, user, "server_group_members")
		if err != nil {
			return nil, err
		}
		if limit >= 0 {
			n, err := a.d.Store.CountGroupMembers(ctx, cr.group.ID)
			if err != nil {
				return nil, err
			}
			if n+cr.minCount > limit {
				return nil, fault.Forbidden("Quota exceeded, too many servers in group").WithType("QuotaError")
			}
			count = min(count, limit-n)
		}
	}
	resv := reservationID()
	requestID := logging.RequestID(ctx)
	for {
		res, err := a.quota.reservation(ctx, project, user, store.InstanceUsage(cr.flavor, count))
		if err != nil {
			return nil, err
		}
		insts := a.newInstances(cr, count, project, user, resv)
		err = a.d.Store.CreateInstances(ctx, insts, res, store.ActionStart{Action: "create", RequestID: requestID, UserID: user, ProjectID: project})
		if over, isOver := store.AsOverQuota(err); isOver {
			// Fewer instances may fit, down to min_count (Nova reduces the count).
			fit := count - 1
			for _, res := range over.Resources {
				if p := per[res]; p > 0 {
					fit = min(fit, (over.Limits[res]-over.Used[res])/p)
				}
			}
			if fit < cr.minCount || fit >= count {
				return nil, over.Fault()
			}
			count = fit
			continue
		}
		if err != nil {
			return nil, err
		}
		a.castBuild(ctx, insts, requestID, cr.password)
		if cr.returnResv {
			return map[string]any{"reservation_id": resv}, nil
		}
		first := insts[0].Instance
		sg := []map[string]string{}
		if raw, ok := body["server"].(map[string]any)["security_groups"].([]any); ok {
			for _, x := range raw {
				m, _ := x.(map[string]any)
				if n, _ := str(m["name"]); n != "" {
					sg = append(sg, map[string]string{"name": n})
				}
			}
		} else {
			sg = append(sg, map[string]string{"name": "default"})
		}
		srv := map[string]any{"id": first.UUID, "links": a.links(r, "servers", first.UUID), "OS-DCF:diskConfig": "MANUAL", "security_groups": sg}
		if cr.autoDisk {
			srv["OS-DCF:diskConfig"] = "AUTO"
		}
		if a.cfg.API.EnableInstancePassword {
			srv["adminPass"] = cr.password
		}
		h := http.Header{}
		h.Set("Location", a.base(r)+"/v2.1/servers/"+first.UUID)
		return &rest.Response{Status: http.StatusAccepted, Header: h, Body: map[string]any{"server": srv}}, nil
	}
}

// newInstances builds the records of count instances of a request.
func (a *API) newInstances(cr *createReq, count int, project, user, resv string) []store.NewInstance {
	var out []store.NewInstance
	flavor := *cr.flavor
	rs := &objects.RequestSpec{NumInstances: count, AvailabilityZone: cr.az, NetworkMode: cr.netMode, Networks: cr.networks,
		SecurityGroups: cr.sgIDs, BlockDevices: cr.bdms, Hints: cr.hints, SameHost: cr.sameHost, DifferentHost: cr.differentHost,
		Destination: cr.dest, BootFromVolume: cr.bootFromVolume}
	if cr.rootImage != nil {
		rs.Image = *cr.rootImage
	}
	if cr.image != nil {
		rs.Image = *cr.image
	}
	if cr.forceHost != "" {
		rs.ForceHosts = []string{cr.forceHost}
	}
	if cr.forceNode != "" {
		rs.ForceNodes = []string{cr.forceNode}
	}
	if cr.group != nil {
		rs.GroupID = cr.group.UUID
	}
	sg := cr.sgNames
	if len(sg) == 0 && cr.netMode != "none" {
		sg = []string{"default"}
	}
	az := cr.az
	if az == "" {
		az = a.cfg.Default.DefaultScheduleZone
	}
	for i := 0; i < count; i++ {
		name := cr.name
		hostname := cr.hostname
		if count > 1 {
			name = fmt.Sprintf("%s-%d", cr.name, i+1)
			if hostname != "" {
				hostname = fmt.Sprintf("%s-%d", hostname, i+1)
			}
		}
		if hostname == "" {
			hostname = sanitizeHostname(name)
		}
		var desc *string
		if cr.description != "" {
			d := cr.description
			desc = &d
		}
		inst := &objects.Instance{
			UUID: uuid.NewString(), ProjectID: project, UserID: user, DisplayName: name, Description: desc, Hostname: hostname,
			Flavor: flavor, VMState: states.Building, TaskState: states.Scheduling, PowerState: states.PowerNoState,
			AvailabilityZone: az, KeyName: cr.keyName, KeyData: cr.keyData, UserData: cr.userData, ConfigDrive: cr.configDrive,
			Metadata: cr.metadata, SystemMetadata: map[string]string{}, NetworkInfo: []objects.VIF{}, SecurityGroups: sg,
			RequestSpec: rs, AccessIPv4: cr.accessV4, AccessIPv6: cr.accessV6, AutoDiskConfig: cr.autoDisk,
			ReservationID: resv, LaunchIndex: i,
		}
		if cr.image != nil {
			inst.ImageRef = cr.image.ID
			for k, v := range cr.image.Properties {
				if len(k) <= 240 {
					inst.SystemMetadata["image_"+k] = v
				}
			}
			inst.SystemMetadata["image_base_image_ref"] = cr.image.ID
			inst.SystemMetadata["image_disk_format"] = cr.image.DiskFormat
			inst.SystemMetadata["image_container_format"] = cr.image.ContainerFormat
			inst.SystemMetadata["image_min_disk"] = strconv.Itoa(cr.image.MinDisk)
			inst.SystemMetadata["image_min_ram"] = strconv.Itoa(cr.image.MinRAM)
		}
		ni := store.NewInstance{Instance: inst, Tags: cr.tags, BDMs: cr.bdms}
		if cr.group != nil {
			ni.GroupID = cr.group.ID
		}
		out = append(out, ni)
	}
	return out
}

// castBuild hands new instances to the conductor; if no conductor answers,
// they go to ERROR at once rather than wait in BUILD for ever.
func (a *API) castBuild(ctx context.Context, insts []store.NewInstance, requestID, password string) {
	req := rpc.BuildRequest{RequestID: requestID, AdminPasswords: map[string]string{}}
	for _, n := range insts {
		req.InstanceUUIDs = append(req.InstanceUUIDs, n.Instance.UUID)
		req.AdminPasswords[n.Instance.UUID] = password
	}
	if a.d.Bus == nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := a.d.Bus.Call(cctx, rpc.ConductorSubject, rpc.BuildInstances, req, nil); err != nil {
		a.log.ErrorContext(ctx, "the conductor did not take the build", "err", err)
		vm, none := states.Error, states.NoTask
		for _, n := range insts {
			a.d.Store.Save(context.WithoutCancel(ctx), store.Save{UUID: n.Instance.UUID, Update: store.Update{VMState: &vm, TaskState: &none},
				Expect: store.Expect{VM: []states.VM{states.Building}, Task: []states.Task{states.Scheduling}},
				Fault:  &objects.Fault{Code: 500, Message: "No conductor is available to schedule the instance: " + err.Error()}})
		}
	}
}

func (a *API) updateServer(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{Tags: true})
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:update", inst); err != nil {
		return nil, err
	}
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	body, err := decodeMap(raw)
	if err != nil {
		return nil, err
	}
	sd, ok := body["server"].(map[string]any)
	if !ok || len(body) != 1 {
		return nil, badRequest("Invalid input for field/attribute server. 'server' is a required property")
	}
	var u store.Update
	for k, v := range sd {
		switch {
		case k == "name":
			s, _ := str(v)
			if err := validName("name", s, false); err != nil {
				return nil, err
			}
			u.DisplayName = &s
		case k == "description" && r.Version.AtLeast(rest.V(2, 19)):
			if v == nil {
				u.ClearDescription = true
				continue
			}
			s, ok := str(v)
			if !ok {
				return nil, badRequest("Invalid input for field/attribute description. %v is not of type 'string', 'null'", v)
			}
			if err := validDescription("description", s, 255); err != nil {
				return nil, err
			}
			u.Description = &s
		case k == "hostname" && r.Version.AtLeast(rest.V(2, 90)):
			s, _ := str(v)
			if !hostnameRE.MatchString(s) || len(s) > 63 {
				return nil, badRequest("Invalid input for field/attribute hostname. Value: %v.", v)
			}
			u.Hostname = &s
		case k == "accessIPv4":
			s, _ := str(v)
			ip := net.ParseIP(s)
			if s != "" && (ip == nil || ip.To4() == nil || strings.Contains(s, ":")) {
				return nil, badRequest("Invalid input for field/attribute accessIPv4. Value: %v. %v is not a 'ipv4'", v, v)
			}
			if ip != nil {
				s = ip.String()
			}
			u.AccessIPv4 = &s
		case k == "accessIPv6":
			s, _ := str(v)
			ip := net.ParseIP(s)
			if s != "" && (ip == nil || !strings.Contains(s, ":")) {
				return nil, badRequest("Invalid input for field/attribute accessIPv6. Value: %v. %v is not a 'ipv6'", v, v)
			}
			if ip != nil {
				s = ip.String()
			}
			u.AccessIPv6 = &s
		case k == "OS-DCF:diskConfig":
			s, _ := str(v)
			if s != "AUTO" && s != "MANUAL" {
				return nil, badRequest("Invalid input for field/attribute OS-DCF:diskConfig. Value: %v. %v is not one of ['AUTO', 'MANUAL']", v, v)
			}
			b := s == "AUTO"
			u.AutoDiskConfig = &b
		default:
			return nil, badRequest("Invalid input for field/attribute server. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	saved, err := a.d.Store.Save(ctx, store.Save{UUID: inst.UUID, Update: u})
	if err != nil {
		return nil, storeErr(err)
	}
	saved.Tags = inst.Tags
	o := a.updateOpts(ctx, r, saved)
	vc, err := a.loadViewCtx(ctx, []*objects.Instance{saved}, o)
	if err != nil {
		return nil, err
	}
	return map[string]any{"server": a.serverView(r, vc, saved, o)}, nil
}

func (a *API) deleteServer(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{})
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:delete", inst); err != nil {
		return nil, err
	}
	return nil, a.deleteInstance(ctx, r, inst, states.ActDelete)
}

// deleteInstance deletes a server: on its host by the agent, or here when it
// has no host (never scheduled, offloaded) or its host is down (Nova's
// "local delete").
func (a *API) deleteInstance(ctx context.Context, r *rest.Request, inst *objects.Instance, act states.Action) error {
	if err := states.Check(act, inst.Subject(), isAdmin(r)); err != nil {
		return err
	}
	project, user := caller(r)
	requestID := logging.RequestID(ctx)
	if _, err := a.d.Store.StartAction(ctx, store.ActionStart{Action: "delete", InstanceUUID: inst.UUID, RequestID: requestID, UserID: user, ProjectID: project}); err != nil {
		return err
	}
	if inst.Host == "" || !a.hostUp(ctx, inst.Host) {
		return a.localDelete(ctx, inst, requestID)
	}
	deleting := states.Deleting
	if _, err := a.d.Store.Save(ctx, store.Save{UUID: inst.UUID, Update: store.Update{TaskState: &deleting}}); err != nil {
		if u, ok := store.IsUnexpected(err); ok && u.Gone {
			return nil
		}
		return storeErr(err)
	}
	if err := a.callHost(ctx, inst.Host, rpc.TerminateInstance, rpc.InstanceArgs{InstanceUUID: inst.UUID, RequestID: requestID}); err != nil {
		a.log.WarnContext(ctx, "compute agent unreachable; deleting locally", "instance_id", inst.UUID, "host", inst.Host, "err", err)
		return a.localDelete(ctx, inst, requestID)
	}
	return nil
}

// localDelete deletes an instance no agent will: its ports are cleaned up
// through Neutron and its record, quota and claims go in one transaction.
func (a *API) localDelete(ctx context.Context, inst *objects.Instance, requestID string) error {
	if a.d.Network != nil {
		sctx := clients.AsService(ctx)
		preserve := map[string]bool{}
		for _, v := range inst.NetworkInfo {
			preserve[v.ID] = v.Preserve
		}
		if ports, err := a.d.Network.Ports(sctx, inst.UUID); err == nil {
			for _, p := range ports {
				if preserve[p.ID] {
					a.d.Network.UnbindPort(sctx, p.ID)
				} else {
					a.d.Network.DeletePort(sctx, p.ID)
				}
			}
		}
	}
	_, err := a.d.Store.DeleteInstance(ctx, inst.UUID, nil, requestID)
	if err == nil {
		a.log.InfoContext(ctx, "instance deleted locally", "instance_id", inst.UUID, "vm_state", "deleted")
	}
	return err
}

// hostUp reports whether a compute host's service is up.
func (a *API) hostUp(ctx context.Context, host string) bool {
	svcs, err := a.d.Store.Services(ctx, host, "nova-compute")
	if err != nil || len(svcs) == 0 {
		return false
	}
	return svcs[0].Up(a.d.Now(), a.cfg.Default.ServiceDownTime)
}

// callHost hands work to a compute agent and waits for it to be accepted.
func (a *API) callHost(ctx context.Context, host, method string, args any) error {
	if a.d.Bus == nil {
		return fault.Unavailable("no message bus")
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return a.d.Bus.Call(cctx, rpc.ComputeSubject(host), method, args, nil)
}

func (a *API) listIPs(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{})
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:ips:index", inst); err != nil {
		return nil, err
	}
	return map[string]any{"addresses": addresses(inst, false)}, nil
}

func (a *API) showIPs(ctx context.Context, r *rest.Request) (any, error) {
	inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{})
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:ips:show", inst); err != nil {
		return nil, err
	}
	label := r.Param("network_label")
	addrs := addresses(inst, false)
	list, ok := addrs[label]
	if !ok {
		return nil, fault.NotFound("Instance is not a member of specified network")
	}
	return map[string]any{label: list}, nil
}
