package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/glance"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

func (a *API) volumeRoutes() []rest.Route {
	p := "/v3/{project_id}/volumes"
	return []rest.Route{
		{Method: "GET", Path: p, Policy: "volume:get_all", Handler: a.listVolumes(false)},
		{Method: "GET", Path: p + "/detail", Policy: "volume:get_all", Handler: a.listVolumes(true)},
		{Method: "POST", Path: p, Status: http.StatusAccepted, Policy: "volume:create", Handler: a.createVolume},
		{Method: "GET", Path: p + "/{volume_id}", Handler: a.showVolume},
		{Method: "PUT", Path: p + "/{volume_id}", Handler: a.updateVolume},
		{Method: "DELETE", Path: p + "/{volume_id}", Status: http.StatusAccepted, Handler: a.deleteVolume},
	}
}

func volumeNotFound(id string) error {
	return fault.NotFound("Volume %s could not be found.", id).WithType("VolumeNotFound")
}

// getVolume loads a volume the caller may see: their project's, or any
// for an administrator; others are 404, as Cinder scopes its queries.
func (a *API) getVolume(ctx context.Context, r *rest.Request, id string) (*store.Volume, error) {
	v, err := a.db.GetVolume(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, volumeNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if r.Auth != nil && v.ProjectID != r.Auth.ProjectID && !a.isAdmin(ctx, r.Auth) {
		return nil, volumeNotFound(id)
	}
	return v, nil
}

// enforceVolume checks a rule against a volume's project.
func (a *API) enforceVolume(ctx context.Context, r *rest.Request, rule string, v *store.Volume) error {
	return r.Enforce(ctx, rule, map[string]any{"project_id": v.ProjectID, "user_id": v.UserID, "id": v.ID})
}

func (a *API) links(r *rest.Request, project, kind, id string) []volume.Link {
	b := a.base(r)
	return []volume.Link{
		{Href: b + "/v3/" + project + "/" + kind + "/" + id, Rel: "self"},
		{Href: b + "/" + project + "/" + kind + "/" + id, Rel: "bookmark"},
	}
}

// renderer renders volumes for one request, caching type names and the
// caller's attribute rights.
type renderer struct {
	a       *API
	r       *rest.Request
	ctx     context.Context
	types   map[string]string
	admin   bool
	tenants map[string]bool
	// imageMeta caches volume_image_metadata:show by project.
	imageMeta map[string]bool
}

func (a *API) renderer(ctx context.Context, r *rest.Request) *renderer {
	return &renderer{a: a, r: r, ctx: ctx, types: map[string]string{}, admin: a.isAdmin(ctx, r.Auth), tenants: map[string]bool{}, imageMeta: map[string]bool{}}
}

func (rd *renderer) typeName(id string) string {
	if n, ok := rd.types[id]; ok {
		return n
	}
	n := ""
	if t, err := rd.a.db.GetTypeAny(rd.ctx, id); err == nil {
		n = t.Name
	}
	rd.types[id] = n
	return n
}

// plain renders a volume without the attributes Cinder's API extensions
// add to show and list responses only (os-vol-tenant-attr, os-vol-host-attr,
// volume_image_metadata): the create and update responses.
func (rd *renderer) plain(v *store.Volume) volume.Volume {
	out := rd.detail(v)
	out.TenantID, out.Host, out.ImageMetadata, out.MigStatus, out.NameID = nil, nil, nil, nil, nil
	// Cinder's view builder puts migration_status in every admin
	// rendering, create and update included.
	if rd.admin {
		out.MigrationStatus = json.RawMessage("null")
	}
	return out
}

func (rd *renderer) detail(v *store.Volume) volume.Volume {
	ver := rd.r.Version
	out := volume.Volume{
		ID: v.ID, Name: v.Name, Description: v.Description, Size: v.Size, Status: v.Status,
		AvailabilityZone: v.AvailabilityZone, CreatedAt: fmtTime(v.CreatedAt),
		Attachments: rd.attachments(v), Bootable: strconv.FormatBool(v.Bootable),
		Links: rd.a.links(rd.r, v.ProjectID, "volumes", v.ID), Metadata: v.Metadata,
		Multiattach: v.Multiattach, ReplicationStatus: strp("disabled"),
		SnapshotID: nilIfEmpty(v.SnapshotID), SourceVolID: nilIfEmpty(v.SourceVolID),
		UserID: v.UserID, VolumeType: rd.typeName(v.TypeID),
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	if !v.UpdatedAt.IsZero() {
		out.UpdatedAt = strp(fmtTime(v.UpdatedAt))
	}
	allowedTenant, ok := rd.tenants[v.ProjectID]
	if !ok {
		allowedTenant = rd.a.allowed(rd.ctx, rd.r.Auth, "volume_extension:volume_tenant_attribute", v.ProjectID)
		rd.tenants[v.ProjectID] = allowedTenant
	}
	if allowedTenant {
		out.TenantID = strp(v.ProjectID)
	}
	if rd.admin {
		host := v.Host
		out.Host = &host
		// tenku does not migrate volumes: no migration status, and the
		// volume's data is under its own id.
		out.MigStatus, out.NameID, out.MigrationStatus = json.RawMessage("null"), json.RawMessage("null"), json.RawMessage("null")
	}
	if len(v.ImageMetadata) > 0 {
		allowedImage, ok := rd.imageMeta[v.ProjectID]
		if !ok {
			allowedImage = rd.a.allowed(rd.ctx, rd.r.Auth, "volume_extension:volume_image_metadata:show", v.ProjectID)
			rd.imageMeta[v.ProjectID] = allowedImage
		}
		if allowedImage {
			out.ImageMetadata = v.ImageMetadata
		}
	}
	if ver.AtLeast(rest.V(3, 13)) {
		out.GroupID = nil
	}
	if ver.AtLeast(rest.V(3, 48)) {
		f := false
		out.SharedTargets = &f
	}
	if ver.AtLeast(rest.V(3, 63)) {
		out.VolumeTypeID = strp(v.TypeID)
	}
	if ver.AtLeast(rest.V(3, 65)) {
		t := true
		out.ConsumesQuota = &t
	}
	return out
}

func (a *API) showVolume(ctx context.Context, r *rest.Request) (any, error) {
	v, err := a.getVolume(ctx, r, r.Param("volume_id"))
	if err != nil {
		return nil, err
	}
	if err := a.enforceVolume(ctx, r, "volume:get", v); err != nil {
		return nil, err
	}
	return map[string]any{"volume": a.renderer(ctx, r).detail(v)}, nil
}

// parseSort reads sort=key:dir,key or the legacy sort_key/sort_dir.
func parseSort(q map[string][]string, cols map[string]string) ([]store.SortKey, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	sort, key, dir := get("sort"), get("sort_key"), get("sort_dir")
	if sort != "" && (key != "" || dir != "") {
		return nil, fault.BadRequest("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.")
	}
	checkDir := func(d string) (bool, error) {
		switch strings.ToLower(d) {
		case "", "desc":
			return true, nil
		case "asc":
			return false, nil
		}
		return false, fault.BadRequest("Unknown sort direction, must be 'desc' or 'asc'")
	}
	var out []store.SortKey
	if sort == "" {
		if key == "" {
			return nil, nil
		}
		desc, err := checkDir(dir)
		if err != nil {
			return nil, err
		}
		sort = key
		for _, k := range strings.Split(key, ",") {
			out = append(out, store.SortKey{Key: strings.TrimSpace(k), Desc: desc})
		}
	} else {
		for _, part := range strings.Split(sort, ",") {
			k, d, _ := strings.Cut(strings.TrimSpace(part), ":")
			desc, err := checkDir(d)
			if err != nil {
				return nil, err
			}
			out = append(out, store.SortKey{Key: strings.TrimSpace(k), Desc: desc})
		}
	}
	for _, k := range out {
		if _, ok := cols[k.Key]; !ok || k.Key == "" {
			return nil, fault.BadRequest("Invalid input received: Invalid sort key %s.", k.Key)
		}
	}
	return out, nil
}

// parseMetadataFilter reads metadata={'k': 'v'} (a Python dict, as the
// cinder client sends it) or JSON.
func parseMetadataFilter(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err == nil {
		return m, nil
	}
	if err := json.Unmarshal([]byte(strings.ReplaceAll(s, "'", "\"")), &m); err == nil {
		return m, nil
	}
	return nil, fault.BadRequest("Invalid input received: metadata filter %q is not a dict.", s)
}

func truthy(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "1", "t", "true", "on", "y", "yes":
		return true, true
	case "0", "f", "false", "off", "n", "no":
		return false, true
	}
	return false, false
}

// listScope reads the filters volume and snapshot lists share: the
// project (the caller's; any or a named one for an administrator asking
// all_tenants), name (or display_name) and metadata.
func (a *API) listScope(ctx context.Context, r *rest.Request) (project string, name *string, md map[string]string, err error) {
	q := r.HTTP.URL.Query()
	project = r.Auth.ProjectID
	if all, ok := truthy(q.Get("all_tenants")); ok && all && a.isAdmin(ctx, r.Auth) {
		project = q.Get("project_id")
	}
	if q.Has("name") {
		n := q.Get("name")
		name = &n
	} else if q.Has("display_name") {
		n := q.Get("display_name")
		name = &n
	}
	if m := q.Get("metadata"); m != "" {
		if md, err = parseMetadataFilter(m); err != nil {
			return "", nil, nil, err
		}
	}
	return project, name, md, nil
}

// volumeFilter reads the filters of the volume list and summary.
func (a *API) volumeFilter(ctx context.Context, r *rest.Request) (f store.Filter, err error) {
	q := r.HTTP.URL.Query()
	if f.ProjectID, f.Name, f.Metadata, err = a.listScope(ctx, r); err != nil {
		return f, err
	}
	admin := a.isAdmin(ctx, r.Auth)
	f.Status = q.Get("status")
	f.AvailabilityZone = q.Get("availability_zone")
	if b := q.Get("bootable"); b != "" {
		v, ok := truthy(b)
		switch {
		case !r.Version.AtLeast(rest.V(3, 2)):
			// Before 3.2 only false/False select non-bootable volumes;
			// any other value selects bootable ones.
			v = b != "false" && b != "False"
		case !ok:
			return f, fault.BadRequest("Invalid input received: bootable=%s", b).WithType("InvalidInput")
		}
		f.Bootable = &v
	}
	if admin {
		f.Host = q.Get("host")
	}
	if gm := q.Get("glance_metadata"); gm != "" && r.Version.AtLeast(rest.V(3, 4)) {
		if f.ImageMetadata, err = parseMetadataFilter(gm); err != nil {
			return f, err
		}
	}
	if f.Sort, err = parseSort(q, store.SortColumns); err != nil {
		return f, err
	}
	return f, nil
}

func (a *API) listVolumes(detail bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		q := r.HTTP.URL.Query()
		f, err := a.volumeFilter(ctx, r)
		if err != nil {
			return nil, err
		}
		vols, err := a.listFiltered(ctx, r, f)
		if err != nil {
			return nil, err
		}
		total := len(vols)
		vols, more, err := paginate(a, r, vols, func(v *store.Volume) string { return v.ID })
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		if detail {
			rd := a.renderer(ctx, r)
			list := make([]volume.Volume, len(vols))
			for i, v := range vols {
				list[i] = rd.detail(v)
			}
			out["volumes"] = list
		} else {
			list := make([]volume.VolumeSummary, len(vols))
			for i, v := range vols {
				list[i] = volume.VolumeSummary{ID: v.ID, Name: v.Name, Links: a.links(r, v.ProjectID, "volumes", v.ID)}
			}
			out["volumes"] = list
		}
		if more && len(vols) > 0 {
			out["volumes_links"] = []volume.Link{{Href: r.NextURL(a.base(r), vols[len(vols)-1].ID), Rel: "next"}}
		}
		if r.Version.AtLeast(rest.V(3, 45)) {
			if wc, _ := truthy(q.Get("with_count")); wc {
				out["count"] = total
			}
		}
		return out, nil
	}
}

