package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations is the image service's schema.
var Migrations = store.Migrations{Service: "image", FS: migrationsFS, Dir: "migrations"}

// Errors the store returns; callers wrap or replace their messages.
var (
	// ErrNotFound: no such (undeleted) row.
	ErrNotFound = fault.NotFound("not found")
	// ErrDuplicate: the id or name is taken.
	ErrDuplicate = fault.Conflict("duplicate")
)

// DB is the image service's database.
type DB struct {
	s *store.DB
}

// New wraps a migrated database.
func New(s *store.DB) *DB { return &DB{s: s} }

// Store returns the underlying database.
func (d *DB) Store() *store.DB { return d.s }

// Image is an image row with its custom properties and tags. Empty strings
// stand for NULL in the nullable text columns (disk and container format,
// checksum, hashes, owner, location); Name, Size, VirtualSize and
// StagedSize are pointers because "" and 0 are meaningful values there.
type Image struct {
	ID              string
	Name            *string
	DiskFormat      string
	ContainerFormat string
	Size            *int64
	VirtualSize     *int64
	Status          image.Status
	Visibility      image.Visibility
	Checksum        string
	OSHashAlgo      string
	OSHashValue     string
	MinDisk         int
	MinRAM          int
	Owner           string
	Protected       bool
	OSHidden        bool
	// Location is where the store keeps the data ("file:///..."); empty
	// while the image has none.
	Location string
	// StagedSize is the size of data staged for an import.
	StagedSize *int64
	// Worker names the process that moves data into the image while it
	// is saving, uploading or importing, so that only it recovers the
	// image after a crash.
	Worker     string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Properties map[string]string
	// Tags are kept sorted.
	Tags []string
}

// Clone returns a deep copy.
func (im *Image) Clone() *Image {
	c := *im
	c.Properties = maps.Clone(im.Properties)
	if c.Properties == nil {
		c.Properties = map[string]string{}
	}
	c.Tags = slices.Clone(im.Tags)
	if im.Name != nil {
		n := *im.Name
		c.Name = &n
	}
	c.Size = clonePtr(im.Size)
	c.VirtualSize = clonePtr(im.VirtualSize)
	c.StagedSize = clonePtr(im.StagedSize)
	return &c
}

