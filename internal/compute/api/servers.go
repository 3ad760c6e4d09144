package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
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

// serverKeys lists the attributes a create request may carry, by the
// microversion that introduced them.
var serverKeys = map[string]rest.Version{
	"name": {}, "imageRef": {}, "flavorRef": {}, "networks": {}, "key_name": {}, "user_data": {}, "metadata": {},
	"security_groups": {}, "availability_zone": {}, "min_count": {}, "max_count": {}, "return_reservation_id": {},
	"block_device_mapping": {}, "block_device_mapping_v2": {}, "config_drive": {}, "OS-DCF:diskConfig": {},
	"accessIPv4": {}, "accessIPv6": {}, "adminPass": {}, "personality": {},
	"description": rest.V(2, 19), "tags": rest.V(2, 52), "trusted_image_certificates": rest.V(2, 63),
	"host": rest.V(2, 74), "hypervisor_hostname": rest.V(2, 74), "hostname": rest.V(2, 90),
}

// createReq is a validated create request.
type createReq struct {
	name, description, hostname, keyName, keyData, userData, configDrive string
	az, forceHost, forceNode                                             string
	flavor                                                               *objects.Flavor
	image                                                                *objects.ImageMeta
	networks                                                             []objects.RequestedNetwork
	netMode                                                              string
	sgNames, sgIDs                                                       []string
	metadata                                                             map[string]string
	minCount, maxCount                                                   int
	password                                                             string
	accessV4, accessV6                                                   string
	autoDisk                                                             bool
	tags                                                                 []string
	bdms                                                                 []objects.BDM
	group                                                                *objects.ServerGroup
	sameHost, differentHost                                              []string
	hints                                                                map[string]any
	dest                                                                 *objects.HostNode
	returnResv                                                           bool
	bootFromVolume                                                       bool
}

func str(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok
}

func badRequest(format string, args ...any) error { return fault.BadRequest(format, args...) }