// paginate applies the request's marker, offset and limit to a sorted
// list; more says whether the page is full (a next link is due).
func paginate[T any](a *API, r *rest.Request, items []T, id func(T) string) ([]T, bool, error) {
	page, err := r.Page(a.opt.MaxLimit, a.opt.MaxLimit)
	if err != nil {
		return nil, false, fault.BadRequest("Invalid input received: %s", fault.As(err).Message)
	}
	offset := 0
	if s := r.HTTP.URL.Query().Get("offset"); s != "" {
		if offset, err = strconv.Atoi(s); err != nil || offset < 0 {
			return nil, false, fault.BadRequest("Invalid input received: offset must be a non-negative integer, got %q.", s)
		}
	}
	if page.Marker != "" {
		i := slices.IndexFunc(items, func(it T) bool { return id(it) == page.Marker })
		if i < 0 {
			return nil, false, fault.NotFound("Marker %s could not be found.", page.Marker)
		}
		items = items[i+1:]
	}
	items = items[min(offset, len(items)):]
	// A full page gets a next link even when nothing follows it, as
	// Cinder's _get_collection_links does (tempest expects the empty
	// last page).
	more := false
	if page.Limit >= 0 && len(items) >= page.Limit {
		items, more = items[:page.Limit], true
	}
	return items, more, nil
}

