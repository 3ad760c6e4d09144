package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// Namespace is a metadata-definition namespace.
type Namespace struct {
	ID          string
	Namespace   string
	DisplayName string
	Description string
	Visibility  string
	Protected   bool
	Owner       string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const nsCols = "id, namespace, display_name, description, visibility, protected, owner, created_at, updated_at"

func scanNamespace(sc interface{ Scan(...any) error }) (*Namespace, error) {
	var n Namespace
	var dn, desc, owner store.NullString
	var c, u store.Time
	if err := sc.Scan(&n.ID, &n.Namespace, &dn, &desc, &n.Visibility, &n.Protected, &owner, &c, &u); err != nil {
		return nil, err
	}
	n.DisplayName, n.Description, n.Owner = string(dn), string(desc), string(owner)
	n.CreatedAt, n.UpdatedAt = c.Time, u.Time
	return &n, nil
}

// NamespaceQuery selects namespaces.
type NamespaceQuery struct {
	Caller Caller
	// Visibility restricts to public or private ones.
	Visibility string
	// ResourceTypes restricts to namespaces associated with any of them.
	ResourceTypes []string
	SortKey       string // created_at (default), updated_at, namespace
	Desc          bool
	Marker        string // a namespace name
	Limit         int
}

var nsSortKeys = map[string]string{"created_at": "n.created_at", "updated_at": "n.updated_at", "namespace": "n.namespace", "id": "n.id"}

// ListNamespaces returns the namespaces the caller may see: public ones,
// the caller's own, or every one for an admin.
func (d *DB) ListNamespaces(ctx context.Context, q NamespaceQuery) ([]*Namespace, error) {
	var where []string
	var args []any
	if !q.Caller.Admin {
		where = append(where, "(n.visibility = ? OR n.owner = ?)")
		args = append(args, "public", q.Caller.ProjectID)
	}
	if q.Visibility != "" {
		where = append(where, "n.visibility = ?")
		args = append(args, q.Visibility)
	}
	if len(q.ResourceTypes) > 0 {
		in, a := store.In(q.ResourceTypes)
		where = append(where, "EXISTS (SELECT 1 FROM metadef_namespace_resource_types a JOIN metadef_resource_types r ON r.id = a.resource_type_id WHERE a.namespace_id = n.id AND r.name IN "+in+")")
		args = append(args, a...)
	}
	key, ok := nsSortKeys[q.SortKey]
	if !ok {
		key = "n.created_at"
	}
	dir, cmp := "ASC", ">"
	if q.Desc {
		dir, cmp = "DESC", "<"
	}
	if q.Marker != "" {
		m, err := d.GetNamespace(ctx, q.Marker)
		if err != nil {
			return nil, err
		}
		var mv any
		switch key {
		case "n.created_at":
			mv = store.TimeOf(m.CreatedAt)
		case "n.updated_at":
			mv = store.TimeOf(m.UpdatedAt)
		case "n.namespace":
			mv = m.Namespace
		default:
			mv = m.ID
		}
		where = append(where, "("+key+" "+cmp+" ? OR ("+key+" = ? AND n.id "+cmp+" ?))")
		args = append(args, mv, mv, m.ID)
	}
	query := "SELECT n." + strings.ReplaceAll(nsCols, ", ", ", n.") + " FROM metadef_namespaces n"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY " + key + " " + dir + ", n.id " + dir
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	out, err := store.All(ctx, d.s, scanNamespace, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	return out, nil
}

// GetNamespace returns a namespace by name.
func (d *DB) GetNamespace(ctx context.Context, name string) (*Namespace, error) {
	n, err := scanNamespace(d.s.QueryRow(ctx, "SELECT "+nsCols+" FROM metadef_namespaces WHERE namespace = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get namespace %s: %w", name, err)
	}
	return n, nil
}

// NamespaceContents are what a namespace holds, for creating one whole.
type NamespaceContents struct {
	Associations []Association
	Objects      []*Item
	Properties   []*Item
	Tags         []*Item
}

// CreateNamespace creates a namespace with its contents in one
// transaction; a taken name is ErrDuplicate (so is a duplicate within the
// contents).
func (d *DB) CreateNamespace(ctx context.Context, n *Namespace, c NamespaceContents) error {
	now := store.Now()
	n.ID, n.CreatedAt, n.UpdatedAt = uuid.NewString(), now, now
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO metadef_namespaces ("+nsCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			n.ID, n.Namespace, store.NullString(n.DisplayName), store.NullString(n.Description), n.Visibility, n.Protected,
			store.NullString(n.Owner), store.TimeOf(now), store.TimeOf(now))
		if store.IsUnique(err) {
			return ErrDuplicate
		}
		if err != nil {
			return err
		}
		for i := range c.Associations {
			if err := addAssociation(ctx, tx, n.ID, &c.Associations[i]); err != nil {
				return err
			}
		}
		for kind, items := range map[ItemKind][]*Item{Objects: c.Objects, Properties: c.Properties, Tags: c.Tags} {
			for _, it := range items {
				if err := createItem(ctx, tx, kind, n.ID, it); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// UpdateNamespace replaces the attributes of the namespace named old.
func (d *DB) UpdateNamespace(ctx context.Context, old string, n *Namespace) error {
	n.UpdatedAt = store.Now()
	res, err := d.s.Exec(ctx, `UPDATE metadef_namespaces SET namespace = ?, display_name = ?, description = ?, visibility = ?,
		protected = ?, owner = ?, updated_at = ? WHERE namespace = ?`,
		n.Namespace, store.NullString(n.DisplayName), store.NullString(n.Description), n.Visibility, n.Protected,
		store.NullString(n.Owner), store.TimeOf(n.UpdatedAt), old)
	if store.IsUnique(err) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("update namespace %s: %w", old, err)
	}
	if c, _ := res.RowsAffected(); c == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteNamespace removes a namespace and everything in it.
func (d *DB) DeleteNamespace(ctx context.Context, id string) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		for _, t := range []string{"metadef_objects", "metadef_properties", "metadef_tags", "metadef_namespace_resource_types"} {
			if _, err := tx.Exec(ctx, "DELETE FROM "+t+" WHERE namespace_id = ?", id); err != nil {
				return err
			}
		}
		return store.CAS(ctx, tx, "DELETE FROM metadef_namespaces WHERE id = ?", id)
	})
}

// ResourceType is a kind of resource metadata applies to.
type ResourceType struct {
	ID        string
	Name      string
	Protected bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ListResourceTypes returns every resource type, oldest first.
func (d *DB) ListResourceTypes(ctx context.Context) ([]*ResourceType, error) {
	return store.All(ctx, d.s, func(row store.Row) (*ResourceType, error) {
		var r ResourceType
		var c, u store.Time
		err := row.Scan(&r.ID, &r.Name, &r.Protected, &c, &u)
		r.CreatedAt, r.UpdatedAt = c.Time, u.Time
		return &r, err
	}, "SELECT id, name, protected, created_at, updated_at FROM metadef_resource_types ORDER BY created_at, name")
}

// EnsureResourceType creates a resource type unless it exists and returns
// its id; protected ones are the system's.
func (d *DB) EnsureResourceType(ctx context.Context, name string, protected bool) (string, error) {
	var id string
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		var err error
		id, err = ensureResourceType(ctx, tx, name, protected, store.Now())
		return err
	})
	return id, err
}

func ensureResourceType(ctx context.Context, q store.Querier, name string, protected bool, at time.Time) (string, error) {
	var id string
	err := q.QueryRow(ctx, "SELECT id FROM metadef_resource_types WHERE name = ?", name).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	id = uuid.NewString()
	_, err = q.Exec(ctx, "INSERT INTO metadef_resource_types (id, name, protected, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
		id, name, protected, store.TimeOf(at), store.TimeOf(at))
	return id, err
}

// Association ties a namespace to a resource type.
type Association struct {
	Name             string // the resource type
	Prefix           string
	PropertiesTarget string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// ListAssociations returns a namespace's resource type associations.
func (d *DB) ListAssociations(ctx context.Context, nsID string) ([]Association, error) {
	return store.All(ctx, d.s, func(r store.Row) (Association, error) {
		var a Association
		var prefix, target store.NullString
		var c, u store.Time
		err := r.Scan(&a.Name, &prefix, &target, &c, &u)
		a.Prefix, a.PropertiesTarget, a.CreatedAt, a.UpdatedAt = string(prefix), string(target), c.Time, u.Time
		return a, err
	}, `SELECT r.name, a.prefix, a.properties_target, a.created_at, a.updated_at
		FROM metadef_namespace_resource_types a JOIN metadef_resource_types r ON r.id = a.resource_type_id
		WHERE a.namespace_id = ? ORDER BY a.created_at, r.name`, nsID)
}

// AddAssociation associates a resource type (created if new) with a
// namespace; an existing association is ErrDuplicate.
func (d *DB) AddAssociation(ctx context.Context, nsID string, a *Association) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error { return addAssociation(ctx, tx, nsID, a) })
}

