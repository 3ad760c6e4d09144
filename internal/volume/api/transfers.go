package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// transferRoutes are Cinder's os-volume-transfer (the /volume-transfers
// path and its no_snapshots of 3.55 need a higher maximum microversion).
func (a *API) transferRoutes() []rest.Route {
	p := "/v3/{project_id}/os-volume-transfer"
	return []rest.Route{
		{Method: "GET", Path: p, Policy: "volume:get_all_transfers", Handler: a.listTransfers(false)},
		{Method: "GET", Path: p + "/detail", Policy: "volume:get_all_transfers", Handler: a.listTransfers(true)},
		{Method: "POST", Path: p, Status: http.StatusAccepted, Handler: a.createTransfer},
		{Method: "GET", Path: p + "/{transfer_id}", Policy: "volume:get_transfer", Handler: a.showTransfer},
		{Method: "DELETE", Path: p + "/{transfer_id}", Status: http.StatusAccepted, Handler: a.deleteTransfer},
		{Method: "POST", Path: p + "/{transfer_id}/accept", Status: http.StatusAccepted, Policy: "volume:accept_transfer", Handler: a.acceptTransfer},
	}
}

func transferNotFound(id string) error {
	return fault.NotFound("Transfer %s could not be found.", id).WithType("TransferNotFound")
}

// Salt and key lengths, Cinder's volume_transfer_salt_length and
// volume_transfer_key_length defaults.
const (
	transferSaltLen = 8
	transferKeyLen  = 16
)

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// cryptHash is Cinder's: HMAC-SHA1 of the auth key under the salt.
func cryptHash(salt, key string) string {
	m := hmac.New(sha1.New, []byte(salt))
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil))
}

// getTransfer loads a transfer of the caller's project (any for an
// administrator).
func (a *API) getTransfer(ctx context.Context, r *rest.Request, id string) (*store.Transfer, error) {
	t, err := a.db.GetTransfer(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, transferNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if t.SourceProjectID != r.Auth.ProjectID && !a.isAdmin(ctx, r.Auth) {
		return nil, transferNotFound(id)
	}
	return t, nil
}

func (a *API) renderTransfer(r *rest.Request, t *store.Transfer, detail bool) volume.Transfer {
	out := volume.Transfer{ID: t.ID, Name: t.Name, VolumeID: t.VolumeID, Links: a.links(r, t.SourceProjectID, "os-volume-transfer", t.ID)}
	if detail {
		out.CreatedAt = fmtTime(t.CreatedAt)
	}
	return out
}

func (a *API) listTransfers(detail bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		project := r.Auth.ProjectID
		if all, ok := truthy(r.HTTP.URL.Query().Get("all_tenants")); ok && all && a.isAdmin(ctx, r.Auth) {
			project = ""
		}
		ts, err := a.db.ListTransfers(ctx, project)
		if err != nil {
			return nil, err
		}
		ts, more, err := paginate(a, r, ts, func(t *store.Transfer) string { return t.ID })
		if err != nil {
			return nil, err
		}
		list := make([]volume.Transfer, len(ts))
		for i, t := range ts {
			list[i] = a.renderTransfer(r, t, detail)
		}
		out := map[string]any{"transfers": list}
		if more && len(ts) > 0 {
			out["transfers_links"] = []volume.Link{{Href: r.NextURL(a.base(r), ts[len(ts)-1].ID), Rel: "next"}}
		}
		return out, nil
	}
}

