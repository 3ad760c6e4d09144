package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// Credential is a stored secret of a user (Keystone's credentials API; EC2
// credentials are credentials of type "ec2").
type Credential struct {
	ID        string
	UserID    string
	ProjectID string
	Type      string
	// Blob is the secret, as the API sends it (a JSON string for ec2).
	Blob  string
	Extra Extra
}

// CredentialNotFound is Keystone's 404 for a credential.
func CredentialNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find credential: %s.", id).WithType("CredentialNotFound")
}

const credentialCols = "id, user_id, project_id, type, data, extra"

func scanCredential(r pstore.Row) (*Credential, error) {
	var x Credential
	var proj pstore.NullString
	var extra pstore.JSON[map[string]any]
	err := r.Scan(&x.ID, &x.UserID, &proj, &x.Type, &x.Blob, &extra)
	x.ProjectID, x.Extra = string(proj), extraOf(extra)
	return &x, err
}

// CreateCredential stores a credential.
func (s *Store) CreateCredential(ctx context.Context, x *Credential) error {
	_, err := s.q.Exec(ctx, "INSERT INTO credential ("+credentialCols+") VALUES (?, ?, ?, ?, ?, ?)",
		x.ID, x.UserID, nullStr(x.ProjectID), x.Type, x.Blob, pstore.JSONOf(x.Extra))
	return conflict(err, "credential", "Duplicate ID, "+x.ID)
}

// GetCredential returns a credential.
func (s *Store) GetCredential(ctx context.Context, id string) (*Credential, error) {
	x, err := scanCredential(s.q.QueryRow(ctx, "SELECT "+credentialCols+" FROM credential WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, CredentialNotFound(id))
	}
	return x, nil
}

// ListCredentials returns the credentials, of one user when userID is given.
func (s *Store) ListCredentials(ctx context.Context, userID string) ([]*Credential, error) {
	q, args := "SELECT "+credentialCols+" FROM credential", []any{}
	if userID != "" {
		q += " WHERE user_id = ?"
		args = append(args, userID)
	}
	return pstore.All(ctx, s.q, scanCredential, q+" ORDER BY id", args...)
}

// UpdateCredential writes a credential.
func (s *Store) UpdateCredential(ctx context.Context, x *Credential) error {
	n, err := exec(ctx, s.q, "UPDATE credential SET user_id = ?, project_id = ?, type = ?, data = ?, extra = ? WHERE id = ?",
		x.UserID, nullStr(x.ProjectID), x.Type, x.Blob, pstore.JSONOf(x.Extra), x.ID)
	if err == nil && n == 0 {
		return CredentialNotFound(x.ID)
	}
	return err
}

// DeleteCredential removes a credential.
func (s *Store) DeleteCredential(ctx context.Context, id string) error {
	n, err := exec(ctx, s.q, "DELETE FROM credential WHERE id = ?", id)
	if err == nil && n == 0 {
		return CredentialNotFound(id)
	}
	return err
}

// DeleteCredentialsOf removes the credentials of a user or of a project.
func (s *Store) DeleteCredentialsOf(ctx context.Context, id string) error {
	_, err := s.q.Exec(ctx, "DELETE FROM credential WHERE user_id = ? OR project_id = ?", id, id)
	return err
}

// AppCred is an application credential.
type AppCred struct {
	ID           string
	Name         string
	SecretHash   string
	Description  string
	UserID       string
	ProjectID    string
	System       string
	ExpiresAt    time.Time
	Unrestricted bool
	CreatedAt    time.Time
	RoleIDs      []string
	AccessRules  []*AccessRule
}

// AppCredNotFound is Keystone's 404 for an application credential.
func AppCredNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find Application Credential: %s.", id).WithType("ApplicationCredentialNotFound")
}

const appCredCols = "id, name, secret_hash, description, user_id, project_id, system_scope, expires_at, unrestricted, created_at"

func scanAppCred(r pstore.Row) (*AppCred, error) {
	var x AppCred
	var desc, proj, sys pstore.NullString
	var exp, created pstore.Time
	err := r.Scan(&x.ID, &x.Name, &x.SecretHash, &desc, &x.UserID, &proj, &sys, &exp, &x.Unrestricted, &created)
	x.Description, x.ProjectID, x.System, x.ExpiresAt, x.CreatedAt = string(desc), string(proj), string(sys), exp.Time, created.Time
	return &x, err
}

