package store

import (
	"context"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// RegisteredLimit is a service's default limit of a resource.
type RegisteredLimit struct {
	ID           string
	ServiceID    string
	RegionID     string
	ResourceName string
	DefaultLimit int64
	Description  string
}

// Limit overrides a registered limit for a project or a domain.
type Limit struct {
	ID            string
	ProjectID     string
	DomainID      string
	ServiceID     string
	RegionID      string
	ResourceName  string
	ResourceLimit int64
	Description   string
}

// RegisteredLimitNotFound is Keystone's 404.
func RegisteredLimitNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find registered limit for %s.", id).WithType("RegisteredLimitNotFound")
}

// LimitNotFound is Keystone's 404.
func LimitNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find limit for %s.", id).WithType("LimitNotFound")
}

const regLimitCols = "id, service_id, region_id, resource_name, default_limit, description"

func scanRegLimit(r pstore.Row) (*RegisteredLimit, error) {
	var x RegisteredLimit
	var desc pstore.NullString
	err := r.Scan(&x.ID, &x.ServiceID, &x.RegionID, &x.ResourceName, &x.DefaultLimit, &desc)
	x.Description = string(desc)
	return &x, err
}

// CreateRegisteredLimit stores a registered limit.
func (s *Store) CreateRegisteredLimit(ctx context.Context, x *RegisteredLimit) error {
	_, err := s.q.Exec(ctx, "INSERT INTO registered_limit ("+regLimitCols+") VALUES (?, ?, ?, ?, ?, ?)",
		x.ID, x.ServiceID, x.RegionID, x.ResourceName, x.DefaultLimit, nullStr(x.Description))
	return conflict(err, "registered_limit", "Duplicate entry for service "+x.ServiceID+", region "+x.RegionID+" and resource "+x.ResourceName)
}

// GetRegisteredLimit returns a registered limit.
func (s *Store) GetRegisteredLimit(ctx context.Context, id string) (*RegisteredLimit, error) {
	x, err := scanRegLimit(s.q.QueryRow(ctx, "SELECT "+regLimitCols+" FROM registered_limit WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, RegisteredLimitNotFound(id))
	}
	return x, nil
}

// ListRegisteredLimits returns every registered limit.
func (s *Store) ListRegisteredLimits(ctx context.Context) ([]*RegisteredLimit, error) {
	return pstore.All(ctx, s.q, scanRegLimit, "SELECT "+regLimitCols+" FROM registered_limit ORDER BY id")
}

// UpdateRegisteredLimit writes a registered limit.
func (s *Store) UpdateRegisteredLimit(ctx context.Context, x *RegisteredLimit) error {
	n, err := exec(ctx, s.q, "UPDATE registered_limit SET service_id = ?, region_id = ?, resource_name = ?, default_limit = ?, description = ? WHERE id = ?",
		x.ServiceID, x.RegionID, x.ResourceName, x.DefaultLimit, nullStr(x.Description), x.ID)
	if err != nil {
		return conflict(err, "registered_limit", "Duplicate entry for service "+x.ServiceID+", region "+x.RegionID+" and resource "+x.ResourceName)
	}
	if n == 0 {
		return RegisteredLimitNotFound(x.ID)
	}
	return nil
}

// DeleteRegisteredLimit removes a registered limit.
func (s *Store) DeleteRegisteredLimit(ctx context.Context, id string) error {
	n, err := exec(ctx, s.q, "DELETE FROM registered_limit WHERE id = ?", id)
	if err == nil && n == 0 {
		return RegisteredLimitNotFound(id)
	}
	return err
}

const limitCols = "id, project_id, domain_id, service_id, region_id, resource_name, resource_limit, description"

func scanLimit(r pstore.Row) (*Limit, error) {
	var x Limit
	var desc pstore.NullString
	err := r.Scan(&x.ID, &x.ProjectID, &x.DomainID, &x.ServiceID, &x.RegionID, &x.ResourceName, &x.ResourceLimit, &desc)
	x.Description = string(desc)
	return &x, err
}

// CreateLimit stores a limit.
func (s *Store) CreateLimit(ctx context.Context, x *Limit) error {
	_, err := s.q.Exec(ctx, "INSERT INTO project_limit ("+limitCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		x.ID, x.ProjectID, x.DomainID, x.ServiceID, x.RegionID, x.ResourceName, x.ResourceLimit, nullStr(x.Description))
	return conflict(err, "limit", "Duplicate entry for resource "+x.ResourceName)
}

// GetLimit returns a limit.
func (s *Store) GetLimit(ctx context.Context, id string) (*Limit, error) {
	x, err := scanLimit(s.q.QueryRow(ctx, "SELECT "+limitCols+" FROM project_limit WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, LimitNotFound(id))
	}
	return x, nil
}

// ListLimits returns every limit.
func (s *Store) ListLimits(ctx context.Context) ([]*Limit, error) {
	return pstore.All(ctx, s.q, scanLimit, "SELECT "+limitCols+" FROM project_limit ORDER BY id")
}

// UpdateLimit writes a limit's value and description.
func (s *Store) UpdateLimit(ctx context.Context, x *Limit) error {
	n, err := exec(ctx, s.q, "UPDATE project_limit SET resource_limit = ?, description = ? WHERE id = ?", x.ResourceLimit, nullStr(x.Description), x.ID)
	if err == nil && n == 0 {
		return LimitNotFound(x.ID)
	}
	return err
}

// DeleteLimit removes a limit.
func (s *Store) DeleteLimit(ctx context.Context, id string) error {
	n, err := exec(ctx, s.q, "DELETE FROM project_limit WHERE id = ?", id)
	if err == nil && n == 0 {
		return LimitNotFound(id)
	}
	return err
}

// DeleteLimitsOf removes the limits of a project or domain.
func (s *Store) DeleteLimitsOf(ctx context.Context, id string) error {
	_, err := s.q.Exec(ctx, "DELETE FROM project_limit WHERE project_id = ? OR domain_id = ?", id, id)
	return err
}
