package agent

import (
	"context"
	"encoding/json"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

func (a *Agent) handlePrepResize(ctx context.Context, raw json.RawMessage) (any, error) {
	return nil, fault.NotImplemented("prep_resize is not implemented yet")
}

func (a *Agent) handleResizeInstance(ctx context.Context, raw json.RawMessage) (any, error) {
	return nil, fault.NotImplemented("resize_instance is not implemented yet")
}

func (a *Agent) handleFinishResize(ctx context.Context, raw json.RawMessage) (any, error) {
	return nil, fault.NotImplemented("finish_resize is not implemented yet")
}

func (a *Agent) handleConfirmResize(ctx context.Context, raw json.RawMessage) (any, error) {
	return nil, fault.NotImplemented("confirm_resize is not implemented yet")
}

func (a *Agent) handleRevertResize(ctx context.Context, raw json.RawMessage) (any, error) {
	return nil, fault.NotImplemented("revert_resize is not implemented yet")
}

func (a *Agent) handleFinishRevertResize(ctx context.Context, raw json.RawMessage) (any, error) {
	return nil, fault.NotImplemented("finish_revert_resize is not implemented yet")
}

func (a *Agent) handleLiveMigration(ctx context.Context, raw json.RawMessage) (any, error) {
	return nil, fault.NotImplemented("live_migration is not implemented yet")
}

func (a *Agent) handlePreLiveMigration(ctx context.Context, raw json.RawMessage) (any, error) {
	return nil, fault.NotImplemented("pre_live_migration is not implemented yet")
}

func (a *Agent) handlePostLiveMigrationDest(ctx context.Context, raw json.RawMessage) (any, error) {
	return nil, fault.NotImplemented("post_live_migration_at_destination is not implemented yet")
}
