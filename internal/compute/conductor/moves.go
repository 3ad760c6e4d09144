package conductor

import (
	"context"
	"encoding/json"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

func (c *Conductor) migrateServer(ctx context.Context, raw json.RawMessage) (any, error) {
	return nil, fault.NotImplemented("migrate_server is not implemented yet")
}

func (c *Conductor) liveMigrate(ctx context.Context, raw json.RawMessage) (any, error) {
	return nil, fault.NotImplemented("live_migrate_instance is not implemented yet")
}

func (c *Conductor) evacuate(ctx context.Context, raw json.RawMessage) (any, error) {
	return nil, fault.NotImplemented("evacuate_instance is not implemented yet")
}

func (c *Conductor) unshelve(ctx context.Context, raw json.RawMessage) (any, error) {
	return nil, fault.NotImplemented("unshelve_instance is not implemented yet")
}
