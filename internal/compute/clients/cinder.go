package clients

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// CinderVolumes is Volumes over Cinder's v3 API (block-storage in the
// catalog), with the caller's token or the service user's (AsService).
type CinderVolumes struct{ S *Session }

var _ Volumes = (*CinderVolumes)(nil)

func volumeNotFound(id string) *fault.Error {
	return fault.NotFound("Volume %s could not be found.", id).WithType("VolumeNotFound")
}

// withProject replaces the project id ending a Cinder endpoint
// (".../v3/<project>/") with another project's.
func withProject(ep, projectID string) string {
	u := strings.TrimSuffix(ep, "/")
	i := strings.LastIndex(u, "/")
	if i < 0 || strings.HasSuffix(u[:i], "//") || u[i+1:] == "v3" {
		return ep
	}
	return u[:i+1] + projectID + "/"
}

// Get returns a volume.
func (c *CinderVolumes) Get(ctx context.Context, id string) (*volume.Volume, error) {
	sc, err := c.S.client(ctx, "block-storage")
	if err != nil {
		return nil, err
	}
	var body struct {
		Volume volume.Volume `json:"volume"`
	}
	_, err = sc.Get(ctx, sc.ResourceBase+"volumes/"+url.PathEscape(id), &body, nil)
	if err != nil {
		return nil, mapErr(err, volumeNotFound(id))
	}
	return &body.Volume, nil
}

// action posts one volume action; out, when set, receives a 200's body.
func (c *CinderVolumes) action(ctx context.Context, id, name string, arg, out any) error {
	sc, err := c.S.client(ctx, "block-storage")
	if err != nil {
		return err
	}
	if arg == nil {
		arg = map[string]any{}
	}
	opts := &gophercloud.RequestOpts{OkCodes: []int{200, 202}}
	_, err = sc.Post(ctx, sc.ResourceBase+"volumes/"+url.PathEscape(id)+"/action", map[string]any{name: arg}, out, opts)
	return mapErr(err, volumeNotFound(id))
}

// Reserve moves an available volume to attaching.
func (c *CinderVolumes) Reserve(ctx context.Context, id string) error {
	return c.action(ctx, id, "os-reserve", nil, nil)
}

// Unreserve undoes Reserve.
func (c *CinderVolumes) Unreserve(ctx context.Context, id string) error {
	return c.action(ctx, id, "os-unreserve", nil, nil)
}

// InitializeConnection returns the volume's connection_info for a host.
func (c *CinderVolumes) InitializeConnection(ctx context.Context, id string, connector map[string]any) (*Connection, error) {
	var body struct {
		ConnectionInfo Connection `json:"connection_info"`
	}
	if err := c.action(ctx, id, "os-initialize_connection", map[string]any{"connector": connector}, &body); err != nil {
		return nil, err
	}
	return &body.ConnectionInfo, nil
}

// TerminateConnection releases a host's connection.
func (c *CinderVolumes) TerminateConnection(ctx context.Context, id string, connector map[string]any) error {
	return c.action(ctx, id, "os-terminate_connection", map[string]any{"connector": connector}, nil)
}

// Attach records an attachment to an instance.
func (c *CinderVolumes) Attach(ctx context.Context, id, instanceUUID, mountpoint string) error {
	return c.action(ctx, id, "os-attach", map[string]any{"instance_uuid": instanceUUID, "mountpoint": mountpoint, "mode": "rw"}, nil)
}

// BeginDetaching moves an in-use volume to detaching.
func (c *CinderVolumes) BeginDetaching(ctx context.Context, id string) error {
	return c.action(ctx, id, "os-begin_detaching", nil, nil)
}

// RollDetaching undoes BeginDetaching.
func (c *CinderVolumes) RollDetaching(ctx context.Context, id string) error {
	return c.action(ctx, id, "os-roll_detaching", nil, nil)
}

// MigrateVolumeCompletion tells Cinder a guest's disk moved from volume
// id to newID (a swap); failed says the copy did not happen. It returns the
// volume id the block device mapping keeps.
func (c *CinderVolumes) MigrateVolumeCompletion(ctx context.Context, id, newID string, failed bool) (string, error) {
	var body struct {
		SaveVolumeID string `json:"save_volume_id"`
	}
	if err := c.action(ctx, id, "os-migrate_volume_completion", map[string]any{"new_volume": newID, "error": failed}, &body); err != nil {
		return "", err
	}
	if body.SaveVolumeID == "" {
		return "", fmt.Errorf("os-migrate_volume_completion of volume %s answered no save_volume_id", id)
	}
	return body.SaveVolumeID, nil
}

// Detach removes an attachment.
func (c *CinderVolumes) Detach(ctx context.Context, id, attachmentID string) error {
	arg := map[string]any{}
	if attachmentID != "" {
		arg["attachment_id"] = attachmentID
	}
	return c.action(ctx, id, "os-detach", arg, nil)
}

// Delete deletes a volume; a missing one is not an error.
func (c *CinderVolumes) Delete(ctx context.Context, id string) error {
	sc, err := c.S.client(ctx, "block-storage")
	if err != nil {
		return err
	}
	_, err = sc.Delete(ctx, sc.ResourceBase+"volumes/"+url.PathEscape(id), &gophercloud.RequestOpts{OkCodes: []int{202}})
	if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return nil
	}
	return mapErr(err, nil)
}

// Create asks Cinder for a new volume.
func (c *CinderVolumes) Create(ctx context.Context, v VolumeCreate) (*volume.Volume, error) {
	sc, err := c.S.client(ctx, "block-storage")
	if err != nil {
		return nil, err
	}
	var body struct {
		Volume volume.Volume `json:"volume"`
	}
	_, err = sc.Post(ctx, sc.ResourceBase+"volumes", map[string]any{"volume": v}, &body, &gophercloud.RequestOpts{OkCodes: []int{202}})
	if err != nil {
		return nil, mapErr(err, nil)
	}
	return &body.Volume, nil
}
