package api

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

func (a *API) actionRoutes() []rest.Route {
	v := "/v3/{project_id}/volumes/{volume_id}"
	return append([]rest.Route{
		{Method: "POST", Path: v + "/action", Status: http.StatusAccepted, Handler: a.volumeAction},
	}, metaRoutes(v, a.volumeMeta())...)
}

// notYet are Cinder's volume actions tenku does not implement yet: they
// answer 501 rather than pretend.
var notYet = map[string]bool{
	"os-migrate_volume": true,
	"os-unmanage":       true, "os-reimage": true, "revert": true,
}

var resettable = []volume.Status{"available", "error", "creating", "deleting", "in-use", "attaching", "detaching",
	"error_deleting", "maintenance", "reserved", "extending", "error_extending", "downloading", "error_restoring", "error_managing"}

// decodeAction reads an action body: an object holding exactly one action
// and its argument.
func decodeAction(r *rest.Request) (string, json.RawMessage, error) {
	raw, err := r.RawJSON()
	if err != nil {
		return "", nil, err
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil || len(body) != 1 {
		return "", nil, fault.BadRequest("Malformed request body: an action object with exactly one action is required.")
	}
	var action string
	var arg json.RawMessage
	for k, v := range body {
		action, arg = k, v
	}
	return action, arg, nil
}

func (a *API) volumeAction(ctx context.Context, r *rest.Request) (any, error) {
	action, arg, err := decodeAction(r)
	if err != nil {
		return nil, err
	}
	v, err := a.getVolume(ctx, r, r.Param("volume_id"))
	if err != nil {
		return nil, err
	}
	if notYet[action] {
		return nil, fault.NotImplemented("The volume action %s is not implemented by tenku yet.", action)
	}
	if h, ok := a.attachActions()[action]; ok {
		return h(ctx, r, v, arg)
	}
	switch action {
	case "os-extend":
		return a.extend(ctx, r, v, arg)
	case "os-migrate_volume_completion":
		return a.migrateVolumeCompletion(ctx, r, v, arg)
	case "os-retype":
		return a.retype(ctx, r, v, arg)
	case "os-volume_upload_image":
		return a.uploadImage(ctx, r, v, arg)
	case "os-set_image_metadata", "os-unset_image_metadata", "os-show_image_metadata":
		return a.imageMetadataAction(ctx, r, v, action, arg)
	case "os-reset_status":
		return a.resetStatus(ctx, r, v, arg)
	case "os-set_bootable":
		if err := a.enforceVolume(ctx, r, "volume:update", v); err != nil {
			return nil, err
		}
		var b struct {
			Bootable any `json:"bootable"`
		}
		if err := json.Unmarshal(arg, &b); err != nil {
			return nil, fault.BadRequest("Malformed os-set_bootable: %v", err)
		}
		val, ok := boolish(b.Bootable)
		if !ok {
			return nil, fault.BadRequest("Invalid input for field/attribute bootable. Value: %v. It must be a boolean.", b.Bootable)
		}
		if _, err := a.db.UpdateVolume(ctx, v.ID, nil, store.Change{Bootable: &val}); err != nil {
			return nil, err
		}
		return &rest.Response{Status: http.StatusOK}, nil
	case "os-update_readonly_flag":
		if err := a.enforceVolume(ctx, r, "volume:update", v); err != nil {
			return nil, err
		}
		var b struct {
			Readonly any `json:"readonly"`
		}
		if err := json.Unmarshal(arg, &b); err != nil {
			return nil, fault.BadRequest("Malformed os-update_readonly_flag: %v", err)
		}
		val, ok := boolish(b.Readonly)
		if !ok {
			return nil, fault.BadRequest("Invalid input for field/attribute readonly. Value: %v. It must be a boolean.", b.Readonly)
		}
		if v.Status != volume.StatusAvailable {
			return nil, fault.BadRequest("Invalid volume: Volume status must be available to update readonly flag, it is %s.", v.Status).WithType("InvalidVolume")
		}
		md := maps.Clone(v.Metadata)
		md["readonly"] = "False" // as Cinder writes it
		if val {
			md["readonly"] = "True"
		}
		if _, err := a.db.UpdateVolume(ctx, v.ID, nil, store.Change{Metadata: md}); err != nil {
			return nil, err
		}
		return nil, nil
	case "os-force_delete":
		if err := a.enforceVolume(ctx, r, "volume:force_delete", v); err != nil {
			return nil, err
		}
		if v.AttachStatus != volume.Detached {
			return nil, fault.BadRequest("Invalid volume: the volume is attached.").WithType("InvalidVolume")
		}
		from := slices.DeleteFunc(slices.Clone(resettable), func(s volume.Status) bool { return s == volume.StatusDeleting })
		if err := a.startDelete(ctx, v, from, false); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return nil, fault.BadRequest("There is no such action: %s", action)
}

func boolish(v any) (bool, bool) {
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		return truthy(b)
	}
	return false, false
}

func (a *API) extend(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	if err := a.enforceVolume(ctx, r, "volume:extend", v); err != nil {
		return nil, err
	}
	var b struct {
		NewSize json.RawMessage `json:"new_size"`
	}
	if err := json.Unmarshal(arg, &b); err != nil {
		return nil, fault.BadRequest("Malformed os-extend: %v", err)
	}
	size, err := parseSize(b.NewSize)
	if err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute new_size. %s", strings.TrimPrefix(fault.As(err).Message, "Invalid input for field/attribute size. "))
	}
	if size == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute new_size. 'new_size' is a required property")
	}
	if v.Status != volume.StatusAvailable {
		return nil, fault.BadRequest("Invalid volume: Volume %s status must be available to extend, it is %s (extending in-use volumes is not implemented by tenku yet).", v.ID, v.Status).WithType("InvalidVolume")
	}
	if *size <= v.Size {
		return nil, fault.BadRequest("Invalid input received: New size for extend must be greater than current size. (current: %d, extended: %d).", v.Size, *size).WithType("InvalidInput")
	}
	lim, err := a.limits(ctx, v.ProjectID, v.TypeID)
	if err != nil {
		return nil, err
	}
	if lim.PerVolumeGigabytes >= 0 && int64(*size) > lim.PerVolumeGigabytes {
		return nil, overPerVolume(*size, lim.PerVolumeGigabytes)
	}
	if err := a.db.StartExtend(ctx, v, *size, lim); err != nil {
		if qe := quotaFault(err); qe != nil {
			return nil, qe
		}
		if errors.Is(err, store.ErrState) {
			return nil, fault.BadRequest("Invalid volume: the volume changed state; try again.").WithType("InvalidVolume")
		}
		return nil, err
	}
	if err := a.bus.Send(ctx, rpc.VolumeSubject(serviceHost(v.Host)), rpc.ExtendVolume, rpc.ExtendArgs{VolumeID: v.ID, NewSize: *size}); err != nil {
		a.fail(ctx, v.ID, volume.StatusExtending, volume.StatusErrorExtend, "could not reach the volume service: "+err.Error())
	}
	return nil, nil
}

