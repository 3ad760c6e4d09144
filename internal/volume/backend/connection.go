package backend

import "context"

// Connection is how a host reaches a volume: Cinder's connection_info,
// {"driver_volume_type": ..., "data": {...}}.
type Connection struct {
	DriverVolumeType string         `json:"driver_volume_type"`
	Data             map[string]any `json:"data"`
}

// Exporter is the optional part of a Driver that lets hosts attach its
// volumes: Cinder's initialize_connection and terminate_connection.
// connector is the attaching host's properties (os-brick's connector:
// host, ip, initiator, ...). Both are idempotent.
type Exporter interface {
	InitializeConnection(ctx context.Context, id string, connector map[string]any) (Connection, error)
	TerminateConnection(ctx context.Context, id string, connector map[string]any) error
}
