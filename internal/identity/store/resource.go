package store

import (
	"context"
	"sort"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// Project is a project or, with IsDomain, a domain.
type Project struct {
	ID          string
	Name        string
	Description string
	Enabled     bool
	// DomainID is RootDomain for domains.
	DomainID string
	// ParentID is the parent project (or the domain for a top-level
	// project); empty for domains.
	ParentID  string
	IsDomain  bool
	Extra     Extra
	Tags      []string
	CreatedAt time.Time
}

const projectCols = "id, name, description, enabled, domain_id, parent_id, is_domain, extra, created_at"

func scanProject(r pstore.Row) (*Project, error) {
	var (
		p       Project
		desc    pstore.NullString
		parent  pstore.NullString
		extra   pstore.JSON[map[string]any]
		created pstore.Time
	)
	if err := r.Scan(&p.ID, &p.Name, &desc, &p.Enabled, &p.DomainID, &parent, &p.IsDomain, &extra, &created); err != nil {
		return nil, err
	}
	p.Description, p.ParentID, p.Extra, p.CreatedAt = string(desc), string(parent), extraOf(extra), created.Time
	return &p, nil
}

func projectNotFound(p *Project, id string) *fault.Error {
	if p != nil && p.IsDomain {
		return fault.NotFound("Could not find domain: %s.", id).WithType("DomainNotFound")
	}
	return fault.NotFound("Could not find project: %s.", id).WithType("ProjectNotFound")
}

// CreateProject stores a new project or domain.
func (s *Store) CreateProject(ctx context.Context, p *Project) error {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = pstore.Now()
	}
	_, err := s.q.Exec(ctx, "INSERT INTO project ("+projectCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		p.ID, p.Name, nullStr(p.Description), p.Enabled, p.DomainID, nullStr(p.ParentID), p.IsDomain,
		pstore.JSONOf(p.Extra), p.CreatedAt.UnixMicro())
	if err != nil {
		if p.IsDomain {
			return conflict(err, "domain", "Duplicate entry found with name "+p.Name)
		}
		return conflict(err, "project", "Duplicate entry found with name "+p.Name+" at domain ID "+p.DomainID)
	}
	return s.setTags(ctx, p.ID, p.Tags)
}

func (s *Store) setTags(ctx context.Context, id string, tags []string) error {
	if _, err := s.q.Exec(ctx, "DELETE FROM project_tag WHERE project_id = ?", id); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if seen[t] {
			continue
		}
		seen[t] = true
		if _, err := s.q.Exec(ctx, "INSERT INTO project_tag (project_id, name) VALUES (?, ?)", id, t); err != nil {
			return err
		}
	}
	return nil
}

// SetProjectTags replaces a project's tags.
func (s *Store) SetProjectTags(ctx context.Context, id string, tags []string) error {
	return s.setTags(ctx, id, tags)
}

func (s *Store) tagsOf(ctx context.Context, id string) ([]string, error) {
	tags, err := pstore.All(ctx, s.q, func(r pstore.Row) (string, error) {
		var t string
		return t, r.Scan(&t)
	}, "SELECT name FROM project_tag WHERE project_id = ? ORDER BY name", id)
	if tags == nil {
		tags = []string{}
	}
	return tags, err
}

// GetProject returns a project or domain by id.
func (s *Store) GetProject(ctx context.Context, id string) (*Project, error) {
	p, err := scanProject(s.q.QueryRow(ctx, "SELECT "+projectCols+" FROM project WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, projectNotFound(nil, id))
	}
	if p.Tags, err = s.tagsOf(ctx, id); err != nil {
		return nil, err
	}
	return p, nil
}

// GetDomain returns a domain by id (a 404 DomainNotFound for projects too).
func (s *Store) GetDomain(ctx context.Context, id string) (*Project, error) {
	p, err := s.GetProject(ctx, id)
	if err != nil || !p.IsDomain {
		return nil, projectNotFound(&Project{IsDomain: true}, id)
	}
	return p, nil
}

// GetProjectByName returns a project by name within a domain (RootDomain for
// a domain by name).
func (s *Store) GetProjectByName(ctx context.Context, name, domainID string) (*Project, error) {
	p, err := scanProject(s.q.QueryRow(ctx, "SELECT "+projectCols+" FROM project WHERE name = ? AND domain_id = ?", name, domainID))
	if err != nil {
		return nil, notFound(err, projectNotFound(&Project{IsDomain: domainID == RootDomain}, name))
	}
	if p.Tags, err = s.tagsOf(ctx, p.ID); err != nil {
		return nil, err
	}
	return p, nil
}

// ListProjects returns every project and domain, with tags, ordered by id.
func (s *Store) ListProjects(ctx context.Context) ([]*Project, error) {
	ps, err := pstore.All(ctx, s.q, scanProject,
		"SELECT "+projectCols+" FROM project ORDER BY id")
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*Project, len(ps))
	for _, p := range ps {
		p.Tags = []string{}
		byID[p.ID] = p
	}
	rows, err := s.q.Query(ctx, "SELECT project_id, name FROM project_tag ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, t string
		if err := rows.Scan(&id, &t); err != nil {
			return nil, err
		}
		if p := byID[id]; p != nil {
			p.Tags = append(p.Tags, t)
		}
	}
	return ps, rows.Err()
}

// UpdateProject writes a project's mutable fields (and tags).
func (s *Store) UpdateProject(ctx context.Context, p *Project) error {
	n, err := exec(ctx, s.q, "UPDATE project SET name = ?, description = ?, enabled = ?, parent_id = ?, extra = ? WHERE id = ?",
		p.Name, nullStr(p.Description), p.Enabled, nullStr(p.ParentID), pstore.JSONOf(p.Extra), p.ID)
	if err != nil {
		if p.IsDomain {
			return conflict(err, "domain", "Duplicate entry found with name "+p.Name)
		}
		return conflict(err, "project", "Duplicate entry found with name "+p.Name+" at domain ID "+p.DomainID)
	}
	if n == 0 {
		return projectNotFound(p, p.ID)
	}
	return s.setTags(ctx, p.ID, p.Tags)
}

// DeleteProject removes a project or domain row (and its tags and endpoint
// associations); callers remove what it owns first.
func (s *Store) DeleteProject(ctx context.Context, id string) error {
	for _, q := range []string{
		"DELETE FROM project_endpoint WHERE project_id = ?",
		"DELETE FROM project_endpoint_group WHERE project_id = ?",
	} {
		if _, err := s.q.Exec(ctx, q, id); err != nil {
			return err
		}
	}
	n, err := exec(ctx, s.q, "DELETE FROM project WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n == 0 {
		return projectNotFound(nil, id)
	}
	return nil
}

// SortProjects orders projects by id.
func SortProjects(ps []*Project) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
}
