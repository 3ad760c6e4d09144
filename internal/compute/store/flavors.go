package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

const flavorCols = "id, flavorid, name, memory_mb, vcpus, root_gb, ephemeral_gb, swap, rxtx_factor, is_public, disabled, description, created_at, updated_at"

func scanFlavor(r scanner) (*objects.Flavor, error) {
	var f objects.Flavor
	var desc sql.NullString
	var created, updated store.Time
	if err := r.Scan(&f.ID, &f.FlavorID, &f.Name, &f.MemoryMB, &f.VCPUs, &f.RootGB, &f.EphemeralGB, &f.Swap, &f.RxtxFactor,
		&f.IsPublic, &f.Disabled, &desc, &created, &updated); err != nil {
		return nil, err
	}
	if desc.Valid {
		d := desc.String
		f.Description = &d
	}
	f.CreatedAt, f.UpdatedAt = created.Time, updated.Time
	return &f, nil
}

func flavorNotFound(id string) error {
	return fault.NotFound("Flavor %s could not be found.", id).WithType("FlavorNotFound")
}

// CreateFlavor stores a flavor (409 when its id or name is taken).
func (s *Store) CreateFlavor(ctx context.Context, f *objects.Flavor) error {
	now := s.now()
	f.CreatedAt, f.UpdatedAt = now, now
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM flavors WHERE flavorid = ?", f.FlavorID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fault.Conflict("Flavor with ID %s already exists.", f.FlavorID).WithType("FlavorIdExists")
		}
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM flavors WHERE name = ?", f.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fault.Conflict("Flavor with name %s already exists.", f.Name).WithType("FlavorExists")
		}
		_, err := tx.Exec(ctx, `INSERT INTO flavors (flavorid, name, memory_mb, vcpus, root_gb, ephemeral_gb, swap, rxtx_factor,
			is_public, disabled, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.FlavorID, f.Name, f.MemoryMB, f.VCPUs, f.RootGB, f.EphemeralGB, f.Swap, f.RxtxFactor, f.IsPublic, f.Disabled,
			nullText(f.Description), store.TimeOf(now), store.TimeOf(now))
		if store.IsUnique(err) {
			return fault.Conflict("Flavor with name %s already exists.", f.Name).WithType("FlavorExists")
		}
		if err != nil {
			return wrap("insert flavor", err)
		}
		if err := tx.QueryRow(ctx, "SELECT id FROM flavors WHERE flavorid = ?", f.FlavorID).Scan(&f.ID); err != nil {
			return err
		}
		for k, v := range f.ExtraSpecs {
			if _, err := tx.Exec(ctx, "INSERT INTO flavor_extra_specs (flavor_id, spec_key, spec_value) VALUES (?, ?, ?)", f.ID, k, v); err != nil {
				return wrap("insert extra spec", err)
			}
		}
		return nil
	})
}

// Flavor returns a flavor by its API id, with its extra specs.
func (s *Store) Flavor(ctx context.Context, flavorID string) (*objects.Flavor, error) {
	f, err := scanFlavor(s.db.QueryRow(ctx, "SELECT "+flavorCols+" FROM flavors WHERE flavorid = ?", flavorID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, flavorNotFound(flavorID)
	}
	if err != nil {
		return nil, wrap("get flavor", err)
	}
	specs, err := s.extraSpecs(ctx, []int64{f.ID})
	if err != nil {
		return nil, err
	}
	f.ExtraSpecs = specs[f.ID]
	if f.ExtraSpecs == nil {
		f.ExtraSpecs = map[string]string{}
	}
	return f, nil
}

func (s *Store) extraSpecs(ctx context.Context, ids []int64) (map[int64]map[string]string, error) {
	out := map[int64]map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := store.In(ids)
	err := store.Each(ctx, s.db, func(r store.Row) error {
		var id int64
		var k, v string
		if err := r.Scan(&id, &k, &v); err != nil {
			return err
		}
		if out[id] == nil {
			out[id] = map[string]string{}
		}
		out[id][k] = v
		return nil
	}, "SELECT flavor_id, spec_key, spec_value FROM flavor_extra_specs WHERE flavor_id IN "+in, args...)
	if err != nil {
		return nil, wrap("list extra specs", err)
	}
	return out, nil
}

// FlavorFilter selects flavors as GET /flavors does.
type FlavorFilter struct {
	// IsPublic: nil lists all (admin with is_public=None), else that value;
	// ProjectID adds the private flavors the project has access to when
	// listing public ones.
	IsPublic  *bool
	ProjectID string
	Disabled  *bool
	MinMemory int
	MinDisk   int
	SortKey   string
	SortDir   string
	WithSpecs bool
}

var flavorSortKeys = map[string]string{
	"created_at": "created_at", "description": "description", "disabled": "disabled", "ephemeral_gb": "ephemeral_gb",
	"flavorid": "flavorid", "id": "id", "is_public": "is_public", "memory_mb": "memory_mb", "name": "name",
	"root_gb": "root_gb", "rxtx_factor": "rxtx_factor", "swap": "swap", "updated_at": "updated_at",
	"vcpu_weight": "id", "vcpus": "vcpus",
}

// ValidFlavorSortKey reports whether Nova accepts a flavor sort key.
func ValidFlavorSortKey(k string) bool { _, ok := flavorSortKeys[k]; return ok }

// Flavors lists flavors.
func (s *Store) Flavors(ctx context.Context, f FlavorFilter) ([]*objects.Flavor, error) {
	var where []string
	var args []any
	if f.IsPublic != nil {
		if *f.IsPublic && f.ProjectID != "" {
			where = append(where, "(is_public = TRUE OR id IN (SELECT flavor_id FROM flavor_projects WHERE project_id = ?))")
			args = append(args, f.ProjectID)
		} else {
			where = append(where, "is_public = ?")
			args = append(args, *f.IsPublic)
		}
	}
	if f.Disabled != nil {
		where = append(where, "disabled = ?")
		args = append(args, *f.Disabled)
	}
	if f.MinMemory > 0 {
		where = append(where, "memory_mb >= ?")
		args = append(args, f.MinMemory)
	}
	if f.MinDisk > 0 {
		where = append(where, "root_gb >= ?")
		args = append(args, f.MinDisk)
	}
	q := "SELECT " + flavorCols + " FROM flavors"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	col := flavorSortKeys[f.SortKey]
	if col == "" {
		col = "flavorid"
	}
	dir := "ASC"
	if strings.EqualFold(f.SortDir, "desc") {
		dir = "DESC"
	}
	q += fmt.Sprintf(" ORDER BY %s %s, id %s", col, dir, dir)
	out, err := store.All(ctx, s.db, scanFlavor, q, args...)
	if err != nil {
		return nil, wrap("list flavors", err)
	}
	if f.WithSpecs {
		ids := make([]int64, len(out))
		for i, fl := range out {
			ids[i] = fl.ID
		}
		specs, err := s.extraSpecs(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, fl := range out {
			fl.ExtraSpecs = specs[fl.ID]
			if fl.ExtraSpecs == nil {
				fl.ExtraSpecs = map[string]string{}
			}
		}
	}
	return out, nil
}

// UpdateFlavorDescription sets a flavor's description (2.55).
func (s *Store) UpdateFlavorDescription(ctx context.Context, flavorID string, desc *string) (*objects.Flavor, error) {
	err := store.CAS(ctx, s.db, "UPDATE flavors SET description = ?, updated_at = ? WHERE flavorid = ?", nullText(desc), store.TimeOf(s.now()), flavorID)
	if errors.Is(err, store.ErrConflict) {
		return nil, flavorNotFound(flavorID)
	}
	if err != nil {
		return nil, err
	}
	return s.Flavor(ctx, flavorID)
}

// DeleteFlavor removes a flavor with its extra specs and access list.
func (s *Store) DeleteFlavor(ctx context.Context, flavorID string) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, "SELECT id FROM flavors WHERE flavorid = ?", flavorID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return flavorNotFound(flavorID)
		}
		if err != nil {
			return err
		}
		for _, q := range []string{"DELETE FROM flavor_extra_specs WHERE flavor_id = ?", "DELETE FROM flavor_projects WHERE flavor_id = ?", "DELETE FROM flavors WHERE id = ?"} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetExtraSpecs adds or replaces extra specs of a flavor.
func (s *Store) SetExtraSpecs(ctx context.Context, flavorID string, specs map[string]string) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, "SELECT id FROM flavors WHERE flavorid = ?", flavorID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return flavorNotFound(flavorID)
		}
		if err != nil {
			return err
		}
		up := tx.D().Upsert("flavor_extra_specs", []string{"flavor_id", "spec_key", "spec_value"}, []string{"flavor_id", "spec_key"}, []string{"spec_value"})
		for k, v := range specs {
			if _, err := tx.Exec(ctx, up, id, k, v); err != nil {
				return wrap("set extra spec", err)
			}
		}
		_, err = tx.Exec(ctx, "UPDATE flavors SET updated_at = ? WHERE id = ?", store.TimeOf(s.now()), id)
		return err
	})
}

// DeleteExtraSpec removes one extra spec (404 when absent).
func (s *Store) DeleteExtraSpec(ctx context.Context, flavorID, key string) error {
	f, err := s.Flavor(ctx, flavorID)
	if err != nil {
		return err
	}
	err = store.CAS(ctx, s.db, "DELETE FROM flavor_extra_specs WHERE flavor_id = ? AND spec_key = ?", f.ID, key)
	if errors.Is(err, store.ErrConflict) {
		return fault.NotFound("Flavor %s has no extra specs with key %s.", flavorID, key).WithType("FlavorExtraSpecsNotFound")
	}
	return err
}

// FlavorAccess lists the projects with access to a private flavor.
func (s *Store) FlavorAccess(ctx context.Context, flavorID string) ([]string, error) {
	f, err := s.Flavor(ctx, flavorID)
	if err != nil {
		return nil, err
	}
	out, err := store.All(ctx, s.db, store.Column[string], "SELECT project_id FROM flavor_projects WHERE flavor_id = ? ORDER BY project_id", f.ID)
	if err != nil {
		return nil, wrap("list flavor access", err)
	}
	return append([]string{}, out...), nil
}

// HasFlavorAccess reports whether a project may use a private flavor.
func (s *Store) HasFlavorAccess(ctx context.Context, f *objects.Flavor, projectID string) (bool, error) {
	if f.IsPublic {
		return true, nil
	}
	var n int
	err := s.db.QueryRow(ctx, "SELECT COUNT(*) FROM flavor_projects WHERE flavor_id = ? AND project_id = ?", f.ID, projectID).Scan(&n)
	return n > 0, err
}

// AddFlavorAccess grants a project access (409 when it has it).
func (s *Store) AddFlavorAccess(ctx context.Context, f *objects.Flavor, projectID string) error {
	_, err := s.db.Exec(ctx, "INSERT INTO flavor_projects (flavor_id, project_id) VALUES (?, ?)", f.ID, projectID)
	if store.IsUnique(err) {
		return fault.Conflict("Flavor access already exists for flavor %s and project %s combination.", f.FlavorID, projectID).WithType("FlavorAccessExists")
	}
	return err
}

// RemoveFlavorAccess revokes a project's access (404 when it had none).
func (s *Store) RemoveFlavorAccess(ctx context.Context, f *objects.Flavor, projectID string) error {
	err := store.CAS(ctx, s.db, "DELETE FROM flavor_projects WHERE flavor_id = ? AND project_id = ?", f.ID, projectID)
	if errors.Is(err, store.ErrConflict) {
		return fault.NotFound("Flavor access not found for %s / %s combination.", f.FlavorID, projectID).WithType("FlavorAccessNotFound")
	}
	return err
}
