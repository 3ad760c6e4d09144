package store

import (
	"context"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// Region is a catalog region.
type Region struct {
	ID             string
	Description    string
	ParentRegionID string
	Extra          Extra
}

// RegionNotFound is Keystone's 404 for a region.
func RegionNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find region: %s.", id).WithType("RegionNotFound")
}

func scanRegion(r pstore.Row) (*Region, error) {
	var x Region
	var desc, parent pstore.NullString
	var extra pstore.JSON[map[string]any]
	err := r.Scan(&x.ID, &desc, &parent, &extra)
	x.Description, x.ParentRegionID, x.Extra = string(desc), string(parent), extraOf(extra)
	return &x, err
}

// CreateRegion stores a region.
func (s *Store) CreateRegion(ctx context.Context, x *Region) error {
	_, err := s.q.Exec(ctx, "INSERT INTO region (id, description, parent_region_id, extra) VALUES (?, ?, ?, ?)",
		x.ID, nullStr(x.Description), nullStr(x.ParentRegionID), pstore.JSONOf(x.Extra))
	return conflict(err, "region", "Duplicate ID, "+x.ID)
}

// GetRegion returns a region.
func (s *Store) GetRegion(ctx context.Context, id string) (*Region, error) {
	x, err := scanRegion(s.q.QueryRow(ctx, "SELECT id, description, parent_region_id, extra FROM region WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, RegionNotFound(id))
	}
	return x, nil
}

// ListRegions returns every region.
func (s *Store) ListRegions(ctx context.Context) ([]*Region, error) {
	return pstore.All(ctx, s.q, scanRegion,
		"SELECT id, description, parent_region_id, extra FROM region ORDER BY id")
}

// UpdateRegion writes a region's mutable fields.
func (s *Store) UpdateRegion(ctx context.Context, x *Region) error {
	n, err := exec(ctx, s.q, "UPDATE region SET description = ?, parent_region_id = ?, extra = ? WHERE id = ?",
		nullStr(x.Description), nullStr(x.ParentRegionID), pstore.JSONOf(x.Extra), x.ID)
	if err == nil && n == 0 {
		return RegionNotFound(x.ID)
	}
	return err
}

// DeleteRegion removes a region.
func (s *Store) DeleteRegion(ctx context.Context, id string) error {
	n, err := exec(ctx, s.q, "DELETE FROM region WHERE id = ?", id)
	if err == nil && n == 0 {
		return RegionNotFound(id)
	}
	return err
}

// Service is a catalog service.
type Service struct {
	ID          string
	Type        string
	Name        string
	Description string
	Enabled     bool
	Extra       Extra
}

// ServiceNotFound is Keystone's 404 for a service.
func ServiceNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find service: %s.", id).WithType("ServiceNotFound")
}

func scanService(r pstore.Row) (*Service, error) {
	var x Service
	var name, desc pstore.NullString
	var extra pstore.JSON[map[string]any]
	err := r.Scan(&x.ID, &x.Type, &name, &desc, &x.Enabled, &extra)
	x.Name, x.Description, x.Extra = string(name), string(desc), extraOf(extra)
	return &x, err
}

const serviceCols = "id, type, name, description, enabled, extra"

// CreateService stores a service.
func (s *Store) CreateService(ctx context.Context, x *Service) error {
	_, err := s.q.Exec(ctx, "INSERT INTO service ("+serviceCols+") VALUES (?, ?, ?, ?, ?, ?)",
		x.ID, x.Type, nullStr(x.Name), nullStr(x.Description), x.Enabled, pstore.JSONOf(x.Extra))
	return conflict(err, "service", "Duplicate ID, "+x.ID)
}

// GetService returns a service.
func (s *Store) GetService(ctx context.Context, id string) (*Service, error) {
	x, err := scanService(s.q.QueryRow(ctx, "SELECT "+serviceCols+" FROM service WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, ServiceNotFound(id))
	}
	return x, nil
}

// ListServices returns every service.
func (s *Store) ListServices(ctx context.Context) ([]*Service, error) {
	return pstore.All(ctx, s.q, scanService, "SELECT "+serviceCols+" FROM service ORDER BY id")
}

// UpdateService writes a service's mutable fields.
func (s *Store) UpdateService(ctx context.Context, x *Service) error {
	n, err := exec(ctx, s.q, "UPDATE service SET type = ?, name = ?, description = ?, enabled = ?, extra = ? WHERE id = ?",
		x.Type, nullStr(x.Name), nullStr(x.Description), x.Enabled, pstore.JSONOf(x.Extra), x.ID)
	if err == nil && n == 0 {
		return ServiceNotFound(x.ID)
	}
	return err
}

// DeleteService removes a service and its endpoints.
func (s *Store) DeleteService(ctx context.Context, id string) error {
	if _, err := s.q.Exec(ctx, "DELETE FROM project_endpoint WHERE endpoint_id IN (SELECT id FROM endpoint WHERE service_id = ?)", id); err != nil {
		return err
	}
	if _, err := s.q.Exec(ctx, "DELETE FROM endpoint WHERE service_id = ?", id); err != nil {
		return err
	}
	n, err := exec(ctx, s.q, "DELETE FROM service WHERE id = ?", id)
	if err == nil && n == 0 {
		return ServiceNotFound(id)
	}
	return err
}

// Endpoint is one URL of a service.
type Endpoint struct {
	ID        string
	ServiceID string
	Interface string
	RegionID  string
	URL       string
	Enabled   bool
	Extra     Extra
}

// EndpointNotFound is Keystone's 404 for an endpoint.
func EndpointNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find endpoint: %s.", id).WithType("EndpointNotFound")
}

