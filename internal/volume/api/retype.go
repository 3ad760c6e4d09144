package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/scheduler"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// retype is os-retype: a volume (available, or in-use when the type's
// multiattach does not change) takes another type when its own backend
// satisfies the new type's extra specs, as Cinder's retype on the same
// backend (the file backend keeps nothing per type). A retype that would
// need a migration to another backend is refused: tenku does not migrate
// volumes.
func (a *API) retype(ctx context.Context, r *rest.Request, v *store.Volume, arg json.RawMessage) (any, error) {
	if err := a.enforceVolume(ctx, r, "volume:retype", v); err != nil {
		return nil, err
	}
	var b struct {
		NewType         *string `json:"new_type"`
		MigrationPolicy *string `json:"migration_policy"`
	}
	if err := json.Unmarshal(arg, &b); err != nil || b.NewType == nil || *b.NewType == "" {
		return nil, fault.BadRequest("Invalid input for field/attribute new_type. 'new_type' is a required property")
	}
	if p := b.MigrationPolicy; p != nil && *p != "never" && *p != "on-demand" {
		return nil, fault.BadRequest("Invalid input for field/attribute migration_policy. Value: %s. '%s' is not one of ['on-demand', 'never']", *p, *p)
	}
	nt, err := a.resolveType(ctx, r.Auth, *b.NewType)
	if err != nil {
		return nil, fault.BadRequest("Invalid input received: Invalid volume_type passed: %s.", *b.NewType).WithType("InvalidInput")
	}
	// Retyping to or from an encrypted type needs a key manager (Cinder
	// refuses changing encryption in a retype without migration).
	if err := a.refuseEncrypted(ctx, nt.ID); err != nil {
		return nil, err
	}
	multi := nt.ExtraSpecs["multiattach"] == "<is> True"
	if multi != v.Multiattach && v.Status != volume.StatusAvailable {
		return nil, fault.BadRequest("Invalid input received: Invalid volume_type passed, retypes affecting multiattach are only allowed on available volumes, the specified volume however currently has a status of: %s.", v.Status).WithType("InvalidInput")
	}
	if nt.ID == v.TypeID || (v.Status != volume.StatusAvailable && v.Status != volume.StatusInUse) {
		return nil, fault.BadRequest("Invalid volume: Retype needs volume to be in available or in-use state, not be part of an active migration or a consistency group, requested type has to be different that the one from the volume, and for in-use volumes front-end qos specs are not allowed.").WithType("InvalidVolume")
	}
	hosts, err := scheduler.New(a.db, a.bus, a.log, a.opt.ServiceDownTime).Hosts(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := scheduler.Select(hosts, scheduler.Request{AvailabilityZone: v.AvailabilityZone, ExtraSpecs: nt.ExtraSpecs, Backend: v.Host}); err != nil {
		var nvh *scheduler.NoValidHost
		if errors.As(err, &nvh) {
			return nil, fault.BadRequest("Invalid volume: volume %s cannot take type %s on its backend %s (%s), and tenku does not migrate volumes to other backends.", v.ID, nt.Name, v.Host, nvh.Reason).WithType("InvalidVolume")
		}
		return nil, err
	}
	// One compare-and-swap: the status it had, the type it had.
	if err := a.db.Retype(ctx, v.ID, v.Status, v.TypeID, nt.ID, multi); errors.Is(err, store.ErrState) {
		return nil, fault.BadRequest("Invalid volume: the volume changed state; try again.").WithType("InvalidVolume")
	} else if err != nil {
		return nil, err
	}
	a.log.InfoContext(ctx, "volume retyped", "volume", v.ID, "volume_type", nt.ID)
	return &rest.Response{Status: http.StatusAccepted}, nil
}