// checkText checks a name or description: a string of at most 255 characters.
func checkText(field string, s *string) error {
	if s != nil && len([]rune(*s)) > 255 {
		return fault.BadRequest("Invalid input for field/attribute %s. Value: %s. '%s' is too long", field, *s, *s)
	}
	return nil
}

// createText is a create or update body's name and description, or the v1
// display_name and display_description Cinder still takes in their place,
// checked with the metadata.
func createText(name, desc, displayName, displayDesc *string, md map[string]string) (*string, *string, error) {
	if name == nil {
		name = displayName
	}
	if desc == nil {
		desc = displayDesc
	}
	if err := checkText("name", name); err != nil {
		return nil, nil, err
	}
	if err := checkText("description", desc); err != nil {
		return nil, nil, err
	}
	return name, desc, checkMetadata(md)
}

func checkMetadata(md map[string]string) error {
	for k, v := range md {
		if k == "" || len([]rune(k)) > 255 {
			return fault.BadRequest("Invalid input for field/attribute metadata. Value: %v. Metadata keys must be 1 to 255 characters long.", md)
		}
		if len([]rune(v)) > 255 {
			return fault.BadRequest("Invalid input for field/attribute metadata. Value: %v. Metadata values must be at most 255 characters long.", md)
		}
	}
	return nil
}