func (a *API) createServer(ctx context.Context, r *rest.Request) (any, error) {
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	body, err := decodeMap(raw)
	if err != nil {
		return nil, err
	}
	sd, ok := body["server"].(map[string]any)
	if !ok {
		return nil, badRequest("Invalid input for field/attribute server. 'server' is a required property")
	}
	for k := range body {
		if k != "server" && k != "os:scheduler_hints" && k != "OS-SCH-HNT:scheduler_hints" {
			return nil, badRequest("Invalid input for field/attribute server. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	for k := range sd {
		minV, known := serverKeys[k]
		if !known || !r.Version.AtLeast(minV) || k == "personality" && r.Version.AtLeast(rest.V(2, 57)) {
			return nil, badRequest("Invalid input for field/attribute server. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	project, user := caller(r)
	target := map[string]any{"project_id": project, "user_id": user}
	if err := r.Enforce(ctx, "os_compute_api:servers:create", target); err != nil {
		return nil, err
	}
	cr, err := a.validateCreate(ctx, r, body, sd, project, user)
	if err != nil {
		return nil, err
	}
	return a.create(ctx, r, cr, project, user, body)
}

// validateCreate reads a server create body into a createReq, step by step
// in the order Nova checks them, so that the first error a client sees is
// the one Nova would give.
func (a *API) validateCreate(ctx context.Context, r *rest.Request, body, sd map[string]any, project, user string) (*createReq, error) {
	cr := &createReq{metadata: map[string]string{}, minCount: 1}
	steps := []func() error{
		func() error { return parseCreateNames(sd, cr) },
		func() error { return a.createFlavorRef(ctx, r, sd, cr, project) },
		func() error { return a.parseBDMs(sd, cr) },
		func() error { return a.createImageRef(ctx, r, sd, cr) },
		func() error { return parseCreateCounts(sd, cr) },
		func() error { return a.parseNetworks(ctx, r, sd, cr, project) },
		func() error { return a.createBootData(ctx, sd, cr, project, user) },
		func() error { return a.createExtras(ctx, sd, cr, project) },
		func() error { return a.createDestination(ctx, r, sd, cr) },
		func() error { return a.createSecurityGroups(ctx, sd, cr, project) },
		func() error { return a.createHints(ctx, r, body, cr, project) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return cr, nil
}

// parseCreateNames reads the server's name, description and hostname.
func parseCreateNames(sd map[string]any, cr *createReq) error {
	name, ok := str(sd["name"])
	if !ok {
		return badRequest("Invalid input for field/attribute name. 'name' is a required property")
	}
	if err := validName("name", name, false); err != nil {
		return err
	}
	cr.name = name
	if v, ok := sd["description"]; ok && v != nil {
		s, ok := str(v)
		if !ok {
			return badRequest("Invalid input for field/attribute description. %v is not of type 'string', 'null'", v)
		}
		if err := validDescription("description", s, 255); err != nil {
			return err
		}
		cr.description = s
	}
	if v, ok := sd["hostname"]; ok {
		s, _ := str(v)
		if !hostnameRE.MatchString(s) || len(s) > 63 {
			return badRequest("Invalid input for field/attribute hostname. Value: %v. It does not match '^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$'", v)
		}
		cr.hostname = s
	}
	return nil
}

// createFlavorRef resolves flavorRef to a flavor the caller may use.
func (a *API) createFlavorRef(ctx context.Context, r *rest.Request, sd map[string]any, cr *createReq, project string) error {
	fref, ok := str(sd["flavorRef"])
	if !ok || fref == "" {
		if _, present := sd["flavorRef"]; !present {
			return badRequest("Invalid input for field/attribute flavorRef. 'flavorRef' is a required property")
		}
		if n, isNum := sd["flavorRef"].(json.Number); isNum {
			fref = n.String()
		} else {
			return badRequest("Invalid flavorRef provided.")
		}
	}
	fl, err := a.d.Store.Flavor(ctx, lastSegment(fref))
	if err != nil {
		if fault.IsNotFound(err) {
			return badRequest("Flavor %s could not be found.", lastSegment(fref))
		}
		return err
	}
	if !fl.IsPublic && !isAdmin(r) {
		if ok, err := a.d.Store.HasFlavorAccess(ctx, fl, project); err != nil || !ok {
			return badRequest("Flavor %s could not be found.", fl.FlavorID)
		}
	}
	if fl.Disabled {
		return badRequest("Flavor is disabled.")
	}
	cr.flavor = fl
	return nil
}

// createImageRef resolves the image (imageRef, or the root block device's)
// and checks it fits the flavor.
func (a *API) createImageRef(ctx context.Context, r *rest.Request, sd map[string]any, cr *createReq) error {
	iref, _ := str(sd["imageRef"])
	if iref == "" && !cr.bootFromVolume {
		for _, b := range cr.bdms {
			if b.IsRoot() && b.SourceType == "image" {
				iref = b.ImageID
			}
		}
		if iref == "" {
			return badRequest("Invalid input for field/attribute imageRef. A server needs an image (imageRef) unless it boots from a volume.")
		}
	}
	if iref != "" {
		id := lastSegment(iref)
		if _, err := uuid.Parse(id); err != nil {
			return badRequest("Invalid imageRef provided.")
		}
		img, err := a.d.Images.Get(ctx, id)
		if err != nil {
			if fault.IsNotFound(err) {
				return badRequest("Can not find requested image")
			}
			return err
		}
		if img.Status != "active" {
			return badRequest("Image %s is not active.", id)
		}
		if img.MinRAM > cr.flavor.MemoryMB {
			return badRequest("Flavor's memory is too small for requested image.")
		}
		if !cr.bootFromVolume && cr.flavor.RootGB > 0 {
			if img.MinDisk > cr.flavor.RootGB {
				return badRequest("Flavor's disk is too small for requested image. Flavor disk is %d bytes, minimum required by image is %d bytes.", int64(cr.flavor.RootGB)<<30, int64(img.MinDisk)<<30)
			}
			size := img.Size
			if img.VirtualSize > size {
				size = img.VirtualSize
			}
			if size > int64(cr.flavor.RootGB)<<30 {
				return badRequest("Flavor's disk is too small for requested image. Flavor disk is %d bytes, image is %d bytes.", int64(cr.flavor.RootGB)<<30, size)
			}
		}
		if !cr.bootFromVolume && cr.flavor.RootGB == 0 && !a.can(ctx, r, "os_compute_api:servers:create:zero_disk_flavor", nil) {
			return fault.Forbidden("Only volume-backed servers are allowed for flavors with zero disk.").WithType("BootFromVolumeRequiredForZeroDiskFlavor")
		}
		cr.image = img
	}
	return nil
}

// parseCreateCounts reads min_count, max_count and return_reservation_id.
func parseCreateCounts(sd map[string]any, cr *createReq) error {
	for _, p := range []struct {
		k   string
		dst *int
	}{{"min_count", &cr.minCount}, {"max_count", &cr.maxCount}} {
		if v, ok := sd[p.k]; ok {
			n, err := intParam(p.k, v, 1, 0x7FFFFFFF)
			if err != nil {
				return err
			}
			*p.dst = n
		}
	}
	if cr.maxCount == 0 {
		cr.maxCount = cr.minCount
	}
	if cr.minCount > cr.maxCount {
		return badRequest("min_count must be <= max_count")
	}
	if v, ok := sd["return_reservation_id"]; ok {
		b, err := boolParam("return_reservation_id", v)
		if err != nil {
			return err
		}
		cr.returnResv = b
	}
	return nil
}

// createBootData reads what the guest is given at boot: the key pair, user
// data, metadata and the config drive.
func (a *API) createBootData(ctx context.Context, sd map[string]any, cr *createReq, project, user string) error {
	if v, ok := sd["key_name"]; ok && v != nil {
		s, _ := str(v)
		kp, err := a.d.Store.Keypair(ctx, user, s)
		if err != nil {
			return badRequest("Invalid key_name provided.")
		}
		cr.keyName, cr.keyData = kp.Name, kp.PublicKey
	}
	if v, ok := sd["user_data"]; ok && v != nil {
		s, ok := str(v)
		if !ok || len(s) > 65535 {
			return badRequest("Invalid input for field/attribute user_data. User data too large or not a string.")
		}
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			return badRequest("User data needs to be valid base 64.")
		}
		cr.userData = s
	}
	if v, ok := sd["metadata"]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			return badRequest("Invalid input for field/attribute metadata. %v is not of type 'object'", v)
		}
		if err := validMetadata(m, cr.metadata); err != nil {
			return err
		}
		limits, err := a.quota.projectLimits(ctx, project)
		if err != nil {
			return err
		}
		if l := limits["metadata_items"]; l >= 0 && len(cr.metadata) > l {
			return fault.Forbidden("Quota exceeded for metadata_items: Requested %d, but already used 0 of %d metadata_items", len(cr.metadata), l).WithType("MetadataLimitExceeded")
		}
	}
	if v, ok := sd["config_drive"]; ok && v != nil {
		switch x := v.(type) {
		case bool:
			if x {
				cr.configDrive = "True"
			}
		case string:
			if x != "" {
				b, err := queryBool("config_drive", x)
				if err != nil {
					return badRequest("Invalid config_drive provided.")
				}
				if b {
					cr.configDrive = "True"
				}
			}
		default:
			return badRequest("Invalid config_drive provided.")
		}
	}
	return nil
}

// createExtras reads access IPs, disk config, the admin password,
// personality files, tags and trusted certificates.
func (a *API) createExtras(ctx context.Context, sd map[string]any, cr *createReq, project string) error {
	if v, ok := sd["accessIPv4"]; ok {
		s, _ := str(v)
		ip := net.ParseIP(s)
		if ip == nil || ip.To4() == nil || strings.Contains(s, ":") {
			return badRequest("Invalid input for field/attribute accessIPv4. Value: %v. %v is not a 'ipv4'", v, v)
		}
		cr.accessV4 = ip.String()
	}
	if v, ok := sd["accessIPv6"]; ok {
		s, _ := str(v)
		ip := net.ParseIP(s)
		if ip == nil || !strings.Contains(s, ":") {
			return badRequest("Invalid input for field/attribute accessIPv6. Value: %v. %v is not a 'ipv6'", v, v)
		}
		cr.accessV6 = ip.String()
	}
	if v, ok := sd["OS-DCF:diskConfig"]; ok {
		s, _ := str(v)
		if s != "AUTO" && s != "MANUAL" {
			return badRequest("Invalid input for field/attribute OS-DCF:diskConfig. Value: %v. %v is not one of ['AUTO', 'MANUAL']", v, v)
		}
		cr.autoDisk = s == "AUTO"
	}
	if v, ok := sd["adminPass"]; ok {
		s, ok := str(v)
		if !ok {
			return badRequest("Invalid input for field/attribute adminPass. %v is not of type 'string'", v)
		}
		cr.password = s
	} else {
		cr.password = generatePassword(a.cfg.Default.PasswordLength)
	}
	if v, ok := sd["personality"]; ok {
		files, ok := v.([]any)
		if !ok {
			return badRequest("Invalid input for field/attribute personality. It is not of type 'array'")
		}
		limits, err := a.quota.projectLimits(ctx, project)
		if err != nil {
			return err
		}
		if l := limits["injected_files"]; l >= 0 && len(files) > l {
			return fault.Forbidden("Personality file limit exceeded").WithType("OnsetFileLimitExceeded")
		}
		for _, f := range files {
			m, _ := f.(map[string]any)
			p, _ := str(m["path"])
			c, _ := str(m["contents"])
			if l := limits["injected_file_path_bytes"]; l >= 0 && len(p) > l {
				return fault.Forbidden("Personality file path exceeds maximum %d", l).WithType("OnsetFilePathLimitExceeded")
			}
			if _, err := base64.StdEncoding.DecodeString(c); err != nil {
				return badRequest("Personality content for %s cannot be decoded", p)
			}
			if l := limits["injected_file_content_bytes"]; l >= 0 && base64.StdEncoding.DecodedLen(len(c)) > l+2 {
				return fault.Forbidden("Personality file content exceeds maximum %d", l).WithType("OnsetFileContentLimitExceeded")
			}
		}
	}
	if v, ok := sd["tags"]; ok {
		tags, err := parseTags(v, a.cfg.API.MaxServerTags)
		if err != nil {
			return err
		}
		cr.tags = tags
	}
	if v, ok := sd["trusted_image_certificates"]; ok && v != nil {
		return badRequest("Image signature certificate validation is not enabled on this cloud.")
	}
	return nil
}

// createDestination reads the availability zone and a requested host or
// node.
func (a *API) createDestination(ctx context.Context, r *rest.Request, sd map[string]any, cr *createReq) error {
	if v, ok := sd["availability_zone"]; ok && v != nil {
		s, _ := str(v)
		if err := a.parseAZ(ctx, r, s, cr); err != nil {
			return err
		}
	}
	if h, n := sd["host"], sd["hypervisor_hostname"]; h != nil || n != nil {
		if err := r.Enforce(ctx, "os_compute_api:servers:create:requested_destination", nil); err != nil {
			return err
		}
		if cr.forceHost != "" || cr.forceNode != "" {
			return badRequest("One mechanism with host and/or hypervisor_hostname and another mechanism with zone:host:node are mutually exclusive.")
		}
		hs, _ := str(h)
		ns, _ := str(n)
		nodes, err := a.d.Store.Nodes(ctx, hs)
		if err != nil {
			return err
		}
		found := false
		for _, nd := range nodes {
			if ns == "" || nd.HypervisorHostname == ns {
				found = true
			}
		}
		if !found {
			return badRequest("Compute host %s could not be found.", hs+ns)
		}
		cr.dest = &objects.HostNode{Host: hs, Node: ns}
	}
	return nil
}

// createSecurityGroups resolves the security groups by name.
func (a *API) createSecurityGroups(ctx context.Context, sd map[string]any, cr *createReq, project string) error {
	if v, ok := sd["security_groups"]; ok {
		list, _ := v.([]any)
		for _, x := range list {
			m, _ := x.(map[string]any)
			if n, _ := str(m["name"]); n != "" && !slices.Contains(cr.sgNames, n) {
				cr.sgNames = append(cr.sgNames, n)
			}
		}
	}
	if len(cr.sgNames) > 0 && cr.netMode != "none" && a.d.Network != nil {
		groups, err := a.d.Network.SecurityGroups(ctx, project, cr.sgNames)
		if err != nil {
			return err
		}
		for _, g := range groups {
			cr.sgIDs = append(cr.sgIDs, g.ID)
		}
	}
	return nil
}

// createHints reads the scheduler hints: server group, same_host and
// different_host.
func (a *API) createHints(ctx context.Context, r *rest.Request, body map[string]any, cr *createReq, project string) error {
	hints, _ := body["os:scheduler_hints"].(map[string]any)
	if hints == nil {
		hints, _ = body["OS-SCH-HNT:scheduler_hints"].(map[string]any)
	}
	cr.hints = hints
	if g, ok := hints["group"]; ok {
		gid, _ := str(g)
		grp, err := a.d.Store.ServerGroup(ctx, gid)
		// The group is resolved in the caller's project (an admin may name
		// any): another project's group is as unknown as a missing one.
		if err != nil || (grp.ProjectID != project && !isAdmin(r)) {
			return badRequest("Instance group %s could not be found.", gid)
		}
		cr.group = grp
	}
	for _, p := range []struct {
		k   string
		dst *[]string
	}{{"same_host", &cr.sameHost}, {"different_host", &cr.differentHost}} {
		switch v := hints[p.k].(type) {
		case string:
			*p.dst = []string{v}
		case []any:
			for _, x := range v {
				if s, ok := str(x); ok {
					*p.dst = append(*p.dst, s)
				}
			}
		}
	}
	return nil
}

var hostnameRE = regexp.MustCompile(`^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$`)

// validMetadata checks metadata keys and values (1-255 and 0-255 characters)
// and copies them into out.
func validMetadata(m map[string]any, out map[string]string) error {
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return badRequest("Invalid input for field/attribute metadata. Value: %v. %v is not of type 'string'", v, v)
		}
		if len(k) == 0 || len(k) > 255 {
			return badRequest("Invalid input for field/attribute metadata. Metadata property key %q is empty or longer than 255 characters.", k)
		}
		if len(s) > 255 {
			return badRequest("Invalid input for field/attribute metadata. Metadata property value of %s is longer than 255 characters.", k)
		}
		out[k] = s
	}
	return nil
}

// parseTags validates server tags.
func parseTags(v any, max int) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, badRequest("Invalid input for field/attribute tags. It is not of type 'array'")
	}
	if len(list) > max {
		return nil, badRequest("Invalid input for field/attribute tags. Too many tags (at most %d)", max)
	}
	var out []string
	for _, x := range list {
		s, ok := x.(string)
		if !ok || s == "" || len(s) > 60 || strings.ContainsAny(s, ",/") {
			return nil, badRequest("Invalid input for field/attribute tags. Value: %v. It does not match '^[^,/]*$' or is too long", x)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// parseAZ reads "zone", "zone:host", "zone:host:node" (forced hosts are an
// admin's).
func (a *API) parseAZ(ctx context.Context, r *rest.Request, s string, cr *createReq) error {
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return badRequest("Unable to parse availability_zone")
	}
	az := parts[0]
	if len(parts) > 1 {
		if err := r.Enforce(ctx, "os_compute_api:servers:create:forced_host", nil); err != nil {
			return err
		}
		cr.forceHost = parts[1]
		if len(parts) > 2 {
			cr.forceNode = parts[2]
		}
	}
	if az != "" {
		zones, err := a.zones(ctx)
		if err != nil {
			return err
		}
		if !zones[az] {
			return badRequest("The requested availability zone is not available")
		}
	}
	cr.az = az
	return nil
}

// zones lists the availability zones of compute hosts.
func (a *API) zones(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{a.cfg.Default.DefaultAvailabilityZone: true}
	aggs, err := a.d.Store.Aggregates(ctx)
	if err != nil {
		return nil, err
	}
	for _, ag := range aggs {
		if z := ag.AvailabilityZone(); z != "" {
			out[z] = true
		}
	}
	return out, nil
}

// parseNetworks resolves the "networks" of a create request into concrete
// networks and ports, as Nova's network API validates them.
func (a *API) parseNetworks(ctx context.Context, r *rest.Request, sd map[string]any, cr *createReq, project string) error {
	v, present := sd["networks"]
	if !present && r.Version.AtLeast(rest.V(2, 37)) {
		return badRequest("Invalid input for field/attribute networks. 'networks' is a required property")
	}
	if s, isStr := v.(string); isStr {
		if !r.Version.AtLeast(rest.V(2, 37)) || (s != "auto" && s != "none") {
			return badRequest("Invalid input for field/attribute networks. Value: %s. '%s' is not of type 'array'", s, s)
		}
		if s == "none" {
			cr.netMode = "none"
			return nil
		}
		cr.netMode = "auto"
		return a.autoNetwork(ctx, cr, project, true)
	}
	if !present {
		return a.autoNetwork(ctx, cr, project, false)
	}
	list, ok := v.([]any)
	if !ok {
		return badRequest("Bad networks format")
	}
	if len(list) > 0 {
		if err := r.Enforce(ctx, "os_compute_api:servers:create:attach_network", nil); err != nil {
			return err
		}
	}
	var ports []string
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return badRequest("Bad networks format")
		}
		for k := range m {
			if k != "uuid" && k != "port" && k != "fixed_ip" && !(k == "tag" && r.Version.AtLeast(rest.V(2, 32))) {
				return badRequest("Invalid input for field/attribute networks. Additional properties are not allowed ('%s' was unexpected)", k)
			}
		}
		req := objects.RequestedNetwork{}
		req.PortID, _ = str(m["port"])
		req.FixedIP, _ = str(m["fixed_ip"])
		req.Tag, _ = str(m["tag"])
		if req.FixedIP != "" && net.ParseIP(req.FixedIP) == nil {
			return badRequest("Invalid fixed IP address (%s)", req.FixedIP)
		}
		if req.PortID != "" {
			if slices.Contains(ports, req.PortID) {
				return badRequest("Port ID '%s' was specified twice: you cannot attach a port multiple times.", req.PortID)
			}
			if _, has := m["fixed_ip"]; has {
				return badRequest("Specified Fixed IP '%s' cannot be used with port '%s': the two cannot be specified together.", req.FixedIP, req.PortID)
			}
			ports = append(ports, req.PortID)
			p, err := a.d.Network.Port(ctx, req.PortID)
			if err != nil {
				if fault.IsNotFound(err) {
					return badRequest("Port id %s could not be found.", req.PortID)
				}
				return err
			}
			if p.DeviceID != "" {
				return fault.Conflict("Port %s is still in use.", req.PortID).WithType("PortInUse")
			}
			if cr.maxCount > 1 {
				return badRequest("Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.")
			}
			req.NetworkID = p.NetworkID
		} else {
			id, _ := str(m["uuid"])
			if _, present := m["uuid"]; !present {
				return badRequest("Bad network format: missing 'uuid'")
			}
			if _, err := uuid.Parse(id); err != nil {
				return badRequest("Bad networks format: network uuid is not in proper format (%s)", id)
			}
			nw, err := a.d.Network.Network(ctx, id)
			if err != nil {
				if fault.IsNotFound(err) {
					return badRequest("Network %s could not be found.", id)
				}
				return err
			}
			if nw.External && !nw.Shared && nw.ProjectID != project && !isAdmin(r) {
				return fault.Forbidden("It is not allowed to create an interface on external network %s", id).WithType("ExternalNetworkAttachForbidden")
			}
			if req.FixedIP != "" && cr.maxCount > 1 {
				return badRequest("max_count cannot be greater than 1 if an fixed_ip is specified.")
			}
			req.NetworkID = id
		}
		cr.networks = append(cr.networks, req)
	}
	return nil
}

