package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
)

// IDMapping ties a public id to a user or group of a domain's directory.
type IDMapping struct {
	PublicID, DomainID, LocalID, EntityType string
}

// PublicID is Keystone's sha256 id generator: the hash of the mapping's
// values in the order of their sorted keys (domain_id, entity_type, local_id).
func PublicID(domainID, localID, entityType string) string {
	h := sha256.New()
	h.Write([]byte(domainID))
	h.Write([]byte(entityType))
	h.Write([]byte(localID))
	return hex.EncodeToString(h.Sum(nil))
}

// PutIDMapping records a mapping (idempotent).
func (s *Store) PutIDMapping(ctx context.Context, m IDMapping) error {
	_, err := s.q.Exec(ctx, s.db.InsertIgnore("id_mapping", []string{"public_id", "domain_id", "local_id", "entity_type"}),
		m.PublicID, m.DomainID, m.LocalID, m.EntityType)
	return err
}

// GetIDMapping returns the mapping of a public id (ok false when none).
func (s *Store) GetIDMapping(ctx context.Context, publicID string) (IDMapping, bool, error) {
	m := IDMapping{PublicID: publicID}
	err := s.q.QueryRow(ctx, "SELECT domain_id, local_id, entity_type FROM id_mapping WHERE public_id = ?", publicID).
		Scan(&m.DomainID, &m.LocalID, &m.EntityType)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return m, false, nil
		}
		return m, false, err
	}
	return m, true, nil
}

// DeleteIDMappings forgets a domain's mappings.
func (s *Store) DeleteIDMappings(ctx context.Context, domainID string) error {
	_, err := s.q.Exec(ctx, "DELETE FROM id_mapping WHERE domain_id = ?", domainID)
	return err
}
