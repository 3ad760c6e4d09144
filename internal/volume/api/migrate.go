package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// os-migrate_volume_completion is the call Nova's compute makes once it has
// copied a guest's disk from one volume to another (a swap). Cinder answers
// two callers with it: its own volume migration (both volumes carry a
// migration_status), which tenku does not do, and a swap Nova was asked for
// directly (neither does), where the volumes trade places: the old one's
// attachments are removed (it becomes available) and the new one is
// attached to the same instance at the same mountpoint, and the answer is
// the id Nova's block device mapping keeps from now on, the new volume's.

func migrateRules() []policy.Rule {
	return []policy.Rule{
		rule("volume_extension:volume_admin_actions:migrate_volume_completion", ruleAdminAPI,
			"Complete a volume migration or a volume swap.", op("POST", "/volumes/{volume_id}/action (os-migrate_volume_completion)")),
	}
}

func (a *API) migrateVolumeCompletion(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	var b struct {
		NewVolume *string `json:"new_volume"`
		Error     *bool   `json:"error"`
	}
	if err := json.Unmarshal(arg, &b); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute os-migrate_volume_completion. Value: %s. %s is not of type 'object'", arg, arg)
	}
	if b.NewVolume == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute os-migrate_volume_completion. Value: %s. 'new_volume' is a required property", arg)
	}
	if _, err := uuid.Parse(*b.NewVolume); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute new_volume. Value: %s. '%s' is not a 'uuid'", *b.NewVolume, *b.NewVolume)
	}
	if err := a.enforceVolume(ctx, r, "volume_extension:volume_admin_actions:migrate_volume_completion", v); err != nil {
		return nil, err
	}
	nv, err := a.getVolume(ctx, r, *b.NewVolume)
	if err != nil {
		return nil, err
	}
	if nv.ID == v.ID {
		return nil, invalidVolume("Source and destination volumes are the same volume %s.", v.ID)
	}
	if b.Error == nil || !*b.Error {
		if err := a.swapAttachments(ctx, v, nv); err != nil {
			return nil, err
		}
	}
	return &rest.Response{Status: http.StatusOK, Body: map[string]any{"save_volume_id": nv.ID}}, nil
}

// swapAttachments moves old's attachments to nv: nv is attached where the
// last of them was (read-write), then each of old's is removed.
func (a *API) swapAttachments(ctx context.Context, old, nv *store.Volume) error {
	atts, err := a.db.ListAttachments(ctx, store.AttachmentFilter{VolumeIDs: []string{old.ID}})
	if err != nil {
		return err
	}
	if len(atts) == 0 {
		return invalidVolume("Volume %s has no attachment to hand over to volume %s.", old.ID, nv.ID)
	}
	last := atts[len(atts)-1]
	from := []volume.Status{volume.StatusAvailable, volume.StatusAttaching, volume.StatusReserved}
	if nv.Multiattach {
		from = append(from, volume.StatusInUse)
	}
	at := &store.Attachment{VolumeID: nv.ID, InstanceUUID: last.InstanceUUID, Host: last.Host, Status: volume.Attached, Mode: "rw", Mountpoint: last.Mountpoint}
	if err := a.db.CreateAttachment(ctx, at, store.VolumeMove{From: from, Status: volume.StatusInUse, AttachStatus: volume.Attached}); err != nil {
		return moveFault(err, nv, "attach", from)
	}
	detach := []volume.Status{volume.StatusInUse, volume.StatusDetaching, volume.StatusAttaching, volume.StatusReserved}
	for _, at := range atts {
		if _, err := a.db.DeleteAttachment(ctx, at.ID, detach); err != nil && !errors.Is(err, store.ErrNotFound) {
			return moveFault(err, old, "detach", detach)
		}
	}
	return nil
}