func parseSize(raw json.RawMessage) (*int, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil, nil
	}
	var n int
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return nil, err
		}
		v, err := strconv.Atoi(str)
		if err != nil || strings.ContainsAny(str, "+- ") {
			return nil, fault.BadRequest("Invalid input for field/attribute size. Value: %s. '%s' does not match '^[0-9]+$'", str, str)
		}
		n = v
	} else if err := json.Unmarshal(raw, &n); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute size. Value: %s. %s is not of type 'integer', 'string', 'null'", s, s)
	}
	if n < 1 {
		return nil, fault.BadRequest("Invalid input for field/attribute size. Value: %d. %d is less than the minimum of 1", n, n)
	}
	if n > 2147483647 {
		return nil, fault.BadRequest("Invalid input for field/attribute size. Value: %d. %d is greater than the maximum of 2147483647", n, n)
	}
	return &n, nil
}

// resolveType finds a volume type by name or id that the caller may use.
func (a *API) resolveType(ctx context.Context, who *authn.Context, ref string) (*store.Type, error) {
	t, err := a.db.GetTypeByName(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		t, err = a.db.GetType(ctx, ref)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.NotFound("Volume type with name %s could not be found.", ref).WithType("VolumeTypeNotFoundByName")
	}
	if err != nil {
		return nil, err
	}
	if !t.IsPublic && !a.isAdmin(ctx, who) {
		projects, err := a.db.TypeProjects(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(projects, who.ProjectID) {
			return nil, fault.NotFound("Volume type with name %s could not be found.", ref).WithType("VolumeTypeNotFoundByName")
		}
	}
	return t, nil
}

// zones lists the availability zones that have volume services, and the
// configured storage zone.
func (a *API) zones(ctx context.Context) ([]string, error) {
	svcs, err := a.db.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	out := []string{a.opt.StorageAZ}
	for _, s := range svcs {
		if !slices.Contains(out, s.AvailabilityZone) {
			out = append(out, s.AvailabilityZone)
		}
	}
	return out, nil
}

func (a *API) createVolume(ctx context.Context, r *rest.Request) (any, error) {
	var body volume.CreateVolume
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	b := body.Volume
	if b == nil {
		return nil, fault.BadRequest("Missing required element 'volume' in request body.")
	}
	size, err := parseSize(b.Size)
	if err != nil {
		return nil, err
	}
	name, desc, err := createText(b.Name, b.Description, b.DisplayName, b.DisplayDesc, b.Metadata)
	if err != nil {
		return nil, err
	}
	given := func(p *string) bool { return p != nil && *p != "" }
	if n := countTrue(given(b.SnapshotID), given(b.SourceVolID), given(b.ImageRef) || given(b.ImageID), given(b.BackupID)); n > 1 {
		return nil, fault.BadRequest("Invalid input received: May specify only one of backup, imageRef, snapshot, source volume").WithType("InvalidInput")
	}
	// src is the volume whose data, type and zone a copy takes: the
	// source volume, or the snapshot's volume.
	var src *store.Volume
	var snap *store.Snapshot
	var img *glance.Image
	switch {
	case given(b.SnapshotID):
		if snap, err = a.getSnapshot(ctx, r, *b.SnapshotID, "volume:get_snapshot"); err != nil {
			return nil, err
		}
		if !slices.Contains(store.CopyableSnapshot, snap.Status) {
			return nil, uncopyableSnapshot()
		}
		if src, err = a.db.GetVolume(ctx, snap.VolumeID); err != nil {
			return nil, err
		}
		if size == nil {
			size = &snap.Size
		} else if *size < snap.Size {
			return nil, fault.BadRequest("Invalid input received: Volume size %dGB cannot be smaller than the snapshot size %dGB. They must be >= original snapshot size.", *size, snap.Size).WithType("InvalidInput")
		}
	case given(b.SourceVolID):
		if src, err = a.getVolume(ctx, r, *b.SourceVolID); err != nil {
			return nil, err
		}
		if err := a.enforceVolume(ctx, r, "volume:get", src); err != nil {
			return nil, err
		}
		if !slices.Contains(store.CopyableVolume, src.Status) {
			return nil, uncopyableVolume()
		}
		if size == nil {
			size = &src.Size
		} else if *size < src.Size {
			return nil, fault.BadRequest("Invalid input received: Volume size %dGB cannot be smaller than original volume size  %dGB. They must be >= original volume size.", *size, src.Size).WithType("InvalidInput")
		}
	case given(b.BackupID):
		return nil, fault.NotFound("Backup %s could not be found.", *b.BackupID).WithType("BackupNotFound")
	case given(b.ImageRef), given(b.ImageID):
		ref := b.ImageRef
		if !given(ref) {
			ref = b.ImageID
		}
		if err := r.Enforce(ctx, "volume:create_from_image", map[string]any{"project_id": r.Auth.ProjectID, "user_id": r.Auth.UserID}); err != nil {
			return nil, err
		}
		if img, err = a.resolveImage(ctx, r, *ref); err != nil {
			return nil, err
		}
	case given(b.ConsistencyGroup), given(b.GroupID):
		return nil, fault.NotImplemented("Volume groups are not implemented by tenku.")
	}
	if size == nil {
		return nil, fault.BadRequest("Invalid input received: Volume size must be specified when no snapshot, source volume, image or backup is given.")
	}
	typeRef := b.VolumeType
	if img != nil {
		if err := checkImage(img, *size); err != nil {
			return nil, err
		}
		// An image may name the type of the volumes made from it
		// (cinder_img_volume_type), used when the request names none.
		if it := img.Properties["cinder_img_volume_type"]; it != "" && (typeRef == nil || *typeRef == "") {
			if _, err := a.resolveType(ctx, r.Auth, it); err == nil {
				typeRef = &it
			} else {
				a.log.WarnContext(ctx, "image names an unknown volume type; using the default", "image", img.ID, "volume_type", it)
			}
		}
	}
	vt, err := a.volumeType(ctx, r, typeRef, src)
	if err != nil {
		return nil, err
	}
	az := a.opt.DefaultAZ
	if src != nil {
		az = src.AvailabilityZone
	}
	if b.AvailabilityZone != nil && *b.AvailabilityZone != "" {
		az = *b.AvailabilityZone
		zones, err := a.zones(ctx)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(zones, az) {
			return nil, fault.BadRequest("Invalid input received: Availability zone '%s' is invalid.", az).WithType("InvalidAvailabilityZone")
		}
		switch {
		case snap != nil && az != src.AvailabilityZone:
			return nil, fault.BadRequest("Invalid input received: Volume must be in the same availability zone as the snapshot").WithType("InvalidInput")
		case src != nil && az != src.AvailabilityZone:
			return nil, fault.BadRequest("Invalid input received: Volume must be in the same availability zone as the source volume").WithType("InvalidInput")
		}
	}
	if err := a.refuseEncrypted(ctx, vt.ID); err != nil {
		return nil, err
	}
	multi := false
	if b.Multiattach != nil {
		multi = *b.Multiattach
	}
	if ms := vt.ExtraSpecs["multiattach"]; ms == "<is> True" {
		multi = true
	}
	v := &store.Volume{
		ID: uuid.NewString(), ProjectID: r.Auth.ProjectID, UserID: r.Auth.UserID, Name: name, Description: desc,
		Size: *size, Status: volume.StatusCreating, AttachStatus: volume.Detached, AvailabilityZone: az,
		TypeID: vt.ID, Multiattach: multi, Metadata: maps.Clone(b.Metadata),
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	if src != nil {
		// A copy is bootable when its source is, as Cinder's volume
		// manager marks it, and keeps what its source knew of its image.
		v.Bootable = src.Bootable
		v.ImageMetadata = maps.Clone(src.ImageMetadata)
	}
	if img != nil {
		// Bootable and volume_image_metadata are recorded when the data
		// is written, as Cinder's volume manager does.
		v.ImageID = img.ID
	}
	if snap != nil {
		v.SnapshotID = snap.ID
	} else if src != nil {
		v.SourceVolID = src.ID
	}
	lim, err := a.limits(ctx, v.ProjectID, v.TypeID)
	if err != nil {
		return nil, err
	}
	if lim.PerVolumeGigabytes >= 0 && int64(v.Size) > lim.PerVolumeGigabytes {
		return nil, overPerVolume(v.Size, lim.PerVolumeGigabytes)
	}
	if err := a.db.CreateVolumeWithin(ctx, v, lim); err != nil {
		if qe := quotaFault(err); qe != nil {
			return nil, qe
		}
		switch {
		case errors.Is(err, store.ErrState) && snap != nil:
			return nil, uncopyableSnapshot()
		case errors.Is(err, store.ErrState):
			return nil, uncopyableVolume()
		case errors.Is(err, store.ErrNotFound) && snap != nil:
			return nil, snapshotNotFound(snap.ID)
		case errors.Is(err, store.ErrNotFound) && src != nil:
			return nil, volumeNotFound(src.ID)
		}
		return nil, err
	}
	args := rpc.CreateArgs{VolumeID: v.ID, Size: v.Size, AvailabilityZone: az, ExtraSpecs: vt.ExtraSpecs, SnapshotID: v.SnapshotID, SourceVolID: v.SourceVolID, ImageID: v.ImageID}
	if src != nil {
		args.SourceHost = src.Host
	}
	if err := a.bus.Send(ctx, rpc.SchedulerSubject, rpc.CreateVolume, args); err != nil {
		a.fail(ctx, v.ID, volume.StatusCreating, volume.StatusError, fmt.Sprintf("could not reach the scheduler: %v", err))
		return nil, fault.Unavailable("The volume scheduler could not be reached.")
	}
	return map[string]any{"volume": a.renderer(ctx, r).plain(v)}, nil
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func uncopyableSnapshot() error {
	return fault.BadRequest("Invalid snapshot: Originating snapshot status must be one of 'available' values").WithType("InvalidSnapshot")
}

func uncopyableVolume() error {
	return fault.BadRequest("Invalid volume: Unable to create a volume from an originating source volume when its status is not one of 'available', 'in-use' values").WithType("InvalidVolume")
}

// volumeType picks a new volume's type: the one asked for, or the
// source's for a copy (src), or the default. A copy may take another type
// only if it names the same backend (volume_backend_name), as Cinder
// allows a type its source's backend can keep.
func (a *API) volumeType(ctx context.Context, r *rest.Request, ref *string, src *store.Volume) (*store.Type, error) {
	if ref == nil || *ref == "" {
		if src != nil {
			return a.db.GetTypeAny(ctx, src.TypeID)
		}
		return a.resolveType(ctx, r.Auth, a.opt.DefaultType)
	}
	vt, err := a.resolveType(ctx, r.Auth, *ref)
	if err != nil || src == nil || vt.ID == src.TypeID {
		return vt, err
	}
	st, err := a.db.GetTypeAny(ctx, src.TypeID)
	if err != nil {
		return nil, err
	}
	if st.ExtraSpecs["volume_backend_name"] != vt.ExtraSpecs["volume_backend_name"] {
		return nil, fault.BadRequest("Invalid input received: Invalid volume_type provided: %s (requested type is not compatible; either match source volume, or omit type argument).", *ref).WithType("InvalidInput")
	}
	return vt, nil
}

// fail moves a volume to an error state with a reason (best effort).
func (a *API) fail(ctx context.Context, id string, from, to volume.Status, reason string) {
	if _, err := a.db.UpdateVolume(context.WithoutCancel(ctx), id, []volume.Status{from}, store.Change{Status: &to, ErrorReason: &reason}); err != nil {
		a.log.WarnContext(ctx, "volume state not recorded", "volume", id, "status", to, "err", err)
	} else {
		a.log.WarnContext(ctx, "volume failed", "volume", id, "status", to, "reason", reason)
	}
}

func (a *API) updateVolume(ctx context.Context, r *rest.Request) (any, error) {
	var upd volume.UpdateVolume
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fault.BadRequest("Malformed request body: %v", err)
	}
	if _, ok := probe["volume"]; !ok {
		return nil, fault.BadRequest("Missing required element 'volume' in request body.")
	}
	if err := json.Unmarshal(raw, &upd); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute volume. %v", err)
	}
	u := upd.Volume
	name, desc, err := createText(u.Name, u.Description, u.DisplayName, u.DisplayDesc, u.Metadata)
	if err != nil {
		return nil, err
	}
	v, err := a.getVolume(ctx, r, r.Param("volume_id"))
	if err != nil {
		return nil, err
	}
	if err := a.enforceVolume(ctx, r, "volume:update", v); err != nil {
		return nil, err
	}
	var c store.Change
	if name != nil {
		c.Name = &name
	}
	if desc != nil {
		c.Description = &desc
	}
	if u.Metadata != nil {
		c.Metadata = u.Metadata
	}
	nv, err := a.db.UpdateVolume(ctx, v.ID, nil, c)
	if errors.Is(err, store.ErrNotFound) {
		return nil, volumeNotFound(v.ID)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"volume": a.renderer(ctx, r).plain(nv)}, nil
}

// deletable are the states a volume may be deleted from.
var deletable = []volume.Status{volume.StatusAvailable, volume.StatusError, volume.StatusErrorExtend, volume.StatusErrorDeleting, "error_restoring", "error_managing"}

func (a *API) deleteVolume(ctx context.Context, r *rest.Request) (any, error) {
	v, err := a.getVolume(ctx, r, r.Param("volume_id"))
	if err != nil {
		return nil, err
	}
	if err := a.enforceVolume(ctx, r, "volume:delete", v); err != nil {
		return nil, err
	}
	q := r.HTTP.URL.Query()
	if force, _ := truthy(q.Get("force")); force {
		if err := a.enforceVolume(ctx, r, "volume:force_delete", v); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(deletable, v.Status) || v.AttachStatus != volume.Detached {
		return nil, invalidDelete(v)
	}
	if err := a.assertNotFrozen(ctx, v); err != nil {
		return nil, err
	}
	cascade, _ := truthy(q.Get("cascade"))
	return nil, a.startDelete(ctx, v, deletable, cascade)
}

func invalidDelete(v *store.Volume) error {
	return fault.BadRequest("Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be awaiting a transfer; it is %s.", v.Status).WithType("InvalidVolume")
}

// startDelete moves a volume to deleting and asks its volume service to
// remove it; a volume that was never placed is destroyed at once. A
// volume with snapshots is refused unless cascade, which deletes them
// first (each must be available or error).
func (a *API) startDelete(ctx context.Context, v *store.Volume, from []volume.Status, cascade bool) error {
	if v.Host == "" {
		err := a.db.DestroyVolume(ctx, v.ID, from)
		if errors.Is(err, store.ErrState) {
			return fault.BadRequest("Invalid volume: the volume changed state; try again.").WithType("InvalidVolume")
		}
		return err
	}
	snaps, err := a.db.StartDeleteVolume(ctx, v.ID, from, cascade)
	switch {
	case errors.Is(err, store.ErrHasSnapshots):
		return fault.BadRequest("Invalid volume: Volume %s still has %d dependent snapshots; delete them first or use cascade.", v.ID, len(snaps)).WithType("InvalidVolume")
	case errors.Is(err, store.ErrSourceInUse):
		return fault.BadRequest("Invalid volume: Volume %s is in use: a volume is being created from it or from one of its snapshots.", v.ID).WithType("InvalidVolume")
	case errors.Is(err, store.ErrState) && cascade:
		return fault.BadRequest("Invalid volume: the volume is not in a deletable state or one of its snapshots is not available or error.").WithType("InvalidVolume")
	case errors.Is(err, store.ErrState):
		return fault.BadRequest("Invalid volume: the volume changed state; try again.").WithType("InvalidVolume")
	case errors.Is(err, store.ErrNotFound):
		return volumeNotFound(v.ID)
	case err != nil:
		return err
	}
	if err := a.bus.Send(ctx, rpc.VolumeSubject(serviceHost(v.Host)), rpc.DeleteVolume, rpc.DeleteArgs{VolumeID: v.ID, Snapshots: snaps}); err != nil {
		a.log.WarnContext(ctx, "delete not sent; the sweep retries", "volume", v.ID, "err", err)
	}
	return nil
}

// serviceHost strips the pool from host@backend#pool.
func serviceHost(h string) string {
	s, _, _ := strings.Cut(h, "#")
	return s
}
