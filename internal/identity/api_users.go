package identity

import (
	"context"
	"regexp"
	"sort"
	"time"

	wire "github.com/tenku-cloud/tenku/api/identity"
	"github.com/tenku-cloud/tenku/internal/identity/password"
	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// JSON schemas of Keystone's identity API (keystone/identity/schema.py).
const (
	identityName = `{"type":"string","minLength":1,"maxLength":255,"pattern":"[\\S]+"}`
	userOptions  = `{"type":"object","properties":{` +
		`"ignore_change_password_upon_first_use":{"type":["boolean","null"]},` +
		`"ignore_password_expiry":{"type":["boolean","null"]},` +
		`"ignore_lockout_failure_attempts":{"type":["boolean","null"]},` +
		`"lock_password":{"type":["boolean","null"]},` +
		`"ignore_user_inactivity":{"type":["boolean","null"]},` +
		`"multi_factor_auth_rules":{"type":["array","null"],"items":{"type":"array","items":{"type":"string"},"minItems":1,"uniqueItems":true}},` +
		`"multi_factor_auth_enabled":{"type":["boolean","null"]}},"additionalProperties":false}`
	userProps = `"default_project_id":` + nullableID + `,"description":` + nullableDesc + `,"domain_id":` + idSchema +
		`,"enabled":{"type":"boolean"},"name":` + identityName + `,"password":{"type":["string","null"]},"options":` + userOptions +
		`,"federated":{"type":"array"}`
	userCreateSchema = `{"type":"object","properties":{"user":{"type":"object","properties":{` + userProps + `},"required":["name"]}},"required":["user"]}`
	userUpdateSchema = `{"type":"object","properties":{"user":{"type":"object","properties":{` + userProps + `},"minProperties":1}},"required":["user"]}`
	passwordSchema   = `{"type":"object","properties":{"user":{"type":"object","properties":{"original_password":{"type":"string"},"password":{"type":"string"}},` +
		`"required":["original_password","password"],"additionalProperties":false}},"required":["user"]}`

	groupProps        = `"description":` + nullableDesc + `,"domain_id":` + idSchema + `,"name":` + identityName
	groupCreateSchema = `{"type":"object","properties":{"group":{"type":"object","properties":{` + groupProps + `},"required":["name"]}},"required":["group"]}`
	groupUpdateSchema = `{"type":"object","properties":{"group":{"type":"object","properties":{` + groupProps + `},"minProperties":1}},"required":["group"]}`
)

// userTimeFormat is how Keystone renders a user's password_expires_at (a
// Python datetime through oslo's JSON encoder: no zone).
const userTimeFormat = "2006-01-02T15:04:05.000000"

var userColumns = []string{"id", "name", "domain_id", "enabled", "default_project_id", "password", "options", "password_expires_at", "links", "federated"}

func (s *Service) userRoutes() []rest.Route {
	return []rest.Route{
		{Method: "POST", Path: "/v3/users", Status: 201, Schema: userCreateSchema, Handler: s.createUser},
		{Method: "GET", Path: "/v3/users", Handler: s.listUsers},
		{Method: "GET", Path: "/v3/users/{user_id}", Handler: s.getUser},
		{Method: "PATCH", Path: "/v3/users/{user_id}", Schema: userUpdateSchema, Handler: s.updateUser},
		{Method: "DELETE", Path: "/v3/users/{user_id}", Status: 204, Handler: s.deleteUser},
		{Method: "POST", Path: "/v3/users/{user_id}/password", Public: true, Status: 204, Schema: passwordSchema, Handler: s.changePassword},
		{Method: "GET", Path: "/v3/users/{user_id}/groups", Handler: s.listUserGroups},
		{Method: "GET", Path: "/v3/users/{user_id}/projects", Handler: s.listUserProjects},

		{Method: "POST", Path: "/v3/groups", Status: 201, Schema: groupCreateSchema, Handler: s.createGroup},
		{Method: "GET", Path: "/v3/groups", Handler: s.listGroups},
		{Method: "GET", Path: "/v3/groups/{group_id}", Handler: s.getGroup},
		{Method: "PATCH", Path: "/v3/groups/{group_id}", Schema: groupUpdateSchema, Handler: s.updateGroup},
		{Method: "DELETE", Path: "/v3/groups/{group_id}", Status: 204, Handler: s.deleteGroup},
		{Method: "GET", Path: "/v3/groups/{group_id}/users", Handler: s.listGroupUsers},
		{Method: "PUT", Path: "/v3/groups/{group_id}/users/{user_id}", Status: 204, Handler: s.addGroupUser},
		{Method: "GET", Path: "/v3/groups/{group_id}/users/{user_id}", Status: 204, Handler: s.checkGroupUser},
		{Method: "DELETE", Path: "/v3/groups/{group_id}/users/{user_id}", Status: 204, Handler: s.removeGroupUser},
	}
}

func (s *Service) renderUser(base string, u *store.User) wire.User {
	opts := u.Options
	if opts == nil {
		opts = map[string]any{}
	}
	out := wire.User{ID: u.ID, Name: u.Name, DomainID: u.DomainID, Enabled: s.userEnabled(u), DefaultProjectID: u.DefaultProjectID,
		Options: opts, Extra: u.Extra, Links: wire.SelfLink{Self: base + "/v3/users/" + u.ID}}
	if !u.PasswordExpiresAt.IsZero() {
		e := u.PasswordExpiresAt.UTC().Format(userTimeFormat)
		out.PasswordExpiresAt = &e
	}
	return out
}

func userTarget(u *store.User) map[string]any {
	return map[string]any{"id": u.ID, "name": u.Name, "domain_id": u.DomainID, "enabled": u.Enabled}
}

// validatePassword applies [security_compliance] password_regex.
func (s *Service) validatePassword(pw string) error {
	re := s.cfg.SecurityCompliance.PasswordRegex
	if re == "" {
		return nil
	}
	ok, err := regexp.MatchString(re, pw)
	if err != nil || !ok {
		desc := s.cfg.SecurityCompliance.PasswordRegexDescription
		if desc == "" {
			desc = "The password does not match the required pattern."
		}
		return fault.BadRequest("The password does not meet the requirements: %s", desc).WithType("PasswordRequirementsValidationError")
	}
	return nil
}

// newPassword hashes pw for a user and works out its expiry: Keystone's
// password_expires_days, and change_password_upon_first_use for passwords an
// administrator sets.
func (s *Service) newPassword(u *store.User, pw string, selfService bool) (*store.Password, error) {
	if len(pw) > s.cfg.Identity.MaxPasswordLength && s.cfg.Identity.MaxPasswordLength > 0 {
		if s.cfg.Default.StrictPasswordCheck {
			return nil, fault.BadRequest("Invalid input for field 'password': the password is longer than %d characters.", s.cfg.Identity.MaxPasswordLength).WithType("PasswordVerificationError")
		}
		pw = pw[:s.cfg.Identity.MaxPasswordLength]
	}
	h, err := password.Hash(pw, s.cfg.Identity.PasswordHashRounds)
	if err != nil {
		return nil, err
	}
	p := &store.Password{UserID: u.ID, Hash: h, SelfService: selfService, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	sc := s.cfg.SecurityCompliance
	if !selfService && sc.ChangePasswordUponFirstUse && !optTrue(u.Options, "ignore_change_password_upon_first_use") {
		p.ExpiresAt = p.CreatedAt
	} else if sc.PasswordExpiresDays > 0 && !optTrue(u.Options, "ignore_password_expiry") {
		p.ExpiresAt = p.CreatedAt.Add(time.Duration(sc.PasswordExpiresDays) * 24 * time.Hour)
	}
	return p, nil
}

func userOptionsOf(obj map[string]any, into map[string]any) map[string]any {
	if into == nil {
		into = map[string]any{}
	}
	if opts, ok := obj["options"].(map[string]any); ok {
		for k, v := range opts {
			if v == nil {
				delete(into, k)
			} else {
				into[k] = plain(v)
			}
		}
	}
	return into
}

func (s *Service) createUser(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "user")
	if err != nil {
		return nil, err
	}
	a := caller(ctx, r)
	domainID := str(obj, "domain_id")
	if domainID == "" {
		domainID = s.cfg.Identity.DefaultDomainID
		if a.DomainID != "" {
			domainID = a.DomainID
		}
	}
	target := map[string]any{}
	for k, v := range obj {
		if k != "password" {
			target[k] = v
		}
	}
	target["domain_id"] = domainID
	if err := r.Enforce(ctx, "identity:create_user", map[string]any{"target": map[string]any{"user": target}, "user": target}); err != nil {
		return nil, err
	}
	if _, err := s.st.GetDomain(ctx, domainID); err != nil {
		return nil, err
	}
	if err := s.readOnlyDomain(ctx, domainID); err != nil {
		return nil, err
	}
	u := &store.User{ID: hexID(), DomainID: domainID, Name: str(obj, "name"), Enabled: boolean(obj, "enabled", true),
		DefaultProjectID: str(obj, "default_project_id"), Options: userOptionsOf(obj, nil),
		Extra: extraOf(obj, userColumns...)}
	if err := s.checkDefaultProject(ctx, u.DefaultProjectID); err != nil {
		return nil, err
	}
	var pw *store.Password
	if p, ok := obj["password"].(string); ok {
		if err := s.validatePassword(p); err != nil {
			return nil, err
		}
		if pw, err = s.newPassword(u, p, false); err != nil {
			return nil, err
		}
	}
	err = s.st.Tx(ctx, func(tx *store.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if pw != nil {
			return tx.AddPassword(ctx, pw)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if pw != nil {
		u.PasswordExpiresAt, u.HasPassword = pw.ExpiresAt, true
	}
	s.changed(ctx)
	return map[string]any{"user": s.renderUser(s.baseURL(r), u)}, nil
}

func (s *Service) checkDefaultProject(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	p, err := s.st.GetProject(ctx, id)
	if err == nil && p.IsDomain {
		return fault.BadRequest("The default project ID of a user cannot be a domain.").WithType("ValidationError")
	}
	return nil
}

func userAttr(s *Service, u *store.User) func(string) (string, bool) {
	return func(k string) (string, bool) {
		switch k {
		case "id":
			return u.ID, true
		case "name":
			return u.Name, true
		case "domain_id":
			return u.DomainID, true
		case "enabled":
			return boolStr(s.userEnabled(u)), true
		case "default_project_id":
			return u.DefaultProjectID, true
		}
		if v, ok := u.Extra[k].(string); ok {
			return v, true
		}
		return "", false
	}
}

func (s *Service) listUsers(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	a := caller(ctx, r)
	target := map[string]any{}
	for _, k := range []string{"domain_id", "enabled", "name", "password_expires_at"} {
		if q.Has(k) {
			target[k] = q.Get(k)
		}
	}
	if a.DomainID != "" {
		target["target"] = map[string]any{"domain_id": a.DomainID}
	}
	if err := r.Enforce(ctx, "identity:list_users", target); err != nil {
		return nil, err
	}
	domain := q.Get("domain_id")
	if domain == "" && a.DomainID != "" {
		domain = a.DomainID
	}
	users, err := s.listUsersOf(ctx, domain)
	if err != nil {
		return nil, err
	}
	if q.Has("idp_id") || q.Has("protocol_id") || q.Has("unique_id") {
		users = nil // no federated users here
	}
	fs := newFilters(q, "name", "enabled", "id")
	pwFilter, err := passwordExpiryFilter(q.Get("password_expires_at"))
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	items := []any{}
	for _, u := range users {
		if fs.match(userAttr(s, u)) && pwFilter(u) {
			items = append(items, s.renderUser(base, u))
		}
	}
	return listResponse("users", items, s.selfURL(r), s.limit(s.cfg.Identity.ListLimit)), nil
}

// passwordExpiryFilter is ?password_expires_at={lt,lte,gt,gte,eq,neq}:time.
func passwordExpiryFilter(v string) (func(*store.User) bool, error) {
	if v == "" {
		return func(*store.User) bool { return true }, nil
	}
	op, ts := "eq", v
	if i := indexColon(v); i > 0 {
		switch v[:i] {
		case "lt", "lte", "gt", "gte", "eq", "neq":
			op, ts = v[:i], v[i+1:]
		}
	}
	t, err := parseTime(ts)
	if err != nil {
		return nil, err
	}
	return func(u *store.User) bool {
		e := u.PasswordExpiresAt
		if e.IsZero() {
			return false
		}
		switch op {
		case "lt":
			return e.Before(t)
		case "lte":
			return !e.After(t)
		case "gt":
			return e.After(t)
		case "gte":
			return !e.Before(t)
		case "neq":
			return !e.Equal(t)
		}
		return e.Equal(t)
	}, nil
}

func indexColon(s string) int {
	for i := 0; i < len(s) && i < 4; i++ {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}

func (s *Service) userOr404(ctx context.Context, id string) (*store.User, error) {
	return s.lookupUserID(ctx, id)
}

func (s *Service) getUser(ctx context.Context, r *rest.Request) (any, error) {
	u, err := s.userOr404(ctx, r.Param("user_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:get_user", map[string]any{"target": map[string]any{"user": userTarget(u)}, "user_id": u.ID}); err != nil {
		return nil, err
	}
	return map[string]any{"user": s.renderUser(s.baseURL(r), u)}, nil
}

func (s *Service) updateUser(ctx context.Context, r *rest.Request) (any, error) {
	u, err := s.userOr404(ctx, r.Param("user_id"))
	if err != nil {
		return nil, err
	}
	obj, _, err := body(r, "user")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:update_user", map[string]any{"target": map[string]any{"user": userTarget(u)}, "user_id": u.ID}); err != nil {
		return nil, err
	}
	if err := s.readOnlyDomain(ctx, u.DomainID); err != nil {
		return nil, err
	}
	if d := str(obj, "domain_id"); d != "" && d != u.DomainID {
		return nil, fault.BadRequest("Cannot change Domain ID").WithType("ValidationError")
	}
	if id := str(obj, "id"); id != "" && id != u.ID {
		return nil, fault.BadRequest("Cannot change user ID").WithType("ValidationError")
	}
	wasEnabled := u.Enabled
	if has(obj, "name") {
		u.Name = str(obj, "name")
	}
	u.Enabled = boolean(obj, "enabled", u.Enabled)
	if has(obj, "default_project_id") {
		u.DefaultProjectID = str(obj, "default_project_id")
		if err := s.checkDefaultProject(ctx, u.DefaultProjectID); err != nil {
			return nil, err
		}
	}
	u.Options = userOptionsOf(obj, u.Options)
	u.Extra = mergeExtra(u.Extra, extraOf(obj, userColumns...))
	var pw *store.Password
	if p, ok := obj["password"].(string); ok {
		if err := s.validatePassword(p); err != nil {
			return nil, err
		}
		if pw, err = s.newPassword(u, p, false); err != nil {
			return nil, err
		}
	}
	err = s.st.Tx(ctx, func(tx *store.Store) error {
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if pw != nil {
			if err := tx.AddPassword(ctx, pw); err != nil {
				return err
			}
			if err := tx.PrunePasswords(ctx, u.ID, s.keepPasswords()); err != nil {
				return err
			}
			return tx.ResetFailedAuth(ctx, u.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if pw != nil {
		u.PasswordExpiresAt, u.HasPassword = pw.ExpiresAt, true
	}
	if pw != nil || wasEnabled && !u.Enabled {
		if err := s.revoke(ctx, &store.RevocationEvent{UserID: u.ID}); err != nil {
			return nil, err
		}
	} else {
		s.changed(ctx)
	}
	return map[string]any{"user": s.renderUser(s.baseURL(r), u)}, nil
}

// keepPasswords is how much password history to keep.
func (s *Service) keepPasswords() int {
	return max(s.cfg.SecurityCompliance.UniqueLastPasswordCount, 1)
}

func (s *Service) deleteUser(ctx context.Context, r *rest.Request) (any, error) {
	u, err := s.userOr404(ctx, r.Param("user_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:delete_user", map[string]any{"target": map[string]any{"user": userTarget(u)}, "user_id": u.ID}); err != nil {
		return nil, err
	}
	if err := s.readOnlyDomain(ctx, u.DomainID); err != nil {
		return nil, err
	}
	if err := s.st.Tx(ctx, func(tx *store.Store) error { return purgeUser(ctx, tx, u.ID) }); err != nil {
		return nil, err
	}
	return nil, s.revoke(ctx, &store.RevocationEvent{UserID: u.ID})
}

// changePassword is a user changing its own password (no token needed: a
// user whose password expired must be able to).
func (s *Service) changePassword(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "user")
	if err != nil {
		return nil, err
	}
	orig, newPW := str(obj, "original_password"), str(obj, "password")
	u, err := s.lookupUserID(ctx, r.Param("user_id"))
	if err != nil {
		if fault.IsNotFound(err) {
			return nil, fault.Unauthorized("Error when changing user password: Invalid user / password")
		}
		return nil, err
	}
	if err := s.readOnlyDomain(ctx, u.DomainID); err != nil {
		return nil, err
	}
	if s.accountLocked(ctx, u) {
		return nil, fault.Unauthorized("The account is locked for user: %s.", u.ID).WithType("AccountLocked")
	}
	ok, err := s.checkUserPassword(ctx, u.ID, orig)
	if err != nil {
		return nil, err
	}
	if !ok {
		if s.cfg.SecurityCompliance.LockoutFailureAttempts > 0 {
			s.st.RecordFailedAuth(ctx, u.ID, time.Now())
		}
		return nil, fault.Unauthorized("Error when changing user password: Invalid user / password")
	}
	if !s.userEnabled(u) {
		return nil, fault.Unauthorized("The account is disabled for user: %s.", u.ID).WithType("UserDisabled")
	}
	if optTrue(u.Options, "lock_password") {
		return nil, fault.Forbidden("You cannot change your password at this time due to password policy disallowing password changes. Please contact your administrator to reset your password.").WithType("PasswordSelfServiceDisabled")
	}
	sc := s.cfg.SecurityCompliance
	history, err := s.st.Passwords(ctx, u.ID, 0)
	if err != nil {
		return nil, err
	}
	if sc.MinimumPasswordAge > 0 && len(history) > 0 {
		minAge := time.Duration(sc.MinimumPasswordAge) * 24 * time.Hour
		if cur := history[0]; cur.SelfService {
			if left := time.Until(cur.CreatedAt.Add(minAge)); left > 0 {
				return nil, fault.BadRequest("You cannot change your password at this time due to the minimum password age. Once you change your password, it must be used for %d day(s) before it can be changed. Please try again in %d day(s) or contact your administrator to reset your password.", sc.MinimumPasswordAge, int(left.Hours()/24)).WithType("PasswordAgeValidationError")
			}
		}
	}
	if err := s.validatePassword(newPW); err != nil {
		return nil, err
	}
	if n := sc.UniqueLastPasswordCount; n > 0 {
		for i, p := range history {
			if i >= n {
				break
			}
			if ok, _ := password.Check(s.truncatePassword(newPW), p.Hash); ok {
				return nil, fault.BadRequest("The new password cannot be identical to a previous password. The total number which includes the new password must be unique is %d.", n).WithType("PasswordHistoryValidationError")
			}
		}
	}
	pw, err := s.newPassword(u, newPW, true)
	if err != nil {
		return nil, err
	}
	err = s.st.Tx(ctx, func(tx *store.Store) error {
		if err := tx.AddPassword(ctx, pw); err != nil {
			return err
		}
		return tx.PrunePasswords(ctx, u.ID, s.keepPasswords())
	})
	if err != nil {
		return nil, err
	}
	return nil, s.revoke(ctx, &store.RevocationEvent{UserID: u.ID})
}

func (s *Service) listUserGroups(ctx context.Context, r *rest.Request) (any, error) {
	u, err := s.userOr404(ctx, r.Param("user_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:list_groups_for_user", map[string]any{"target": map[string]any{"user": userTarget(u)}, "user_id": u.ID}); err != nil {
		return nil, err
	}
	groups, err := s.groupsOfUser(ctx, u)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	fs := newFilters(r.HTTP.URL.Query(), "name", "domain_id")
	items := []any{}
	for _, g := range groups {
		if fs.match(groupAttr(g)) {
			items = append(items, s.renderGroup(base, g))
		}
	}
	return listResponse("groups", items, s.selfURL(r), s.limit(s.cfg.Identity.ListLimit)), nil
}

func (s *Service) listUserProjects(ctx context.Context, r *rest.Request) (any, error) {
	u, err := s.userOr404(ctx, r.Param("user_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:list_user_projects", map[string]any{"target": map[string]any{"user": userTarget(u)}, "user_id": u.ID}); err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	fs := newFilters(r.HTTP.URL.Query(), "name", "enabled", "domain_id")
	items := []any{}
	for _, id := range sn.userProjectIDs(u.ID) {
		if p := sn.projects[id]; fs.match(projectAttr(p)) {
			items = append(items, s.renderProject(base, p))
		}
	}
	return listResponse("projects", items, s.selfURL(r), s.limit(s.cfg.Resource.ListLimit)), nil
}

// ---- groups ----

func (s *Service) renderGroup(base string, g *store.Group) wire.Group {
	return wire.Group{ID: g.ID, Name: g.Name, DomainID: g.DomainID, Description: g.Description, Extra: g.Extra,
		Links: wire.SelfLink{Self: base + "/v3/groups/" + g.ID}}
}

func groupTarget(g *store.Group) map[string]any {
	return map[string]any{"id": g.ID, "name": g.Name, "domain_id": g.DomainID}
}

func groupAttr(g *store.Group) func(string) (string, bool) {
	return func(k string) (string, bool) {
		switch k {
		case "id":
			return g.ID, true
		case "name":
			return g.Name, true
		case "domain_id":
			return g.DomainID, true
		}
		return "", false
	}
}

func (s *Service) createGroup(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "group")
	if err != nil {
		return nil, err
	}
	a := caller(ctx, r)
	domainID := str(obj, "domain_id")
	if domainID == "" {
		domainID = s.cfg.Identity.DefaultDomainID
		if a.DomainID != "" {
			domainID = a.DomainID
		}
	}
	target := map[string]any{"name": obj["name"], "domain_id": domainID, "description": obj["description"]}
	if err := r.Enforce(ctx, "identity:create_group", map[string]any{"target": map[string]any{"group": target}, "group": target}); err != nil {
		return nil, err
	}
	if _, err := s.st.GetDomain(ctx, domainID); err != nil {
		return nil, err
	}
	if err := s.readOnlyDomain(ctx, domainID); err != nil {
		return nil, err
	}
	g := &store.Group{ID: hexID(), DomainID: domainID, Name: str(obj, "name"), Description: str(obj, "description"),
		Extra: extraOf(obj, "id", "name", "domain_id", "description", "links")}
	if err := s.st.CreateGroup(ctx, g); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"group": s.renderGroup(s.baseURL(r), g)}, nil
}

func (s *Service) listGroups(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	a := caller(ctx, r)
	target := map[string]any{}
	for _, k := range []string{"domain_id", "name"} {
		if q.Has(k) {
			target[k] = q.Get(k)
		}
	}
	if a.DomainID != "" {
		target["target"] = map[string]any{"group": map[string]any{"domain_id": a.DomainID}}
	}
	if err := r.Enforce(ctx, "identity:list_groups", target); err != nil {
		return nil, err
	}
	gdom := q.Get("domain_id")
	if gdom == "" {
		gdom = a.DomainID
	}
	var groups []*store.Group
	var err error
	if s.directory(ctx, gdom) != nil {
		groups, err = s.listGroupsOf(ctx, gdom)
	} else {
		groups, err = s.st.ListGroups(ctx)
	}
	if err != nil {
		return nil, err
	}
	fs := newFilters(q, "name", "domain_id", "id")
	base := s.baseURL(r)
	items := []any{}
	for _, g := range groups {
		if a.DomainID != "" && g.DomainID != a.DomainID {
			continue
		}
		if fs.match(groupAttr(g)) {
			items = append(items, s.renderGroup(base, g))
		}
	}
	return listResponse("groups", items, s.selfURL(r), s.limit(s.cfg.Identity.ListLimit)), nil
}

func (s *Service) groupOr404(ctx context.Context, id string) (*store.Group, error) {
	return s.lookupGroupID(ctx, id)
}

func (s *Service) getGroup(ctx context.Context, r *rest.Request) (any, error) {
	g, err := s.groupOr404(ctx, r.Param("group_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:get_group", map[string]any{"target": map[string]any{"group": groupTarget(g)}, "group_id": g.ID}); err != nil {
		return nil, err
	}
	return map[string]any{"group": s.renderGroup(s.baseURL(r), g)}, nil
}

func (s *Service) updateGroup(ctx context.Context, r *rest.Request) (any, error) {
	g, err := s.groupOr404(ctx, r.Param("group_id"))
	if err != nil {
		return nil, err
	}
	obj, _, err := body(r, "group")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:update_group", map[string]any{"target": map[string]any{"group": groupTarget(g)}, "group_id": g.ID}); err != nil {
		return nil, err
	}
	if err := s.readOnlyDomain(ctx, g.DomainID); err != nil {
		return nil, err
	}
	if d := str(obj, "domain_id"); d != "" && d != g.DomainID {
		return nil, fault.BadRequest("Cannot change Domain ID").WithType("ValidationError")
	}
	if has(obj, "name") {
		g.Name = str(obj, "name")
	}
	if has(obj, "description") {
		g.Description = str(obj, "description")
	}
	g.Extra = mergeExtra(g.Extra, extraOf(obj, "id", "name", "domain_id", "description", "links"))
	if err := s.st.UpdateGroup(ctx, g); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"group": s.renderGroup(s.baseURL(r), g)}, nil
}

func (s *Service) deleteGroup(ctx context.Context, r *rest.Request) (any, error) {
	g, err := s.groupOr404(ctx, r.Param("group_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:delete_group", map[string]any{"target": map[string]any{"group": groupTarget(g)}, "group_id": g.ID}); err != nil {
		return nil, err
	}
	if err := s.readOnlyDomain(ctx, g.DomainID); err != nil {
		return nil, err
	}
	err = s.st.Tx(ctx, func(tx *store.Store) error {
		if err := tx.DeleteAssignmentsOf(ctx, g.ID); err != nil {
			return err
		}
		return tx.DeleteGroup(ctx, g.ID)
	})
	if err != nil {
		return nil, err
	}
	s.changed(ctx)
	return nil, nil
}

func (s *Service) listGroupUsers(ctx context.Context, r *rest.Request) (any, error) {
	g, err := s.groupOr404(ctx, r.Param("group_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:list_users_in_group", map[string]any{"target": map[string]any{"group": groupTarget(g)}, "group_id": g.ID}); err != nil {
		return nil, err
	}
	members, err := s.usersOfGroup(ctx, g)
	if err != nil {
		return nil, err
	}
	q := r.HTTP.URL.Query()
	fs := newFilters(q, "name", "enabled", "domain_id")
	pwFilter, err := passwordExpiryFilter(q.Get("password_expires_at"))
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	var users []*store.User
	for _, u := range members {
		if fs.match(userAttr(s, u)) && pwFilter(u) {
			users = append(users, u)
		}
	}
	sort.Slice(users, func(i, j int) bool { return users[i].ID < users[j].ID })
	items := []any{}
	for _, u := range users {
		items = append(items, s.renderUser(base, u))
	}
	return listResponse("users", items, s.selfURL(r), s.limit(s.cfg.Identity.ListLimit)), nil
}

func (s *Service) groupAndUser(ctx context.Context, r *rest.Request, rule string) (*store.Group, *store.User, error) {
	g, err := s.groupOr404(ctx, r.Param("group_id"))
	if err != nil {
		return nil, nil, err
	}
	u, err := s.userOr404(ctx, r.Param("user_id"))
	if err != nil {
		return nil, nil, err
	}
	err = r.Enforce(ctx, rule, map[string]any{"target": map[string]any{"group": groupTarget(g), "user": userTarget(u)},
		"group_id": g.ID, "user_id": u.ID})
	return g, u, err
}

func (s *Service) addGroupUser(ctx context.Context, r *rest.Request) (any, error) {
	g, u, err := s.groupAndUser(ctx, r, "identity:add_user_to_group")
	if err != nil {
		return nil, err
	}
	if err := s.sameBackend(ctx, g, u); err != nil {
		return nil, err
	}
	if err := s.st.AddMember(ctx, u.ID, g.ID); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return nil, nil
}

func (s *Service) checkGroupUser(ctx context.Context, r *rest.Request) (any, error) {
	g, u, err := s.groupAndUser(ctx, r, "identity:check_user_in_group")
	if err != nil {
		return nil, err
	}
	ok, err := s.isMember(ctx, u, g)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fault.NotFound("User '%s' not found in group '%s'", u.ID, g.ID).WithType("NotFound")
	}
	return nil, nil
}

func (s *Service) removeGroupUser(ctx context.Context, r *rest.Request) (any, error) {
	g, u, err := s.groupAndUser(ctx, r, "identity:remove_user_from_group")
	if err != nil {
		return nil, err
	}
	if err := s.sameBackend(ctx, g, u); err != nil {
		return nil, err
	}
	ok, err := s.st.RemoveMember(ctx, u.ID, g.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fault.NotFound("User '%s' not found in group '%s'", u.ID, g.ID).WithType("NotFound")
	}
	s.changed(ctx)
	return nil, nil
}
