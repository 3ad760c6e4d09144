package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Block device mappings of instances.

// insertBDM stores a block device mapping.
func insertBDM(ctx context.Context, q store.Querier, b *objects.BDM, now time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO block_device_mapping (uuid, instance_uuid, source_type, destination_type, device_name,
		boot_index, volume_id, image_id, snapshot_id, volume_size, volume_type, delete_on_termination, disk_bus, device_type,
		guest_format, tag, attachment_id, connection_info, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.UUID, b.InstanceUUID, b.SourceType, b.DestinationType, b.DeviceName, b.BootIndex, b.VolumeID, b.ImageID,
		b.SnapshotID, b.VolumeSize, b.VolumeType, b.DeleteOnTermination, b.DiskBus, b.DeviceType, b.GuestFormat, b.Tag,
		b.AttachmentID, b.ConnectionInfo, store.TimeOf(now))
	return wrap("insert block device mapping", err)
}

// BDMs lists the block device mappings of instances.
func (s *Store) BDMs(ctx context.Context, uuids []string) (map[string][]objects.BDM, error) {
	out := map[string][]objects.BDM{}
	err := eachIn(ctx, s.db, uuids, func(in string) string {
		return `SELECT uuid, instance_uuid, source_type, destination_type, device_name, boot_index,
			volume_id, image_id, snapshot_id, volume_size, volume_type, delete_on_termination, disk_bus, device_type,
			guest_format, tag, attachment_id, connection_info FROM block_device_mapping WHERE instance_uuid IN ` + in + ` ORDER BY id`
	}, func(r store.Row) error {
		var b objects.BDM
		var boot, size sql.NullInt64
		var conn sql.NullString
		if err := r.Scan(&b.UUID, &b.InstanceUUID, &b.SourceType, &b.DestinationType, &b.DeviceName, &boot,
			&b.VolumeID, &b.ImageID, &b.SnapshotID, &size, &b.VolumeType, &b.DeleteOnTermination, &b.DiskBus,
			&b.DeviceType, &b.GuestFormat, &b.Tag, &b.AttachmentID, &conn); err != nil {
			return err
		}
		if boot.Valid {
			v := int(boot.Int64)
			b.BootIndex = &v
		}
		if size.Valid {
			v := int(size.Int64)
			b.VolumeSize = &v
		}
		b.ConnectionInfo = conn.String
		out[b.InstanceUUID] = append(out[b.InstanceUUID], b)
		return nil
	})
	if err != nil {
		return nil, wrap("list block device mappings", err)
	}
	return out, nil
}

// AddBDM stores a new block device mapping.
func (s *Store) AddBDM(ctx context.Context, b *objects.BDM) error {
	return insertBDM(ctx, s.db, b, s.now())
}

// UpdateBDMConnection records where a mapped volume is attached now: its
// device name and connection info (an agent that connected it again, on
// unshelve, rebuild or a move). A mapping that is gone is not an error: its
// volume was detached meanwhile.
func (s *Store) UpdateBDMConnection(ctx context.Context, uuid, device, connectionInfo string) error {
	_, err := s.db.Exec(ctx, "UPDATE block_device_mapping SET device_name = ?, connection_info = ? WHERE uuid = ?", device, connectionInfo, uuid)
	return wrap("update block device mapping", err)
}

// UpdateBDMAttachment records a mapping's Cinder attachment and the size
// of its volume (a swap to another volume changes both).
func (s *Store) UpdateBDMAttachment(ctx context.Context, uuid, attachmentID string, volumeSize *int) error {
	_, err := s.db.Exec(ctx, "UPDATE block_device_mapping SET attachment_id = ?, volume_size = ? WHERE uuid = ?", attachmentID, volumeSize, uuid)
	return wrap("update block device mapping", err)
}

// SetBDMVolume records the volume a mapping that named none is now (the
// one a build created).
func (s *Store) SetBDMVolume(ctx context.Context, uuid, volumeID string) error {
	_, err := s.db.Exec(ctx, "UPDATE block_device_mapping SET volume_id = ? WHERE uuid = ?", volumeID, uuid)
	return wrap("update block device mapping", err)
}

// DeleteBDM removes a block device mapping.
func (s *Store) DeleteBDM(ctx context.Context, uuid string) error {
	_, err := s.db.Exec(ctx, "DELETE FROM block_device_mapping WHERE uuid = ?", uuid)
	return err
}
