package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// QoS is a QoS specs record with its keys.
type QoS struct {
	ID        string
	Name      string
	Consumer  string
	Specs     map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MissingKeyError: a key to remove is not among the specs.
type MissingKeyError struct{ Key string }

func (e *MissingKeyError) Error() string { return "no spec with key " + e.Key }

// ErrAssociated: the QoS specs are still associated with volume types, or
// the type is associated with other QoS specs.
var ErrAssociated = errors.New("qos specs associated")

const qosCols = "id, name, consumer, created_at, updated_at"

func scanQoS(sc store.Row) (*QoS, error) {
	var (
		q                QoS
		created, updated store.Time
	)
	if err := sc.Scan(&q.ID, &q.Name, &q.Consumer, &created, &updated); err != nil {
		return nil, err
	}
	q.CreatedAt, q.UpdatedAt, q.Specs = created.Time, updated.Time, map[string]string{}
	return &q, nil
}

// CreateQoS inserts QoS specs; a name in use is ErrDuplicate.
func (d *DB) CreateQoS(ctx context.Context, q *QoS) error {
	if q.ID == "" {
		q.ID = uuid.NewString()
	}
	now := store.Now()
	q.CreatedAt, q.UpdatedAt = now, now
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO qos_specs ("+qosCols+") VALUES (?, ?, ?, ?, ?)",
			q.ID, q.Name, q.Consumer, store.TimeOf(now), store.TimeOf(now)); err != nil {
			return err
		}
		return putQoSKeys(ctx, tx, q.ID, q.Specs)
	})
	if err != nil && store.IsUnique(err) {
		return ErrDuplicate
	}
	return err
}

func putQoSKeys(ctx context.Context, tx *store.Tx, id string, specs map[string]string) error {
	return putKeys(ctx, tx, "qos_specs_keys", "qos_specs_id", id, specs)
}

func loadQoSKeys(ctx context.Context, q store.Querier, qs []*QoS) error {
	into := map[string]map[string]string{}
	for _, s := range qs {
		into[s.ID] = s.Specs
	}
	return loadKeys(ctx, q, "qos_specs_keys", "qos_specs_id", into)
}

func getQoS(ctx context.Context, q store.Querier, id string) (*QoS, error) {
	s, err := scanQoS(q.QueryRow(ctx, "SELECT "+qosCols+" FROM qos_specs WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get qos specs: %w", err)
	}
	return s, loadQoSKeys(ctx, q, []*QoS{s})
}

// GetQoS returns QoS specs by id.
func (d *DB) GetQoS(ctx context.Context, id string) (*QoS, error) { return getQoS(ctx, d.s, id) }

// ListQoS returns every QoS specs record, oldest first.
func (d *DB) ListQoS(ctx context.Context) ([]*QoS, error) {
	out, err := store.All(ctx, d.s, scanQoS, "SELECT "+qosCols+" FROM qos_specs ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("list qos specs: %w", err)
	}
	return out, loadQoSKeys(ctx, d.s, out)
}

// UpdateQoS sets the consumer (when not nil), merges set into the keys and
// removes the keys of remove (a missing one is a *MissingKeyError and
// changes nothing).
func (d *DB) UpdateQoS(ctx context.Context, id string, consumer *string, set map[string]string, remove []string) (*QoS, error) {
	var out *QoS
	err := d.s.Tx(ctx, func(tx *store.Tx) error {
		q, err := getQoS(ctx, tx, id)
		if err != nil {
			return err
		}
		maps.Copy(q.Specs, set)
		for _, k := range remove {
			if _, ok := q.Specs[k]; !ok {
				return &MissingKeyError{Key: k}
			}
			delete(q.Specs, k)
		}
		if consumer != nil {
			q.Consumer = *consumer
		}
		q.UpdatedAt = store.Now()
		if _, err := tx.Exec(ctx, "UPDATE qos_specs SET consumer = ?, updated_at = ? WHERE id = ?", q.Consumer, store.TimeOf(q.UpdatedAt), id); err != nil {
			return err
		}
		out = q
		return putQoSKeys(ctx, tx, id, q.Specs)
	})
	return out, err
}

// DeleteQoS removes QoS specs; associated ones are ErrAssociated unless
// force, which disassociates them first.
func (d *DB) DeleteQoS(ctx context.Context, id string, force bool) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		if _, err := getQoS(ctx, tx, id); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM volume_types WHERE deleted = ? AND qos_specs_id = ?", false, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 && !force {
			return ErrAssociated
		}
		if _, err := tx.Exec(ctx, "UPDATE volume_types SET qos_specs_id = NULL WHERE qos_specs_id = ?", id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM qos_specs_keys WHERE qos_specs_id = ?", id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DELETE FROM qos_specs WHERE id = ?", id)
		return err
	})
}

// AssociateQoS associates QoS specs with a volume type. A type already
// associated with other specs is ErrAssociated; with these, nothing
// changes. Unknown specs or types are ErrNotFound.
func (d *DB) AssociateQoS(ctx context.Context, id, typeID string) error {
	return d.s.Tx(ctx, func(tx *store.Tx) error {
		if _, err := getQoS(ctx, tx, id); err != nil {
			return err
		}
		var cur store.NullString
		err := tx.QueryRow(ctx, "SELECT qos_specs_id FROM volume_types WHERE id = ? AND deleted = ?", typeID, false).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if cur != "" && string(cur) != id {
			return ErrAssociated
		}
		_, err = tx.Exec(ctx, "UPDATE volume_types SET qos_specs_id = ? WHERE id = ?", id, typeID)
		return err
	})
}

// DisassociateQoS drops the association of QoS specs with one type, or
// with every type when typeID is empty.
func (d *DB) DisassociateQoS(ctx context.Context, id, typeID string) error {
	q, args := "UPDATE volume_types SET qos_specs_id = NULL WHERE qos_specs_id = ?", []any{id}
	if typeID != "" {
		q, args = q+" AND id = ?", append(args, typeID)
	}
	_, err := d.s.Exec(ctx, q, args...)
	return err
}

// QoSTypes lists the live volume types associated with QoS specs, by name.
func (d *DB) QoSTypes(ctx context.Context, id string) ([]*Type, error) {
	return store.All(ctx, d.s, scanType, "SELECT "+typeCols+" FROM volume_types WHERE deleted = ? AND qos_specs_id = ? ORDER BY name", false, id)
}
