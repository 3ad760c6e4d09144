// Package scheduler is cinder-scheduler: it places a new volume on a
// backend. Hosts are the volume services' last reports (up within
// service_down_time, not disabled); the filters are Cinder's defaults
// (AvailabilityZoneFilter, CapacityFilter, CapabilitiesFilter against the
// volume type's extra specs) and the weigher is the CapacityWeigher (most
// free space first). Select is pure; Serve claims the chosen host with a
// compare-and-swap on the volume and casts the work to its volume service.
// A copy of a snapshot or volume may go only to its source's pool.
//
// Free capacity is the reported total minus the sizes of every volume
// placed on the host (including ones still being created), so volumes in
// flight are counted; placements are serialised within a scheduler
// process. Two scheduler processes could still race for the last space of
// a backend, which then refuses the volume (it goes to error).
//
// scheduler imports api/volume, volume/{store,rpc,backend} and
// platform/bus.
package scheduler
