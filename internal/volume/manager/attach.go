package manager

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/volume/backend"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
)

// attachHandlers serve the connection calls when the driver can export
// volumes; a driver that cannot answers that attaching is not supported.
func (m *Manager) attachHandlers() map[string]bus.Handler {
	exp, ok := m.drv.(backend.Exporter)
	return map[string]bus.Handler{
		rpc.InitializeConnection: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.ConnectionArgs](raw)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("volume backend %s cannot attach volumes", m.drv.Name())
			}
			return exp.InitializeConnection(ctx, args.VolumeID, args.Connector)
		},
		rpc.TerminateConnection: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.ConnectionArgs](raw)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, nil
			}
			return nil, exp.TerminateConnection(ctx, args.VolumeID, args.Connector)
		},
	}
}