func (a *API) resetStatus(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	if err := a.enforceVolume(ctx, r, "volume_extension:volume_admin_actions:reset_status", v); err != nil {
		return nil, err
	}
	var b struct {
		Status          *string `json:"status"`
		AttachStatus    *string `json:"attach_status"`
		MigrationStatus *string `json:"migration_status"`
	}
	if err := json.Unmarshal(arg, &b); err != nil {
		return nil, fault.BadRequest("Malformed os-reset_status: %v", err)
	}
	if b.Status == nil && b.AttachStatus == nil && b.MigrationStatus == nil {
		return nil, fault.BadRequest("Must specify 'status', 'attach_status' or 'migration_status' for update.")
	}
	var as volume.AttachStatus
	if b.AttachStatus != nil {
		as = volume.AttachStatus(strings.ToLower(*b.AttachStatus))
		if as != volume.Detached && as != volume.Attached {
			return nil, fault.BadRequest("Invalid input received: Must specify a valid attach status, not %s.", *b.AttachStatus).WithType("InvalidInput")
		}
	}
	if b.MigrationStatus != nil {
		return nil, fault.NotImplemented("Volume migration is not implemented by tenku.")
	}
	if b.Status != nil {
		st := volume.Status(strings.ToLower(*b.Status))
		if !slices.Contains(resettable, st) {
			return nil, fault.BadRequest("Invalid input received: Must specify a valid status, not %s.", *b.Status).WithType("InvalidInput")
		}
		reason := ""
		if _, err := a.db.UpdateVolume(ctx, v.ID, nil, store.Change{Status: &st, ErrorReason: &reason}); err != nil {
			return nil, err
		}
	}
	if as != "" {
		// The attach_status alone: the status stays what it is now.
		cur, err := a.db.GetVolume(ctx, v.ID)
		if err != nil {
			return nil, err
		}
		if err := a.db.MoveVolume(ctx, v.ID, store.VolumeMove{Status: cur.Status, AttachStatus: as}); err != nil {
			return nil, moveFault(err, v, "reset attach_status", nil)
		}
	}
	return nil, nil
}

// metaOwner is a resource with metadata routes (volumes, snapshots).
type metaOwner struct {
	// kind names the resource in messages ("Volume").
	kind                            string
	getRule, updateRule, deleteRule string
	// load finds the resource the request names and checks rule on it.
	load func(ctx context.Context, r *rest.Request, rule string) (id string, md map[string]string, err error)
	// save replaces the resource's metadata.
	save func(ctx context.Context, id string, md map[string]string) (map[string]string, error)
}

