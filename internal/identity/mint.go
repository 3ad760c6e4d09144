package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/tenku-cloud/tenku/internal/identity/token/fernet"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// IssueToken makes a project-scoped token for a user without a password: for
// the process that runs Keystone (the stack's own set-up steps), which would
// otherwise spend a bcrypt check to log in as a user it created itself. It is
// never reachable over HTTP. The user must be enabled and hold a role on the
// project, exactly as for a password login; methods records "password".
func (s *Service) IssueToken(ctx context.Context, userName, domainID, projectName string) (string, *authn.Context, error) {
	u, err := s.st.GetUserByName(ctx, userName, domainID)
	if err != nil {
		return "", nil, err
	}
	if !s.userEnabled(u) {
		return "", nil, fault.Unauthorized("The account is disabled for user: %s.", u.ID)
	}
	p, err := s.st.GetProjectByName(ctx, projectName, domainID)
	if err != nil {
		return "", nil, err
	}
	audit, err := fernet.NewAuditID()
	if err != nil {
		return "", nil, err
	}
	now := time.Now()
	pl := fernet.Payload{UserID: u.ID, Methods: []string{"password"}, ProjectID: p.ID, AuditIDs: []string{audit},
		ExpiresAt: now.Add(s.cfg.Token.Expiration).UTC().Truncate(time.Second)}
	tok, err := s.tokens().IssueAt(pl, now)
	if err != nil {
		return "", nil, fmt.Errorf("issue token: %w", err)
	}
	e, err := s.validateToken(ctx, tok, 0)
	if err != nil {
		return "", nil, err
	}
	c := *e.auth
	return tok, &c, nil
}