const endpointCols = "id, service_id, interface, region_id, url, enabled, extra"

func scanEndpoint(r pstore.Row) (*Endpoint, error) {
	var x Endpoint
	var region pstore.NullString
	var extra pstore.JSON[map[string]any]
	err := r.Scan(&x.ID, &x.ServiceID, &x.Interface, &region, &x.URL, &x.Enabled, &extra)
	x.RegionID, x.Extra = string(region), extraOf(extra)
	return &x, err
}

// CreateEndpoint stores an endpoint.
func (s *Store) CreateEndpoint(ctx context.Context, x *Endpoint) error {
	_, err := s.q.Exec(ctx, "INSERT INTO endpoint ("+endpointCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		x.ID, x.ServiceID, x.Interface, nullStr(x.RegionID), x.URL, x.Enabled, pstore.JSONOf(x.Extra))
	return conflict(err, "endpoint", "Duplicate ID, "+x.ID)
}

// GetEndpoint returns an endpoint.
func (s *Store) GetEndpoint(ctx context.Context, id string) (*Endpoint, error) {
	x, err := scanEndpoint(s.q.QueryRow(ctx, "SELECT "+endpointCols+" FROM endpoint WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, EndpointNotFound(id))
	}
	return x, nil
}

// ListEndpoints returns every endpoint.
func (s *Store) ListEndpoints(ctx context.Context) ([]*Endpoint, error) {
	return pstore.All(ctx, s.q, scanEndpoint, "SELECT "+endpointCols+" FROM endpoint ORDER BY id")
}

// UpdateEndpoint writes an endpoint's mutable fields.
func (s *Store) UpdateEndpoint(ctx context.Context, x *Endpoint) error {
	n, err := exec(ctx, s.q, "UPDATE endpoint SET service_id = ?, interface = ?, region_id = ?, url = ?, enabled = ?, extra = ? WHERE id = ?",
		x.ServiceID, x.Interface, nullStr(x.RegionID), x.URL, x.Enabled, pstore.JSONOf(x.Extra), x.ID)
	if err == nil && n == 0 {
		return EndpointNotFound(x.ID)
	}
	return err
}

// DeleteEndpoint removes an endpoint.
func (s *Store) DeleteEndpoint(ctx context.Context, id string) error {
	if _, err := s.q.Exec(ctx, "DELETE FROM project_endpoint WHERE endpoint_id = ?", id); err != nil {
		return err
	}
	n, err := exec(ctx, s.q, "DELETE FROM endpoint WHERE id = ?", id)
	if err == nil && n == 0 {
		return EndpointNotFound(id)
	}
	return err
}

// EndpointGroup is a saved endpoint filter (OS-EP-FILTER).
type EndpointGroup struct {
	ID          string
	Name        string
	Description string
	Filters     map[string]any
}

// EndpointGroupNotFound is Keystone's 404 for an endpoint group.
func EndpointGroupNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find endpoint group: %s.", id).WithType("EndpointGroupNotFound")
}

func scanEndpointGroup(r pstore.Row) (*EndpointGroup, error) {
	var x EndpointGroup
	var desc pstore.NullString
	var f pstore.JSON[map[string]any]
	err := r.Scan(&x.ID, &x.Name, &desc, &f)
	x.Description, x.Filters = string(desc), extraOf(f)
	return &x, err
}

// CreateEndpointGroup stores an endpoint group.
func (s *Store) CreateEndpointGroup(ctx context.Context, x *EndpointGroup) error {
	_, err := s.q.Exec(ctx, "INSERT INTO endpoint_group (id, name, description, filters) VALUES (?, ?, ?, ?)",
		x.ID, x.Name, nullStr(x.Description), pstore.JSONOf(x.Filters))
	return conflict(err, "endpoint group", "Duplicate ID, "+x.ID)
}