func (a *API) volumeMeta() metaOwner {
	return metaOwner{
		kind: "Volume", getRule: "volume:get_volume_metadata", updateRule: "volume:update_volume_metadata", deleteRule: "volume:delete_volume_metadata",
		load: func(ctx context.Context, r *rest.Request, rule string) (string, map[string]string, error) {
			v, err := a.getVolume(ctx, r, r.Param("volume_id"))
			if err != nil {
				return "", nil, err
			}
			return v.ID, v.Metadata, a.enforceVolume(ctx, r, rule, v)
		},
		save: func(ctx context.Context, id string, md map[string]string) (map[string]string, error) {
			nv, err := a.db.UpdateVolume(ctx, id, nil, store.Change{Metadata: md})
			if err != nil {
				return nil, err
			}
			return nv.Metadata, nil
		},
	}
}

func (o metaOwner) noKey(id, k string) error {
	return fault.NotFound("%s %s has no metadata with key %s.", o.kind, id, k).WithType(o.kind + "MetadataNotFound")
}

func (o metaOwner) getMetadata(ctx context.Context, r *rest.Request) (any, error) {
	_, md, err := o.load(ctx, r, o.getRule)
	if err != nil {
		return nil, err
	}
	return map[string]any{"metadata": md}, nil
}

func (o metaOwner) setMetadata(replace bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		var b struct {
			Metadata map[string]string `json:"metadata"`
		}
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		if b.Metadata == nil {
			return nil, fault.BadRequest("Malformed request body: 'metadata' is a required property")
		}
		if err := checkMetadata(b.Metadata); err != nil {
			return nil, err
		}
		id, old, err := o.load(ctx, r, o.updateRule)
		if err != nil {
			return nil, err
		}
		md := maps.Clone(b.Metadata)
		if !replace {
			md = maps.Clone(old)
			maps.Copy(md, b.Metadata)
		}
		out, err := o.save(ctx, id, md)
		if err != nil {
			return nil, err
		}
		return map[string]any{"metadata": out}, nil
	}
}

func (o metaOwner) getMetadataKey(ctx context.Context, r *rest.Request) (any, error) {
	id, md, err := o.load(ctx, r, o.getRule)
	if err != nil {
		return nil, err
	}
	k := r.Param("key")
	val, ok := md[k]
	if !ok {
		return nil, o.noKey(id, k)
	}
	return map[string]any{"meta": map[string]string{k: val}}, nil
}

func (o metaOwner) putMetadataKey(ctx context.Context, r *rest.Request) (any, error) {
	var b struct {
		Meta map[string]string `json:"meta"`
	}
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	k := r.Param("key")
	if len(b.Meta) != 1 {
		return nil, fault.BadRequest("Request body contains too many items.")
	}
	if _, ok := b.Meta[k]; !ok {
		return nil, fault.BadRequest("Request body and URI mismatch")
	}
	if err := checkMetadata(b.Meta); err != nil {
		return nil, err
	}
	id, old, err := o.load(ctx, r, o.updateRule)
	if err != nil {
		return nil, err
	}
	md := maps.Clone(old)
	md[k] = b.Meta[k]
	if _, err := o.save(ctx, id, md); err != nil {
		return nil, err
	}
	return map[string]any{"meta": b.Meta}, nil
}

func (o metaOwner) deleteMetadataKey(ctx context.Context, r *rest.Request) (any, error) {
	id, old, err := o.load(ctx, r, o.deleteRule)
	if err != nil {
		return nil, err
	}
	k := r.Param("key")
	if _, ok := old[k]; !ok {
		return nil, o.noKey(id, k)
	}
	md := maps.Clone(old)
	delete(md, k)
	if _, err := o.save(ctx, id, md); err != nil {
		return nil, err
	}
	return nil, nil
}

// metaRoutes are the metadata routes under base (".../volumes/{volume_id}").
func metaRoutes(base string, o metaOwner) []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: base + "/metadata", Handler: o.getMetadata},
		{Method: "POST", Path: base + "/metadata", Handler: o.setMetadata(false)},
		{Method: "PUT", Path: base + "/metadata", Handler: o.setMetadata(true)},
		{Method: "GET", Path: base + "/metadata/{key}", Handler: o.getMetadataKey},
		{Method: "PUT", Path: base + "/metadata/{key}", Handler: o.putMetadataKey},
		{Method: "DELETE", Path: base + "/metadata/{key}", Status: http.StatusOK, Handler: o.deleteMetadataKey},
	}
}
