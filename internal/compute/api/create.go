package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

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
	// rootImage is the image a volume-backed server's root volume is (or
	// is made) from; the server itself has no image.
	rootImage *objects.ImageMeta
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
		func() error { return a.checkVolumeBDMs(ctx, cr) },
		func() error { return a.createImageRef(ctx, r, sd, cr) },
		func() error { return parseCreateCounts(sd, cr) },
		func() error { return checkVolumeCount(cr) },
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
