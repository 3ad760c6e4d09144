// Package rpc is the block storage service's bus protocol:
//
//	cinder-api ──cast create_volume──▶ volume.scheduler (queue "scheduler")
//	scheduler  ──cast create_volume──▶ volume.<host@backend>
//	cinder-api ──cast delete_volume / create_snapshot / delete_snapshot──▶ volume.<host@backend>
//	volume service ──call volume_update / volume_destroyed / snapshot_update / snapshot_destroyed / volumes_on_host / service_report──▶ volume.manager (queue "manager")
//
// Volume services never open the database: they report to the manager
// (run beside cinder-api), so a volume service on another host needs only
// the bus.
//
// rpc imports api/volume, platform/bus and volume/backend.
package rpc