// autoNetwork picks the network of a request that names none: the only
// network the project can use, as Nova does ("auto" in 2.37+, and no
// networks before). Several are ambiguous; none means no NIC (before 2.37)
// or an error (auto, as tenku has no get-me-a-network topology).
func (a *API) autoNetwork(ctx context.Context, cr *createReq, project string, auto bool) error {
	if a.d.Network == nil {
		return nil
	}
	nets, err := a.d.Network.Networks(ctx, clients.NetFilter{ProjectID: project})
	if err != nil {
		return err
	}
	var usable []clients.Net
	for _, n := range nets {
		if !n.External || n.ProjectID == project {
			usable = append(usable, n)
		}
	}
	switch {
	case len(usable) == 1:
		cr.networks = []objects.RequestedNetwork{{NetworkID: usable[0].ID}}
	case len(usable) > 1:
		// Prefer the project's own network over shared ones, as most clouds mean.
		var own []clients.Net
		for _, n := range usable {
			if n.ProjectID == project {
				own = append(own, n)
			}
		}
		if len(own) == 1 {
			cr.networks = []objects.RequestedNetwork{{NetworkID: own[0].ID}}
			return nil
		}
		return fault.Conflict("Multiple possible networks found, use a Network ID to be more specific.").WithType("NetworkAmbiguous")
	case auto:
		return fault.BadRequest("Unable to automatically allocate a network for project %s", project).WithType("UnableToAutoAllocateNetwork")
	}
	return nil
}

