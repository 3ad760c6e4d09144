package rpc

// Attach methods: cinder-api calls the volume service that keeps a volume
// for the connection a host opens (initialize_connection) and tells it
// when the host is done (terminate_connection).
const (
	InitializeConnection = "initialize_connection"
	TerminateConnection  = "terminate_connection"
)

// ConnectionArgs name a volume and the attaching host's connector.
type ConnectionArgs struct {
	VolumeID  string         `json:"volume_id"`
	Connector map[string]any `json:"connector"`
}