func addAssociation(ctx context.Context, tx *store.Tx, nsID string, a *Association) error {
	now := store.Now()
	a.CreatedAt, a.UpdatedAt = now, now
	rt, err := ensureResourceType(ctx, tx, a.Name, false, now)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, "INSERT INTO metadef_namespace_resource_types (namespace_id, resource_type_id, properties_target, prefix, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
		nsID, rt, store.NullString(a.PropertiesTarget), store.NullString(a.Prefix), store.TimeOf(now), store.TimeOf(now))
	if store.IsUnique(err) {
		return ErrDuplicate
	}
	return err
}

// DeleteAssociation removes an association.
func (d *DB) DeleteAssociation(ctx context.Context, nsID, resourceType string) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		return store.CAS(ctx, tx, `DELETE FROM metadef_namespace_resource_types WHERE namespace_id = ? AND resource_type_id IN
			(SELECT id FROM metadef_resource_types WHERE name = ?)`, nsID, resourceType)
	})
}

// ItemKind names the three kinds of named things a namespace holds.
type ItemKind string

// The item kinds, named after their tables.
const (
	Objects    ItemKind = "metadef_objects"
	Properties ItemKind = "metadef_properties"
	Tags       ItemKind = "metadef_tags"
)

// Item is an object, property or tag of a namespace. Schema holds an
// object's properties or a property's definition (JSON); Description and
// Required are an object's.
type Item struct {
	ID          string
	Name        string
	Description string
	Required    []string
	Schema      string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func itemCols(kind ItemKind) string {
	switch kind {
	case Objects:
		return "id, name, description, required, json_schema, created_at, updated_at"
	case Properties:
		return "id, name, json_schema, created_at, updated_at"
	}
	return "id, name, created_at, updated_at"
}

func scanItem(kind ItemKind, sc interface{ Scan(...any) error }) (*Item, error) {
	var it Item
	var c, u store.Time
	var err error
	switch kind {
	case Objects:
		var desc, schema store.NullString
		var req store.JSON[[]string]
		err = sc.Scan(&it.ID, &it.Name, &desc, &req, &schema, &c, &u)
		it.Description, it.Required, it.Schema = string(desc), req.V, string(schema)
	case Properties:
		err = sc.Scan(&it.ID, &it.Name, &it.Schema, &c, &u)
	default:
		err = sc.Scan(&it.ID, &it.Name, &c, &u)
	}
	if err != nil {
		return nil, err
	}
	it.CreatedAt, it.UpdatedAt = c.Time, u.Time
	return &it, nil
}

// ListItems returns a namespace's objects, properties or tags by name.
func (d *DB) ListItems(ctx context.Context, kind ItemKind, nsID string) ([]*Item, error) {
	out, err := store.All(ctx, d.s, func(r store.Row) (*Item, error) { return scanItem(kind, r) },
		"SELECT "+itemCols(kind)+" FROM "+string(kind)+" WHERE namespace_id = ? ORDER BY created_at, name", nsID)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	return out, nil
}

// GetItem returns one item by name.
func (d *DB) GetItem(ctx context.Context, kind ItemKind, nsID, name string) (*Item, error) {
	it, err := scanItem(kind, d.s.QueryRow(ctx, "SELECT "+itemCols(kind)+" FROM "+string(kind)+" WHERE namespace_id = ? AND name = ?", nsID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return it, err
}

// CreateItem adds an item; a taken name is ErrDuplicate (tag names are
// compared without case, as Glance does).
func (d *DB) CreateItem(ctx context.Context, kind ItemKind, nsID string, it *Item) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error { return createItem(ctx, tx, kind, nsID, it) })
}

func createItem(ctx context.Context, tx *store.Tx, kind ItemKind, nsID string, it *Item) error {
	if kind == Tags {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM metadef_tags WHERE namespace_id = ? AND LOWER(name) = LOWER(?)", nsID, it.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrDuplicate
		}
	}
	now := store.Now()
	it.ID, it.CreatedAt, it.UpdatedAt = uuid.NewString(), now, now
	var err error
	switch kind {
	case Objects:
		_, err = tx.Exec(ctx, "INSERT INTO metadef_objects (id, namespace_id, name, description, required, json_schema, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			it.ID, nsID, it.Name, store.NullString(it.Description), store.JSONOf(it.Required), store.NullString(it.Schema), store.TimeOf(now), store.TimeOf(now))
	case Properties:
		_, err = tx.Exec(ctx, "INSERT INTO metadef_properties (id, namespace_id, name, json_schema, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
			it.ID, nsID, it.Name, it.Schema, store.TimeOf(now), store.TimeOf(now))
	default:
		_, err = tx.Exec(ctx, "INSERT INTO metadef_tags (id, namespace_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
			it.ID, nsID, it.Name, store.TimeOf(now), store.TimeOf(now))
	}
	if store.IsUnique(err) {
		return ErrDuplicate
	}
	return err
}

// UpdateItem replaces the item named old (renaming it if it.Name differs).
func (d *DB) UpdateItem(ctx context.Context, kind ItemKind, nsID, old string, it *Item) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		cur, err := scanItem(kind, tx.QueryRow(ctx, "SELECT "+itemCols(kind)+" FROM "+string(kind)+" WHERE namespace_id = ? AND name = ?", nsID, old))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if kind == Tags && !strings.EqualFold(old, it.Name) {
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM metadef_tags WHERE namespace_id = ? AND LOWER(name) = LOWER(?)", nsID, it.Name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return ErrDuplicate
			}
		}
		it.ID, it.CreatedAt, it.UpdatedAt = cur.ID, cur.CreatedAt, store.Now()
		switch kind {
		case Objects:
			_, err = tx.Exec(ctx, "UPDATE metadef_objects SET name = ?, description = ?, required = ?, json_schema = ?, updated_at = ? WHERE id = ?",
				it.Name, store.NullString(it.Description), store.JSONOf(it.Required), store.NullString(it.Schema), store.TimeOf(it.UpdatedAt), cur.ID)
		case Properties:
			_, err = tx.Exec(ctx, "UPDATE metadef_properties SET name = ?, json_schema = ?, updated_at = ? WHERE id = ?",
				it.Name, it.Schema, store.TimeOf(it.UpdatedAt), cur.ID)
		default:
			_, err = tx.Exec(ctx, "UPDATE metadef_tags SET name = ?, updated_at = ? WHERE id = ?", it.Name, store.TimeOf(it.UpdatedAt), cur.ID)
		}
		if store.IsUnique(err) {
			return ErrDuplicate
		}
		return err
	})
}

// DeleteItem removes one item.
func (d *DB) DeleteItem(ctx context.Context, kind ItemKind, nsID, name string) error {
	res, err := d.s.Exec(ctx, "DELETE FROM "+string(kind)+" WHERE namespace_id = ? AND name = ?", nsID, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteItems removes every item of a kind from a namespace.
func (d *DB) DeleteItems(ctx context.Context, kind ItemKind, nsID string) error {
	_, err := d.s.Exec(ctx, "DELETE FROM "+string(kind)+" WHERE namespace_id = ?", nsID)
	return err
}

// ReplaceTags replaces a namespace's tags with names, in one transaction.
func (d *DB) ReplaceTags(ctx context.Context, nsID string, names []string, keep bool) ([]*Item, error) {
	var out []*Item
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		out = nil
		if !keep {
			if _, err := tx.Exec(ctx, "DELETE FROM metadef_tags WHERE namespace_id = ?", nsID); err != nil {
				return err
			}
		}
		for _, n := range names {
			it := &Item{Name: n}
			if err := createItem(ctx, tx, Tags, nsID, it); err != nil {
				return err
			}
			out = append(out, it)
		}
		return nil
	})
	return out, err
}