// parseBDMs reads block_device_mapping_v2: image and blank local disks; a
// volume needs the block storage service, which tenku's compute does not
// attach yet.
func (a *API) parseBDMs(sd map[string]any, cr *createReq) error {
	if _, ok := sd["block_device_mapping"]; ok {
		if _, ok2 := sd["block_device_mapping_v2"]; ok2 {
			return badRequest("Using different block_device_mapping syntaxes is not allowed in the same request.")
		}
		return badRequest("Block device mapping to volumes is not supported by this cloud.")
	}
	list, ok := sd["block_device_mapping_v2"].([]any)
	if !ok {
		if _, present := sd["block_device_mapping_v2"]; present {
			return badRequest("Invalid input for field/attribute block_device_mapping_v2. It is not of type 'array'")
		}
		return nil
	}
	local := 0
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return badRequest("Block Device Mapping is Invalid: bad format")
		}
		b := objects.BDM{UUID: uuid.NewString()}
		b.SourceType, _ = str(m["source_type"])
		b.DestinationType, _ = str(m["destination_type"])
		b.DeviceName, _ = str(m["device_name"])
		b.GuestFormat, _ = str(m["guest_format"])
		b.DiskBus, _ = str(m["disk_bus"])
		b.DeviceType, _ = str(m["device_type"])
		b.Tag, _ = str(m["tag"])
		id, _ := str(m["uuid"])
		if v, ok := m["boot_index"]; ok && v != nil {
			n, err := intParam("boot_index", v, -1, 0x7FFFFFFF)
			if err != nil {
				return err
			}
			b.BootIndex = &n
		}
		if v, ok := m["volume_size"]; ok && v != nil {
			n, err := intParam("volume_size", v, 1, 0x7FFFFFFF)
			if err != nil {
				return err
			}
			b.VolumeSize = &n
		}
		if v, ok := m["delete_on_termination"]; ok {
			d, _ := boolParam("delete_on_termination", v)
			b.DeleteOnTermination = d
		}
		if b.DestinationType == "" {
			b.DestinationType = "volume"
		}
		switch {
		case b.SourceType == "image" && b.DestinationType == "local":
			b.ImageID = id
			if b.BootIndex == nil || *b.BootIndex != 0 {
				return badRequest("Block Device Mapping is Invalid: Mapping image to local is not supported.")
			}
			local++
		case b.SourceType == "blank" && b.DestinationType == "local":
			if b.BootIndex != nil && *b.BootIndex == 0 {
				return badRequest("Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.")
			}
			if b.GuestFormat == "swap" && b.VolumeSize != nil && *b.VolumeSize*1024 > cr.flavor.Swap {
				return badRequest("Block Device Mapping is Invalid: Swap drive requested is larger than instance type allows.")
			}
			if b.GuestFormat != "swap" && b.VolumeSize != nil && *b.VolumeSize > cr.flavor.EphemeralGB {
				return badRequest("Block Device Mapping is Invalid: Ephemeral disks requested are larger than the instance type allows. If no size is given in one block device mapping, flavor ephemeral size will be used.")
			}
			local++
		case b.DestinationType == "volume":
			return badRequest("Block Device Mapping is Invalid: attaching volumes needs the block storage service, which this cloud's compute service does not use yet.")
		default:
			return badRequest("Block Device Mapping is Invalid: source_type %q with destination_type %q is not valid.", b.SourceType, b.DestinationType)
		}
		cr.bdms = append(cr.bdms, b)
	}
	if m := a.cfg.Default.MaxLocalBlockDevices; m >= 0 && local > m {
		return badRequest("Block Device Mapping is Invalid: You specified more local devices than the limit allows")
	}
	return nil
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
