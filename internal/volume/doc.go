// Package volume is tenku's block storage service, Cinder: the Block
// Storage API v3 on port 8776 (internal/volume/api) with the scheduler
// (internal/volume/scheduler) in the same process, and per backend a
// volume service (internal/volume/manager) that keeps the volumes on a
// backend driver (internal/volume/backend/...), talking over the bus
// (internal/volume/rpc). Records live in the service's own database
// (internal/volume/store).
//
// The assembly uses DefaultConfig (cinder.conf's options), Migrations,
// New (cinder-api and cinder-scheduler: an http.Handler and a
// service.Service) and NewVolumeService (cinder-volume, given the driver
// the assembly picked).
//
// volume imports its subpackages (not the concrete drivers) and
// platform/{service,logging}.
package volume