// GetEndpointGroup returns an endpoint group.
func (s *Store) GetEndpointGroup(ctx context.Context, id string) (*EndpointGroup, error) {
	x, err := scanEndpointGroup(s.q.QueryRow(ctx, "SELECT id, name, description, filters FROM endpoint_group WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, EndpointGroupNotFound(id))
	}
	return x, nil
}

// ListEndpointGroups returns every endpoint group.
func (s *Store) ListEndpointGroups(ctx context.Context) ([]*EndpointGroup, error) {
	return pstore.All(ctx, s.q, scanEndpointGroup,
		"SELECT id, name, description, filters FROM endpoint_group ORDER BY id")
}

// UpdateEndpointGroup writes an endpoint group.
func (s *Store) UpdateEndpointGroup(ctx context.Context, x *EndpointGroup) error {
	n, err := exec(ctx, s.q, "UPDATE endpoint_group SET name = ?, description = ?, filters = ? WHERE id = ?",
		x.Name, nullStr(x.Description), pstore.JSONOf(x.Filters), x.ID)
	if err == nil && n == 0 {
		return EndpointGroupNotFound(x.ID)
	}
	return err
}

// DeleteEndpointGroup removes an endpoint group and its project associations.
func (s *Store) DeleteEndpointGroup(ctx context.Context, id string) error {
	if _, err := s.q.Exec(ctx, "DELETE FROM project_endpoint_group WHERE endpoint_group_id = ?", id); err != nil {
		return err
	}
	n, err := exec(ctx, s.q, "DELETE FROM endpoint_group WHERE id = ?", id)
	if err == nil && n == 0 {
		return EndpointGroupNotFound(id)
	}
	return err
}

// ProjectEndpoint associates an endpoint with a project.
type ProjectEndpoint struct{ EndpointID, ProjectID string }

// AddProjectEndpoint associates an endpoint with a project (idempotent).
func (s *Store) AddProjectEndpoint(ctx context.Context, x ProjectEndpoint) error {
	_, err := s.q.Exec(ctx, s.db.InsertIgnore("project_endpoint", []string{"endpoint_id", "project_id"}), x.EndpointID, x.ProjectID)
	return err
}

// RemoveProjectEndpoint removes an association; false when there was none.
func (s *Store) RemoveProjectEndpoint(ctx context.Context, x ProjectEndpoint) (bool, error) {
	n, err := exec(ctx, s.q, "DELETE FROM project_endpoint WHERE endpoint_id = ? AND project_id = ?", x.EndpointID, x.ProjectID)
	return n > 0, err
}

// ListProjectEndpoints returns every endpoint-project association.
func (s *Store) ListProjectEndpoints(ctx context.Context) ([]ProjectEndpoint, error) {
	return pstore.All(ctx, s.q, func(r pstore.Row) (ProjectEndpoint, error) {
		var x ProjectEndpoint
		return x, r.Scan(&x.EndpointID, &x.ProjectID)
	}, "SELECT endpoint_id, project_id FROM project_endpoint ORDER BY endpoint_id, project_id")
}

// ProjectEndpointGroup associates an endpoint group with a project.
type ProjectEndpointGroup struct{ EndpointGroupID, ProjectID string }

// AddProjectEndpointGroup associates an endpoint group with a project.
func (s *Store) AddProjectEndpointGroup(ctx context.Context, x ProjectEndpointGroup) error {
	_, err := s.q.Exec(ctx, "INSERT INTO project_endpoint_group (endpoint_group_id, project_id) VALUES (?, ?)", x.EndpointGroupID, x.ProjectID)
	if pstore.IsUnique(err) {
		return fault.Conflict("Conflict occurred attempting to store project_endpoint_group - Duplicate entry.").WithType("Conflict")
	}
	return err
}

// RemoveProjectEndpointGroup removes an association; false when there was none.
func (s *Store) RemoveProjectEndpointGroup(ctx context.Context, x ProjectEndpointGroup) (bool, error) {
	n, err := exec(ctx, s.q, "DELETE FROM project_endpoint_group WHERE endpoint_group_id = ? AND project_id = ?", x.EndpointGroupID, x.ProjectID)
	return n > 0, err
}

// ListProjectEndpointGroups returns every endpoint-group-project association.
func (s *Store) ListProjectEndpointGroups(ctx context.Context) ([]ProjectEndpointGroup, error) {
	return pstore.All(ctx, s.q, func(r pstore.Row) (ProjectEndpointGroup, error) {
		var x ProjectEndpointGroup
		return x, r.Scan(&x.EndpointGroupID, &x.ProjectID)
	}, "SELECT endpoint_group_id, project_id FROM project_endpoint_group ORDER BY endpoint_group_id, project_id")
}