func (a *API) showTransfer(ctx context.Context, r *rest.Request) (any, error) {
	t, err := a.getTransfer(ctx, r, r.Param("transfer_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"transfer": a.renderTransfer(r, t, true)}, nil
}

// createTransfer offers an available volume (and its snapshots, which
// must be available) to any project that presents the auth key.
func (a *API) createTransfer(ctx context.Context, r *rest.Request) (any, error) {
	var body volume.CreateTransfer
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	in := body.Transfer
	if in == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute transfer. 'transfer' is a required property")
	}
	if in.VolumeID == nil || *in.VolumeID == "" {
		return nil, fault.BadRequest("Invalid input for field/attribute volume_id. 'volume_id' is a required property")
	}
	if err := checkText("name", in.Name); err != nil {
		return nil, err
	}
	v, err := a.getVolume(ctx, r, *in.VolumeID)
	if err != nil {
		return nil, err
	}
	if err := a.enforceVolume(ctx, r, "volume:create_transfer", v); err != nil {
		return nil, err
	}
	if v.Status != volume.StatusAvailable {
		return nil, fault.BadRequest("Invalid volume: status must be available").WithType("InvalidVolume")
	}
	key := randomHex(transferKeyLen)
	t := &store.Transfer{ID: uuid.NewString(), VolumeID: v.ID, Name: in.Name, Salt: randomHex(transferSaltLen), SourceProjectID: v.ProjectID}
	t.CryptHash = cryptHash(t.Salt, key)
	switch err := a.db.CreateTransfer(ctx, t); {
	case errors.Is(err, store.ErrSnapshotsBusy):
		return nil, fault.BadRequest("Invalid snapshot: a snapshot of volume %s is not available", v.ID).WithType("InvalidSnapshot")
	case errors.Is(err, store.ErrState):
		return nil, fault.BadRequest("Invalid volume: status must be available").WithType("InvalidVolume")
	case errors.Is(err, store.ErrNotFound):
		return nil, volumeNotFound(v.ID)
	case err != nil:
		return nil, err
	}
	out := a.renderTransfer(r, t, true)
	out.AuthKey = key
	return map[string]any{"transfer": out}, nil
}

func (a *API) deleteTransfer(ctx context.Context, r *rest.Request) (any, error) {
	t, err := a.getTransfer(ctx, r, r.Param("transfer_id"))
	if err != nil {
		return nil, err
	}
	if v, err := a.db.GetVolume(ctx, t.VolumeID); err == nil {
		if err := a.enforceVolume(ctx, r, "volume:delete_transfer", v); err != nil {
			return nil, err
		}
	}
	if err := a.db.DeleteTransfer(ctx, t); errors.Is(err, store.ErrNotFound) {
		return nil, transferNotFound(t.ID)
	} else if err != nil {
		return nil, err
	}
	return nil, nil
}

// acceptTransfer gives the volume to the caller's project, within its
// quotas, if the auth key matches.
func (a *API) acceptTransfer(ctx context.Context, r *rest.Request) (any, error) {
	var body volume.AcceptTransfer
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	if body.Accept == nil || body.Accept.AuthKey == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute accept. 'auth_key' is a required property")
	}
	id := r.Param("transfer_id")
	t, err := a.db.GetTransfer(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, transferNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if !hmac.Equal([]byte(cryptHash(t.Salt, *body.Accept.AuthKey)), []byte(t.CryptHash)) {
		return nil, fault.BadRequest("Invalid auth key: Attempt to transfer %s with invalid auth key.", id).WithType("InvalidAuthKey")
	}
	typeID := "" // the volume's type, for its per-type quotas
	if v, err := a.db.GetVolume(ctx, t.VolumeID); err == nil {
		typeID = v.TypeID
	}
	lim, err := a.limits(ctx, r.Auth.ProjectID, typeID)
	if err != nil {
		return nil, err
	}
	switch err := a.db.AcceptTransfer(ctx, t, r.Auth.ProjectID, r.Auth.UserID, lim); {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		return nil, transferNotFound(id)
	case errors.Is(err, store.ErrState):
		return nil, fault.BadRequest("Invalid volume: the volume is no longer awaiting transfer").WithType("InvalidVolume")
	default:
		var qe *store.QuotaError
		if errors.As(err, &qe) && qe.Resource == "per_volume_gigabytes" {
			return nil, overPerVolume(int(qe.Asked), qe.Limit)
		}
		if f := quotaFault(err); f != nil {
			return nil, f
		}
		return nil, err
	}
	a.log.InfoContext(ctx, "volume transferred", "volume", t.VolumeID, "transfer", t.ID, "from", t.SourceProjectID, "to", r.Auth.ProjectID)
	return map[string]any{"transfer": a.renderTransfer(r, t, false)}, nil
}
