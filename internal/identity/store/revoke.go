package store

import (
	"context"
	"time"

	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// RevocationEvent is Keystone's revocation event: a token issued before
// IssuedBefore that matches every non-empty field is revoked.
type RevocationEvent struct {
	ID            int64
	DomainID      string
	ProjectID     string
	UserID        string
	RoleID        string
	TrustID       string
	ConsumerID    string
	AccessTokenID string
	IssuedBefore  time.Time
	ExpiresAt     time.Time
	RevokedAt     time.Time
	AuditID       string
	AuditChainID  string
}

// AddRevocationEvent stores an event.
func (s *Store) AddRevocationEvent(ctx context.Context, e *RevocationEvent) error {
	if e.RevokedAt.IsZero() {
		e.RevokedAt = pstore.Now()
	}
	if e.IssuedBefore.IsZero() {
		e.IssuedBefore = e.RevokedAt
	}
	_, err := s.q.Exec(ctx, `INSERT INTO revocation_event (domain_id, project_id, user_id, role_id, trust_id, consumer_id,
		access_token_id, issued_before, expires_at, revoked_at, audit_id, audit_chain_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		nullStr(e.DomainID), nullStr(e.ProjectID), nullStr(e.UserID), nullStr(e.RoleID), nullStr(e.TrustID), nullStr(e.ConsumerID),
		nullStr(e.AccessTokenID), e.IssuedBefore.UnixMicro(), micros(e.ExpiresAt), e.RevokedAt.UnixMicro(), nullStr(e.AuditID), nullStr(e.AuditChainID))
	return err
}

// RevocationEvents returns the events revoked at or after since, oldest first.
func (s *Store) RevocationEvents(ctx context.Context, since time.Time) ([]*RevocationEvent, error) {
	return pstore.All(ctx, s.q, func(r pstore.Row) (*RevocationEvent, error) {
		var e RevocationEvent
		var d, p, u, ro, t, c, a, au, ac pstore.NullString
		var ib, ex, ra pstore.Time
		err := r.Scan(&e.ID, &d, &p, &u, &ro, &t, &c, &a, &ib, &ex, &ra, &au, &ac)
		e.DomainID, e.ProjectID, e.UserID, e.RoleID, e.TrustID = string(d), string(p), string(u), string(ro), string(t)
		e.ConsumerID, e.AccessTokenID, e.AuditID, e.AuditChainID = string(c), string(a), string(au), string(ac)
		e.IssuedBefore, e.ExpiresAt, e.RevokedAt = ib.Time, ex.Time, ra.Time
		return &e, err
	}, `SELECT id, domain_id, project_id, user_id, role_id, trust_id, consumer_id, access_token_id,
		issued_before, expires_at, revoked_at, audit_id, audit_chain_id FROM revocation_event WHERE revoked_at >= ? ORDER BY id`, since.UnixMicro())
}

// PruneRevocationEvents deletes events revoked before t (no token they could
// match is still valid).
func (s *Store) PruneRevocationEvents(ctx context.Context, t time.Time) (int64, error) {
	return exec(ctx, s.q, "DELETE FROM revocation_event WHERE revoked_at < ?", t.UnixMicro())
}

// FernetKeys returns the shared key repository: index → key in Keystone's
// format.
func (s *Store) FernetKeys(ctx context.Context) (map[int]string, error) {
	type kv struct {
		i int
		k string
	}
	rows, err := pstore.All(ctx, s.q, func(r pstore.Row) (kv, error) {
		var x kv
		return x, r.Scan(&x.i, &x.k)
	}, "SELECT idx, secret FROM fernet_key ORDER BY idx")
	if err != nil {
		return nil, err
	}
	out := make(map[int]string, len(rows))
	for _, x := range rows {
		out[x.i] = x.k
	}
	return out, nil
}

// SetFernetKeys replaces the key repository. Run it in a transaction.
func (s *Store) SetFernetKeys(ctx context.Context, keys map[int]string) error {
	if _, err := s.q.Exec(ctx, "DELETE FROM fernet_key"); err != nil {
		return err
	}
	now := pstore.Now().UnixMicro()
	for i, k := range keys {
		if _, err := s.q.Exec(ctx, "INSERT INTO fernet_key (idx, secret, created_at) VALUES (?, ?, ?)", i, k, now); err != nil {
			return err
		}
	}
	return nil
}