func clonePtr(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// HasTag reports whether the image carries the tag.
func (im *Image) HasTag(t string) bool {
	_, ok := slices.BinarySearch(im.Tags, t)
	return ok
}

// AddTag adds a tag, keeping Tags sorted and unique.
func (im *Image) AddTag(t string) {
	i, ok := slices.BinarySearch(im.Tags, t)
	if !ok {
		im.Tags = slices.Insert(im.Tags, i, t)
	}
}

// RemoveTag removes a tag; it reports whether the tag was there.
func (im *Image) RemoveTag(t string) bool {
	i, ok := slices.BinarySearch(im.Tags, t)
	if ok {
		im.Tags = slices.Delete(im.Tags, i, i+1)
	}
	return ok
}

const imageCols = "id, name, disk_format, container_format, size, virtual_size, status, visibility, " +
	"checksum, os_hash_algo, os_hash_value, min_disk, min_ram, owner, protected, os_hidden, location, " +
	"staged_size, worker, created_at, updated_at"

// imageColsQualified is imageCols for queries that alias images as i.
var imageColsQualified = "i." + strings.ReplaceAll(imageCols, ", ", ", i.")

func scanImage(sc interface{ Scan(...any) error }) (*Image, error) {
	var (
		im                                              Image
		name                                            sql.NullString
		disk, cont, sum, algo, hash, owner, loc, worker store.NullString
		size, vsize, staged                             sql.NullInt64
		created, updated                                store.Time
		status, visibility                              string
	)
	err := sc.Scan(&im.ID, &name, &disk, &cont, &size, &vsize, &status, &visibility, &sum, &algo, &hash,
		&im.MinDisk, &im.MinRAM, &owner, &im.Protected, &im.OSHidden, &loc, &staged, &worker, &created, &updated)
	if err != nil {
		return nil, err
	}
	if name.Valid {
		im.Name = &name.String
	}
	im.DiskFormat, im.ContainerFormat = string(disk), string(cont)
	im.Checksum, im.OSHashAlgo, im.OSHashValue = string(sum), string(algo), string(hash)
	im.Owner, im.Location, im.Worker = string(owner), string(loc), string(worker)
	im.Status, im.Visibility = image.Status(status), image.Visibility(visibility)
	if size.Valid {
		im.Size = &size.Int64
	}
	if vsize.Valid {
		im.VirtualSize = &vsize.Int64
	}
	if staged.Valid {
		im.StagedSize = &staged.Int64
	}
	im.CreatedAt, im.UpdatedAt = created.Time, updated.Time
	im.Properties = map[string]string{}
	return &im, nil
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func nullName(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func (im *Image) values() []any {
	return []any{im.ID, nullName(im.Name), store.NullString(im.DiskFormat), store.NullString(im.ContainerFormat),
		nullInt(im.Size), nullInt(im.VirtualSize), string(im.Status), string(im.Visibility),
		store.NullString(im.Checksum), store.NullString(im.OSHashAlgo), store.NullString(im.OSHashValue),
		im.MinDisk, im.MinRAM, store.NullString(im.Owner), im.Protected, im.OSHidden,
		store.NullString(im.Location), nullInt(im.StagedSize), store.NullString(im.Worker), store.TimeOf(im.CreatedAt), store.TimeOf(im.UpdatedAt)}
}

// CreateImage inserts an image with its properties and tags. An id that
// exists, even as a deleted image, is ErrDuplicate.
func (d *DB) CreateImage(ctx context.Context, im *Image) error {
	if im.CreatedAt.IsZero() {
		im.CreatedAt = store.Now()
	}
	if im.UpdatedAt.IsZero() {
		im.UpdatedAt = im.CreatedAt
	}
	slices.Sort(im.Tags)
	im.Tags = slices.Compact(im.Tags)
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO images ("+imageCols+", deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			append(im.values(), false)...)
		if err != nil {
			if store.IsUnique(err) {
				return ErrDuplicate
			}
			return err
		}
		for _, k := range sortedKeys(im.Properties) {
			if _, err := tx.Exec(ctx, "INSERT INTO image_properties (image_id, name, value) VALUES (?, ?, ?)", im.ID, k, im.Properties[k]); err != nil {
				return err
			}
		}
		for _, t := range im.Tags {
			if _, err := tx.Exec(ctx, "INSERT INTO image_tags (image_id, value, created_at) VALUES (?, ?, ?)", im.ID, t, store.TimeOf(im.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrDuplicate) {
		return fmt.Errorf("create image %s: %w", im.ID, err)
	}
	return err
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// GetImage returns an undeleted image with its properties and tags.
func (d *DB) GetImage(ctx context.Context, id string) (*Image, error) {
	return getImage(ctx, d.s, id, false)
}

func getImage(ctx context.Context, q store.Querier, id string, lock bool) (*Image, error) {
	query := "SELECT " + imageCols + " FROM images WHERE id = ? AND deleted = ?"
	if lock && q.D().Dialect != store.SQLite {
		query += " FOR UPDATE"
	}
	im, err := scanImage(q.QueryRow(ctx, query, id, false))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get image %s: %w", id, err)
	}
	if err := loadDetails(ctx, q, []*Image{im}); err != nil {
		return nil, err
	}
	return im, nil
}

// loadDetails fills the properties and tags of images.
func loadDetails(ctx context.Context, q store.Querier, ims []*Image) error {
	if len(ims) == 0 {
		return nil
	}
	byID := make(map[string]*Image, len(ims))
	ids := make([]string, 0, len(ims))
	for _, im := range ims {
		byID[im.ID] = im
		ids = append(ids, im.ID)
	}
	// Bound the IN lists: every engine accepts 1000 parameters comfortably.
	for start := 0; start < len(ids); start += 1000 {
		chunk := ids[start:min(start+1000, len(ids))]
		in, args := store.In(chunk)
		err := store.Each(ctx, q, func(r store.Row) error {
			var id, k, v string
			if err := r.Scan(&id, &k, &v); err != nil {
				return err
			}
			byID[id].Properties[k] = v
			return nil
		}, "SELECT image_id, name, value FROM image_properties WHERE image_id IN "+in, args...)
		if err != nil {
			return fmt.Errorf("load image properties: %w", err)
		}
		err = store.Each(ctx, q, func(r store.Row) error {
			var id, t string
			if err := r.Scan(&id, &t); err != nil {
				return err
			}
			byID[id].Tags = append(byID[id].Tags, t)
			return nil
		}, "SELECT image_id, value FROM image_tags WHERE image_id IN "+in, args...)
		if err != nil {
			return fmt.Errorf("load image tags: %w", err)
		}
	}
	for _, im := range ims {
		slices.Sort(im.Tags)
	}
	return nil
}

// UpdateImage changes an undeleted image atomically: fn sees the current
// image (properties and tags included) and edits it, or returns an error
// that aborts the change. The row stays locked while fn runs, so fn's
// checks (the status it expects, say) and the write are one
// compare-and-swap. fn may run more than once when the database asks for a
// retry; it must not have side effects. UpdatedAt is set to now.
func (d *DB) UpdateImage(ctx context.Context, id string, fn func(im *Image) error) (*Image, error) {
	var out *Image
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		old, err := getImage(ctx, tx, id, true)
		if err != nil {
			return err
		}
		im := old.Clone()
		if err := fn(im); err != nil {
			return err
		}
		im.ID = old.ID
		im.CreatedAt = old.CreatedAt
		im.UpdatedAt = store.Now()
		if !im.UpdatedAt.After(old.UpdatedAt) {
			im.UpdatedAt = old.UpdatedAt.Add(time.Microsecond)
		}
		if err := writeImage(ctx, tx, old, im); err != nil {
			return err
		}
		out = im
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func writeImage(ctx context.Context, tx *store.Tx, old, im *Image) error {
	v := im.values()
	_, err := tx.Exec(ctx, `UPDATE images SET name = ?, disk_format = ?, container_format = ?, size = ?, virtual_size = ?,
		status = ?, visibility = ?, checksum = ?, os_hash_algo = ?, os_hash_value = ?, min_disk = ?, min_ram = ?,
		owner = ?, protected = ?, os_hidden = ?, location = ?, staged_size = ?, worker = ?, updated_at = ? WHERE id = ?`,
		append(v[1:19], v[20], im.ID)...)
	if err != nil {
		return fmt.Errorf("update image %s: %w", im.ID, err)
	}
	for k := range old.Properties {
		if _, ok := im.Properties[k]; !ok {
			if _, err := tx.Exec(ctx, "DELETE FROM image_properties WHERE image_id = ? AND name = ?", im.ID, k); err != nil {
				return err
			}
		}
	}
	for _, k := range sortedKeys(im.Properties) {
		nv := im.Properties[k]
		ov, had := old.Properties[k]
		switch {
		case !had:
			_, err = tx.Exec(ctx, "INSERT INTO image_properties (image_id, name, value) VALUES (?, ?, ?)", im.ID, k, nv)
		case ov != nv:
			_, err = tx.Exec(ctx, "UPDATE image_properties SET value = ? WHERE image_id = ? AND name = ?", nv, im.ID, k)
		}
		if err != nil {
			return err
		}
	}
	slices.Sort(im.Tags)
	im.Tags = slices.Compact(im.Tags)
	for _, t := range old.Tags {
		if !im.HasTag(t) {
			if _, err := tx.Exec(ctx, "DELETE FROM image_tags WHERE image_id = ? AND value = ?", im.ID, t); err != nil {
				return err
			}
		}
	}
	for _, t := range im.Tags {
		if !old.HasTag(t) {
			if _, err := tx.Exec(ctx, "INSERT INTO image_tags (image_id, value, created_at) VALUES (?, ?, ?)", im.ID, t, store.TimeOf(im.UpdatedAt)); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteImage marks an image deleted (its row stays, so the id is never
// reused) and drops its properties, tags and members. check sees the
// image first and may refuse (a protected image). It returns the image as
// it was, so the caller can remove its data.
func (d *DB) DeleteImage(ctx context.Context, id string, check func(im *Image) error) (*Image, error) {
	var out *Image
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		im, err := getImage(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(im); err != nil {
				return err
			}
		}
		now := store.TimeOf(store.Now())
		if err := store.CAS(ctx, tx, "UPDATE images SET status = ?, deleted = ?, deleted_at = ?, updated_at = ?, location = NULL WHERE id = ? AND deleted = ?",
			string(image.StatusDeleted), true, now, now, id, false); err != nil {
			return err
		}
		for _, t := range []string{"image_properties", "image_tags", "image_members"} {
			if _, err := tx.Exec(ctx, "DELETE FROM "+t+" WHERE image_id = ?", id); err != nil {
				return err
			}
		}
		out = im
		return nil
	})
	return out, err
}

// WorkerImages returns the undeleted images a worker was moving data
// into (recovery after a restart).
func (d *DB) WorkerImages(ctx context.Context, worker string) ([]*Image, error) {
	return store.All(ctx, d.s, scanImage, "SELECT "+imageCols+" FROM images WHERE deleted = ? AND worker = ?", false, worker)
}

// Locations returns the set of data locations undeleted images refer to,
// for sweeping orphaned files.
func (d *DB) Locations(ctx context.Context) (map[string]bool, error) {
	return stringSet(store.All(ctx, d.s, store.Column[string], "SELECT location FROM images WHERE deleted = ? AND location IS NOT NULL", false))
}

// FindByHash returns the undeleted images of an owner with the given name
// and sha512 (the loader uses it to stay idempotent).
func (d *DB) FindByHash(ctx context.Context, owner, name, sha512 string) ([]*Image, error) {
	return store.All(ctx, d.s, scanImage, "SELECT "+imageCols+" FROM images WHERE deleted = ? AND os_hash_value = ? AND name = ? AND owner = ?",
		false, sha512, name, owner)
}

// StagingImages returns the ids of undeleted images that may have data
// in the staging area (uploading or importing).
func (d *DB) StagingImages(ctx context.Context) (map[string]bool, error) {
	return stringSet(store.All(ctx, d.s, store.Column[string], "SELECT id FROM images WHERE deleted = ? AND status IN (?, ?)",
		false, string(image.StatusUploading), string(image.StatusImporting)))
}

// stringSet makes a set of a query's strings.
func stringSet(vals []string, err error) (map[string]bool, error) {
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(vals))
	for _, v := range vals {
		out[v] = true
	}
	return out, nil
}