// CreateAppCred stores an application credential with its roles and access
// rules (rules that already exist for the user, by id, are reused).
func (s *Store) CreateAppCred(ctx context.Context, x *AppCred) error {
	if x.CreatedAt.IsZero() {
		x.CreatedAt = pstore.Now()
	}
	_, err := s.q.Exec(ctx, "INSERT INTO application_credential ("+appCredCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		x.ID, x.Name, x.SecretHash, nullStr(x.Description), x.UserID, nullStr(x.ProjectID), nullStr(x.System),
		micros(x.ExpiresAt), x.Unrestricted, x.CreatedAt.UnixMicro())
	if err != nil {
		return conflict(err, "application_credential", "Duplicate entry found with name "+x.Name)
	}
	for _, r := range x.RoleIDs {
		if _, err := s.q.Exec(ctx, "INSERT INTO application_credential_role (application_credential_id, role_id) VALUES (?, ?)", x.ID, r); err != nil {
			return err
		}
	}
	for _, ar := range x.AccessRules {
		_, err := s.q.Exec(ctx, s.db.InsertIgnore("access_rule", []string{"id", "user_id", "service", "path", "method"}),
			ar.ID, x.UserID, ar.Service, ar.Path, ar.Method)
		if err != nil {
			return err
		}
		if _, err := s.q.Exec(ctx, s.db.InsertIgnore("application_credential_access_rule", []string{"application_credential_id", "access_rule_id"}), x.ID, ar.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) fillAppCred(ctx context.Context, x *AppCred) error {
	var err error
	x.RoleIDs, err = pstore.All(ctx, s.q, func(r pstore.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, "SELECT role_id FROM application_credential_role WHERE application_credential_id = ? ORDER BY role_id", x.ID)
	if err != nil {
		return err
	}
	x.AccessRules, err = pstore.All(ctx, s.q, scanAccessRule,
		"SELECT "+accessRuleCols+" FROM access_rule WHERE id IN (SELECT access_rule_id FROM application_credential_access_rule WHERE application_credential_id = ?) ORDER BY id", x.ID)
	return err
}

// GetAppCred returns an application credential with roles and access rules.
func (s *Store) GetAppCred(ctx context.Context, id string) (*AppCred, error) {
	x, err := scanAppCred(s.q.QueryRow(ctx, "SELECT "+appCredCols+" FROM application_credential WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, AppCredNotFound(id))
	}
	return x, s.fillAppCred(ctx, x)
}

// ListAppCreds returns a user's application credentials (every user's when
// userID is empty).
func (s *Store) ListAppCreds(ctx context.Context, userID string) ([]*AppCred, error) {
	q, args := "SELECT "+appCredCols+" FROM application_credential", []any{}
	if userID != "" {
		q += " WHERE user_id = ?"
		args = append(args, userID)
	}
	xs, err := pstore.All(ctx, s.q, scanAppCred, q+" ORDER BY id", args...)
	if err != nil {
		return nil, err
	}
	for _, x := range xs {
		if err := s.fillAppCred(ctx, x); err != nil {
			return nil, err
		}
	}
	return xs, nil
}

// DeleteAppCred removes an application credential.
func (s *Store) DeleteAppCred(ctx context.Context, id string) error {
	for _, q := range []string{"DELETE FROM application_credential_role WHERE application_credential_id = ?",
		"DELETE FROM application_credential_access_rule WHERE application_credential_id = ?"} {
		if _, err := s.q.Exec(ctx, q, id); err != nil {
			return err
		}
	}
	n, err := exec(ctx, s.q, "DELETE FROM application_credential WHERE id = ?", id)
	if err == nil && n == 0 {
		return AppCredNotFound(id)
	}
	return err
}

// AccessRule limits what an application credential's tokens may call.
type AccessRule struct {
	ID      string
	UserID  string
	Service string
	Path    string
	Method  string
}

// AccessRuleNotFound is Keystone's 404 for an access rule.
func AccessRuleNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find Access Rule: %s.", id).WithType("AccessRuleNotFound")
}

const accessRuleCols = "id, user_id, service, path, method"

func scanAccessRule(r pstore.Row) (*AccessRule, error) {
	var x AccessRule
	return &x, r.Scan(&x.ID, &x.UserID, &x.Service, &x.Path, &x.Method)
}

// FindAccessRule returns a user's rule with the same service, path and method.
func (s *Store) FindAccessRule(ctx context.Context, userID, service, path, method string) (*AccessRule, error) {
	x, err := scanAccessRule(s.q.QueryRow(ctx, "SELECT "+accessRuleCols+" FROM access_rule WHERE user_id = ? AND service = ? AND path = ? AND method = ?",
		userID, service, path, method))
	if err != nil {
		return nil, notFound(err, AccessRuleNotFound(service+" "+method+" "+path))
	}
	return x, nil
}

// GetAccessRule returns an access rule.
func (s *Store) GetAccessRule(ctx context.Context, id string) (*AccessRule, error) {
	x, err := scanAccessRule(s.q.QueryRow(ctx, "SELECT "+accessRuleCols+" FROM access_rule WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, AccessRuleNotFound(id))
	}
	return x, nil
}

// ListAccessRules returns a user's access rules.
func (s *Store) ListAccessRules(ctx context.Context, userID string) ([]*AccessRule, error) {
	return pstore.All(ctx, s.q, scanAccessRule,
		"SELECT "+accessRuleCols+" FROM access_rule WHERE user_id = ? ORDER BY id", userID)
}

// AccessRuleInUse reports whether an application credential uses the rule.
func (s *Store) AccessRuleInUse(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.q.QueryRow(ctx, "SELECT COUNT(*) FROM application_credential_access_rule WHERE access_rule_id = ?", id).Scan(&n)
	return n > 0, err
}

// DeleteAccessRule removes an access rule.
func (s *Store) DeleteAccessRule(ctx context.Context, id string) error {
	n, err := exec(ctx, s.q, "DELETE FROM access_rule WHERE id = ?", id)
	if err == nil && n == 0 {
		return AccessRuleNotFound(id)
	}
	return err
}

// Trust lets a trustee act for a trustor on a project with some roles.
type Trust struct {
	ID                 string
	TrustorUserID      string
	TrusteeUserID      string
	ProjectID          string
	Impersonation      bool
	ExpiresAt          time.Time
	RemainingUses      *int
	RedelegatedTrustID string
	RedelegationCount  *int
	Extra              Extra
	CreatedAt          time.Time
	DeletedAt          time.Time
	RoleIDs            []string
}

// TrustNotFound is Keystone's 404 for a trust.
func TrustNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find trust: %s.", id).WithType("TrustNotFound")
}

const trustCols = "id, trustor_user_id, trustee_user_id, project_id, impersonation, expires_at, remaining_uses, redelegated_trust_id, redelegation_count, extra, created_at, deleted_at"

func scanTrust(r pstore.Row) (*Trust, error) {
	var x Trust
	var proj, redel pstore.NullString
	var exp, created, deleted pstore.Time
	var uses, count sql.NullInt64
	var extra pstore.JSON[map[string]any]
	if err := r.Scan(&x.ID, &x.TrustorUserID, &x.TrusteeUserID, &proj, &x.Impersonation, &exp, &uses, &redel, &count, &extra, &created, &deleted); err != nil {
		return nil, err
	}
	x.ProjectID, x.RedelegatedTrustID, x.Extra = string(proj), string(redel), extraOf(extra)
	x.ExpiresAt, x.CreatedAt, x.DeletedAt = exp.Time, created.Time, deleted.Time
	if uses.Valid {
		n := int(uses.Int64)
		x.RemainingUses = &n
	}
	if count.Valid {
		n := int(count.Int64)
		x.RedelegationCount = &n
	}
	return &x, nil
}

func intOrNil(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// CreateTrust stores a trust and its roles.
func (s *Store) CreateTrust(ctx context.Context, x *Trust) error {
	if x.CreatedAt.IsZero() {
		x.CreatedAt = pstore.Now()
	}
	_, err := s.q.Exec(ctx, "INSERT INTO trust ("+trustCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
		x.ID, x.TrustorUserID, x.TrusteeUserID, nullStr(x.ProjectID), x.Impersonation, micros(x.ExpiresAt),
		intOrNil(x.RemainingUses), nullStr(x.RedelegatedTrustID), intOrNil(x.RedelegationCount), pstore.JSONOf(x.Extra), x.CreatedAt.UnixMicro())
	if err != nil {
		return conflict(err, "trust", "Duplicate ID, "+x.ID)
	}
	for _, r := range x.RoleIDs {
		if _, err := s.q.Exec(ctx, "INSERT INTO trust_role (trust_id, role_id) VALUES (?, ?)", x.ID, r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) fillTrust(ctx context.Context, x *Trust) error {
	var err error
	x.RoleIDs, err = pstore.All(ctx, s.q, func(r pstore.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, "SELECT role_id FROM trust_role WHERE trust_id = ? ORDER BY role_id", x.ID)
	return err
}

// GetTrust returns a trust that is not deleted.
func (s *Store) GetTrust(ctx context.Context, id string) (*Trust, error) {
	x, err := scanTrust(s.q.QueryRow(ctx, "SELECT "+trustCols+" FROM trust WHERE id = ? AND deleted_at IS NULL", id))
	if err != nil {
		return nil, notFound(err, TrustNotFound(id))
	}
	return x, s.fillTrust(ctx, x)
}

// ListTrusts returns every trust that is not deleted.
func (s *Store) ListTrusts(ctx context.Context) ([]*Trust, error) {
	xs, err := pstore.All(ctx, s.q, scanTrust,
		"SELECT "+trustCols+" FROM trust WHERE deleted_at IS NULL ORDER BY id")
	if err != nil {
		return nil, err
	}
	for _, x := range xs {
		if err := s.fillTrust(ctx, x); err != nil {
			return nil, err
		}
	}
	return xs, nil
}

// ConsumeTrustUse decrements a limited trust's remaining uses; a 401-worthy
// conflict when none remain.
func (s *Store) ConsumeTrustUse(ctx context.Context, id string) error {
	return pstore.CAS(ctx, s.q, "UPDATE trust SET remaining_uses = remaining_uses - 1 WHERE id = ? AND deleted_at IS NULL AND (remaining_uses IS NULL OR remaining_uses > 0)", id)
}

// DeleteTrust marks a trust deleted.
func (s *Store) DeleteTrust(ctx context.Context, id string) error {
	n, err := exec(ctx, s.q, "UPDATE trust SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL", pstore.Now().UnixMicro(), id)
	if err == nil && n == 0 {
		return TrustNotFound(id)
	}
	return err
}

// PolicyBlob is a stored policy document (the /v3/policies API).
type PolicyBlob struct {
	ID    string
	Type  string
	Blob  string
	Extra Extra
}

// PolicyNotFound is Keystone's 404 for a policy.
func PolicyNotFound(id string) *fault.Error {
	return fault.NotFound("Could not find policy: %s.", id).WithType("PolicyNotFound")
}

func scanPolicy(r pstore.Row) (*PolicyBlob, error) {
	var x PolicyBlob
	var extra pstore.JSON[map[string]any]
	err := r.Scan(&x.ID, &x.Type, &x.Blob, &extra)
	x.Extra = extraOf(extra)
	return &x, err
}

// CreatePolicy stores a policy blob.
func (s *Store) CreatePolicy(ctx context.Context, x *PolicyBlob) error {
	_, err := s.q.Exec(ctx, "INSERT INTO policy (id, type, data, extra) VALUES (?, ?, ?, ?)", x.ID, x.Type, x.Blob, pstore.JSONOf(x.Extra))
	return conflict(err, "policy", "Duplicate ID, "+x.ID)
}

// GetPolicy returns a policy blob.
func (s *Store) GetPolicy(ctx context.Context, id string) (*PolicyBlob, error) {
	x, err := scanPolicy(s.q.QueryRow(ctx, "SELECT id, type, data, extra FROM policy WHERE id = ?", id))
	if err != nil {
		return nil, notFound(err, PolicyNotFound(id))
	}
	return x, nil
}

// ListPolicies returns every policy blob.
func (s *Store) ListPolicies(ctx context.Context) ([]*PolicyBlob, error) {
	return pstore.All(ctx, s.q, scanPolicy, "SELECT id, type, data, extra FROM policy ORDER BY id")
}

// UpdatePolicy writes a policy blob.
func (s *Store) UpdatePolicy(ctx context.Context, x *PolicyBlob) error {
	n, err := exec(ctx, s.q, "UPDATE policy SET type = ?, data = ?, extra = ? WHERE id = ?", x.Type, x.Blob, pstore.JSONOf(x.Extra), x.ID)
	if err == nil && n == 0 {
		return PolicyNotFound(x.ID)
	}
	return err
}

// DeletePolicy removes a policy blob.
func (s *Store) DeletePolicy(ctx context.Context, id string) error {
	n, err := exec(ctx, s.q, "DELETE FROM policy WHERE id = ?", id)
	if err == nil && n == 0 {
		return PolicyNotFound(id)
	}
	return err
}
