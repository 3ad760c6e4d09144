package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

const keypairCols = "id, name, user_id, fingerprint, public_key, type, created_at"

func scanKeypair(r scanner) (*objects.Keypair, error) {
	var k objects.Keypair
	var created store.Time
	if err := r.Scan(&k.ID, &k.Name, &k.UserID, &k.Fingerprint, &k.PublicKey, &k.Type, &created); err != nil {
		return nil, err
	}
	k.CreatedAt = created.Time
	return &k, nil
}

// CreateKeypair stores a key pair if the user has fewer than limit (-1:
// unlimited); 409 when the name is taken.
func (s *Store) CreateKeypair(ctx context.Context, k *objects.Keypair, limit int) error {
	k.CreatedAt = s.now()
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if limit >= 0 {
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM key_pairs WHERE user_id = ?", k.UserID).Scan(&n); err != nil {
				return err
			}
			if n+1 > limit {
				return fault.Forbidden("Quota exceeded, too many key pairs.").WithType("KeypairLimitExceeded")
			}
		}
		_, err := tx.Exec(ctx, "INSERT INTO key_pairs (name, user_id, fingerprint, public_key, type, created_at) VALUES (?, ?, ?, ?, ?, ?)",
			k.Name, k.UserID, k.Fingerprint, k.PublicKey, k.Type, store.TimeOf(k.CreatedAt))
		if store.IsUnique(err) {
			return fault.Conflict("Key pair '%s' already exists.", k.Name).WithType("KeyPairExists")
		}
		if err != nil {
			return wrap("insert key pair", err)
		}
		return tx.QueryRow(ctx, "SELECT id FROM key_pairs WHERE user_id = ? AND name = ?", k.UserID, k.Name).Scan(&k.ID)
	})
}

// Keypair returns a user's key pair by name.
func (s *Store) Keypair(ctx context.Context, userID, name string) (*objects.Keypair, error) {
	k, err := scanKeypair(s.db.QueryRow(ctx, "SELECT "+keypairCols+" FROM key_pairs WHERE user_id = ? AND name = ?", userID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.NotFound("Keypair %s not found for user %s", name, userID).WithType("KeypairNotFound")
	}
	return k, wrap("get key pair", err)
}

// Keypairs lists a user's key pairs by name.
func (s *Store) Keypairs(ctx context.Context, userID string) ([]*objects.Keypair, error) {
	out, err := store.All(ctx, s.db, scanKeypair, "SELECT "+keypairCols+" FROM key_pairs WHERE user_id = ? ORDER BY name", userID)
	if err != nil {
		return nil, wrap("list key pairs", err)
	}
	return out, nil
}

// DeleteKeypair removes a user's key pair.
func (s *Store) DeleteKeypair(ctx context.Context, userID, name string) error {
	err := store.CAS(ctx, s.db, "DELETE FROM key_pairs WHERE user_id = ? AND name = ?", userID, name)
	if errors.Is(err, store.ErrConflict) {
		return fault.NotFound("Keypair %s not found for user %s", name, userID).WithType("KeypairNotFound")
	}
	return err
}
