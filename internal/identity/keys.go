package identity

import (
	"context"
	"fmt"

	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/identity/token/fernet"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// setupKeys returns the database's Fernet key ring, creating it first when
// there is none (keystone-manage fernet_setup).
func setupKeys(ctx context.Context, st *store.Store, maxActive int) (*fernet.KeyRing, error) {
	var ring *fernet.KeyRing
	err := st.Tx(ctx, func(tx *store.Store) error {
		// Take the epoch row's lock first so concurrent setups and rotations
		// on PostgreSQL and MariaDB run one after the other.
		if err := tx.BumpEpoch(ctx); err != nil {
			return err
		}
		keys, err := tx.FernetKeys(ctx)
		if err != nil {
			return err
		}
		if ring, err = fernet.LoadKeyRing(keys); err != nil {
			return fmt.Errorf("fernet keys in the database: %w", err)
		}
		created, err := ring.Setup(maxActive)
		if err != nil || !created {
			return err
		}
		return tx.SetFernetKeys(ctx, ring.Dump())
	})
	if err != nil {
		return nil, fmt.Errorf("fernet key setup: %w", err)
	}
	return ring, nil
}

// RotateFernetKeys is keystone-manage fernet_rotate on the shared repository:
// the staged key becomes primary, a new key is staged, keys beyond maxActive
// are pruned. Running Keystone processes pick the new ring up within
// [cache] epoch_poll_interval. It returns the key indexes now in the ring.
func RotateFernetKeys(ctx context.Context, db *pstore.DB, maxActive int) ([]int, error) {
	st := store.New(db)
	var idx []int
	err := st.Tx(ctx, func(tx *store.Store) error {
		if err := tx.BumpEpoch(ctx); err != nil {
			return err
		}
		keys, err := tx.FernetKeys(ctx)
		if err != nil {
			return err
		}
		ring, err := fernet.LoadKeyRing(keys)
		if err != nil {
			return err
		}
		if ring.Len() == 0 {
			if _, err := ring.Setup(maxActive); err != nil {
				return err
			}
		} else if err := ring.Rotate(maxActive); err != nil {
			return err
		}
		idx = ring.Indexes()
		return tx.SetFernetKeys(ctx, ring.Dump())
	})
	if err != nil {
		return nil, fmt.Errorf("rotate fernet keys: %w", err)
	}
	return idx, nil
}
