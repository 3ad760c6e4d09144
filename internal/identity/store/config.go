package store

import (
	"context"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// DomainConfig is a domain's configuration: group → option → value.
type DomainConfig = map[string]map[string]any

// DomainConfigNotFound is Keystone's 404 for a missing domain configuration.
func DomainConfigNotFound(domainID string) *fault.Error {
	return fault.NotFound("Could not find Domain Config: %s.", domainID).WithType("DomainConfigNotFound")
}

// GetDomainConfig returns a domain's configuration.
func (s *Store) GetDomainConfig(ctx context.Context, domainID string) (DomainConfig, error) {
	var j pstore.JSON[DomainConfig]
	err := s.q.QueryRow(ctx, "SELECT config FROM domain_config WHERE domain_id = ?", domainID).Scan(&j)
	if err != nil {
		return nil, notFound(err, DomainConfigNotFound(domainID))
	}
	if j.V == nil {
		j.V = DomainConfig{}
	}
	return j.V, nil
}

// PutDomainConfig stores (creates or replaces) a domain's configuration.
func (s *Store) PutDomainConfig(ctx context.Context, domainID string, c DomainConfig) error {
	_, err := s.q.Exec(ctx, s.db.Upsert("domain_config", []string{"domain_id", "config"}, []string{"domain_id"}, []string{"config"}),
		domainID, pstore.JSONOf(c))
	return err
}

// DeleteDomainConfig removes a domain's configuration.
func (s *Store) DeleteDomainConfig(ctx context.Context, domainID string) error {
	n, err := exec(ctx, s.q, "DELETE FROM domain_config WHERE domain_id = ?", domainID)
	if err == nil && n == 0 {
		return DomainConfigNotFound(domainID)
	}
	return err
}

// Consumer is an OAuth1 consumer.
type Consumer struct {
	ID          string
	Description string
	Secret      string
	Extra       Extra
}

// ConsumerNotFound is Keystone's 404 for a consumer.
func ConsumerNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find consumer: %s.", id).WithType("NotFound")
}

func scanConsumer(r pstore.Row) (*Consumer, error) {
	var x Consumer
	var desc pstore.NullString
	var extra pstore.JSON[map[string]any]
	err := r.Scan(&x.ID, &desc, &x.Secret, &extra)
	x.Description, x.Extra = string(desc), extraOf(extra)
	return &x, err
}

// CreateConsumer stores a consumer.
func (s *Store) CreateConsumer(ctx context.Context, x *Consumer) error {
	_, err := s.q.Exec(ctx, "INSERT INTO oauth_consumer (id, description, secret, extra) VALUES (?, ?, ?, ?)",
		x.ID, nullStr(x.Description), x.Secret, pstore.JSONOf(x.Extra))
	return conflict(err, "consumer", "Duplicate ID, "+x.ID)
}

// GetConsumer returns a consumer.
func (s *Store) GetConsumer(ctx context.Context, id string) (*Consumer, error) {
	x, err := scanConsumer(s.q.QueryRow(ctx, "SELECT id, description, secret, extra FROM oauth_consumer WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, ConsumerNotFound(id))
	}
	return x, nil
}

// ListConsumers returns every consumer.
func (s *Store) ListConsumers(ctx context.Context) ([]*Consumer, error) {
	return pstore.All(ctx, s.q, scanConsumer, "SELECT id, description, secret, extra FROM oauth_consumer ORDER BY id")
}

// UpdateConsumer writes a consumer's description and extra attributes.
func (s *Store) UpdateConsumer(ctx context.Context, x *Consumer) error {
	n, err := exec(ctx, s.q, "UPDATE oauth_consumer SET description = ?, extra = ? WHERE id = ?", nullStr(x.Description), pstore.JSONOf(x.Extra), x.ID)
	if err == nil && n == 0 {
		return ConsumerNotFound(x.ID)
	}
	return err
}

// DeleteConsumer removes a consumer.
func (s *Store) DeleteConsumer(ctx context.Context, id string) error {
	n, err := exec(ctx, s.q, "DELETE FROM oauth_consumer WHERE id = ?", id)
	if err == nil && n == 0 {
		return ConsumerNotFound(id)
	}
	return err
}
