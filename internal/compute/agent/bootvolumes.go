package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Volumes a server is built with (Nova's block_device_mapping step with
// Cinder): a mapping to a volume that names none (source image, snapshot
// or blank) has its volume created and waited for; then every volume
// mapping is reserved, connected to this host and attached, as an attach
// is. The root volume is the guest's first disk (/dev/vda, boot index 0).
//
// Later spawns of the same server (reboot, rebuild, unshelve) connect the
// root volume again here; the other volumes go back through
// reconnectVolumes.

// connectBuildVolumes adds a server's volumes to its spec: all of them
// while it is built, only the root volume afterwards. rootDev is the
// device the root takes; next names the devices of the others.
func (a *Agent) connectBuildVolumes(ctx context.Context, inst *objects.Instance, spec *virt.Spec, rootDev string, next func() string) error {
	building := inst.VMState == states.Building
	rs := inst.RequestSpec
	if rs == nil || !building && !rs.BootFromVolume || building && !slices.ContainsFunc(rs.BlockDevices, func(b objects.BDM) bool { return b.IsVolume() }) {
		return nil // no volume mapping: no call to the conductor
	}
	bdms, err := a.cond.BDMs(ctx, inst.UUID)
	if err != nil {
		return fmt.Errorf("block device mappings: %w", err)
	}
	for _, b := range bdms {
		if !b.IsVolume() || !building && !b.IsRoot() {
			continue
		}
		if a.vols == nil {
			return fault.BadRequest("Block Device Mapping is Invalid: this host has no block storage service for volume mappings.")
		}
		disk, err := a.connectBuildVolume(ctx, inst, b, rootDev, next, building)
		if err != nil {
			return err
		}
		if b.IsRoot() {
			spec.Disks = append([]virt.Disk{disk}, spec.Disks...)
		} else {
			spec.Disks = append(spec.Disks, disk)
		}
	}
	return nil
}

// connectBuildVolume creates (when the mapping names no volume yet),
// attaches and connects one volume mapping, and records what it did in the
// mapping.
func (a *Agent) connectBuildVolume(ctx context.Context, inst *objects.Instance, b objects.BDM, rootDev string, next func() string, building bool) (virt.Disk, error) {
	sctx := clients.AsService(ctx)
	if b.VolumeID == "" {
		id, err := a.createBuildVolume(ctx, inst, b)
		if err != nil {
			return virt.Disk{}, err
		}
		b.VolumeID = id
		if err := a.cond.UpdateBDM(ctx, b); err != nil {
			return virt.Disk{}, fmt.Errorf("volume %s: recording it: %w", id, err)
		}
	}
	dev := b.DeviceName
	switch {
	case b.IsRoot():
		dev = rootDev
	case dev == "":
		dev = next()
	}
	// A build that was rescheduled here, or a later spawn, finds the
	// volume attached to this server already.
	v, err := a.vols.Get(sctx, b.VolumeID)
	if err != nil {
		return virt.Disk{}, fmt.Errorf("volume %s: %w", b.VolumeID, err)
	}
	attached := attachedTo(v, inst.UUID)
	if !attached && !building {
		return virt.Disk{}, fmt.Errorf("volume %s is %s, not attached to server %s", v.ID, v.Status, inst.UUID)
	}
	if !attached {
		if err := a.vols.Reserve(sctx, b.VolumeID); err != nil {
			return virt.Disk{}, fmt.Errorf("volume %s: %w", b.VolumeID, err)
		}
	}
	conn, err := a.vols.InitializeConnection(sctx, b.VolumeID, a.connector())
	if err != nil {
		if !attached {
			a.note(ctx, "unreserving volume", inst.UUID, a.vols.Unreserve(sctx, b.VolumeID), "volume_id", b.VolumeID)
		}
		return virt.Disk{}, fmt.Errorf("volume %s: %w", b.VolumeID, err)
	}
	if !attached {
		if err := a.vols.Attach(sctx, b.VolumeID, inst.UUID, dev); err != nil {
			a.note(ctx, "terminating volume connection", inst.UUID, a.vols.TerminateConnection(sctx, b.VolumeID, a.connector()), "volume_id", b.VolumeID)
			a.note(ctx, "unreserving volume", inst.UUID, a.vols.Unreserve(sctx, b.VolumeID), "volume_id", b.VolumeID)
			return virt.Disk{}, fmt.Errorf("volume %s: %w", b.VolumeID, err)
		}
	}
	raw, _ := json.Marshal(conn)
	if dev != b.DeviceName || string(raw) != b.ConnectionInfo {
		b.DeviceName, b.ConnectionInfo = dev, string(raw)
		if err := a.cond.UpdateBDM(ctx, b); err != nil {
			return virt.Disk{}, fmt.Errorf("volume %s: recording its connection: %w", b.VolumeID, err)
		}
	}
	disk := volumeDisk(b.VolumeID, dev, conn)
	disk.BootIndex = -1
	if b.IsRoot() {
		disk.BootIndex = 0
	}
	return disk, nil
}

// attachedTo reports whether a volume is attached to a server.
func attachedTo(v *volume.Volume, server string) bool {
	for _, at := range v.Attachments {
		if at.ServerID != nil && *at.ServerID == server {
			return true
		}
	}
	return false
}

// createBuildVolume asks Cinder for a mapping's volume and waits until it
// is available ([DEFAULT] block_device_allocate_retries times
// block_device_allocate_retries_interval at the most).
func (a *Agent) createBuildVolume(ctx context.Context, inst *objects.Instance, b objects.BDM) (string, error) {
	sctx := clients.AsService(ctx)
	req := clients.VolumeCreate{ImageRef: b.ImageID, SnapshotID: b.SnapshotID, VolumeType: b.VolumeType}
	if b.VolumeSize != nil {
		req.Size = *b.VolumeSize
	}
	if b.SourceType == "blank" {
		req.Name = inst.UUID + "-blank-vol"
	}
	// The volume is the server's project's: made with the user's token the
	// build carries (the session falls back to the service user's only
	// when there is none), so that Cinder counts it in the user's quota.
	v, err := a.vols.Create(ctx, req)
	if err != nil {
		return "", fmt.Errorf("creating a volume for the block device mapping of %s: %w", inst.UUID, err)
	}
	retries, every := a.cfg.Default.BlockDeviceAllocateRetries, a.cfg.Default.BlockDeviceAllocateRetriesInterval
	for attempt := 0; ; attempt++ {
		switch v.Status {
		case volume.StatusAvailable:
			return v.ID, nil
		case volume.StatusError, volume.StatusErrorRestoring, volume.StatusErrorExtend:
			return "", fmt.Errorf("volume %s did not finish being created: its status is %s", v.ID, v.Status)
		}
		if attempt >= retries {
			return "", fmt.Errorf("volume %s did not finish being created after %d checks %s apart: its status is %s", v.ID, retries, every, v.Status)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(min(every, time.Second<<min(attempt, 2))):
		}
		id := v.ID
		if v, err = a.vols.Get(sctx, id); err != nil {
			return "", fmt.Errorf("volume %s: %w", id, err)
		}
	}
}
