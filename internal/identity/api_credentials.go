package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/tenku-cloud/tenku/internal/identity/password"
	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

const (
	credentialProps        = `"blob":{"type":"string"},"project_id":{"type":"string"},"type":{"type":"string"},"user_id":{"type":"string"}`
	credentialCreateSchema = `{"type":"object","properties":{"credential":{"type":"object","properties":{` + credentialProps + `},` +
		`"oneOf":[{"required":["blob","type","user_id","project_id"],"properties":{"type":{"enum":["ec2"]}}},` +
		`{"required":["blob","type","user_id"],"properties":{"type":{"not":{"enum":["ec2"]}}}}]}},"required":["credential"]}`
	credentialUpdateSchema = `{"type":"object","properties":{"credential":{"type":"object","properties":{` + credentialProps + `},"minProperties":1}},"required":["credential"]}`

	appCredRoles        = `{"type":"array","items":{"type":"object","properties":{"id":` + idSchema + `,"name":` + roleName + `},"minProperties":1,"maxProperties":1,"additionalProperties":false}}`
	accessRulesSchema   = `{"type":"array","items":{"type":"object","properties":{"path":{"type":"string","minLength":0,"maxLength":225,"pattern":"^\\/.*"},"method":{"type":"string","pattern":"^(POST|GET|HEAD|PATCH|PUT|DELETE)$"},"service":` + idSchema + `,"id":` + idSchema + `},"additionalProperties":false}}`
	appCredProps        = `"name":` + roleName + `,"description":` + nullableDesc + `,"secret":{"type":["null","string"]},"expires_at":{"type":["null","string"]},"roles":` + appCredRoles + `,"unrestricted":{"type":"boolean"},"access_rules":` + accessRulesSchema
	appCredCreateSchema = `{"type":"object","properties":{"application_credential":{"type":"object","properties":{` + appCredProps + `},"required":["name"]}},"required":["application_credential"]}`
)

func (s *Service) credentialRoutes() []rest.Route {
	return []rest.Route{
		{Method: "POST", Path: "/v3/credentials", Status: 201, Schema: credentialCreateSchema, Handler: s.createCredential},
		{Method: "GET", Path: "/v3/credentials", Handler: s.listCredentials},
		{Method: "GET", Path: "/v3/credentials/{credential_id}", Handler: s.getCredential},
		{Method: "PATCH", Path: "/v3/credentials/{credential_id}", Schema: credentialUpdateSchema, Handler: s.updateCredential},
		{Method: "DELETE", Path: "/v3/credentials/{credential_id}", Status: 204, Handler: s.deleteCredential},

		{Method: "POST", Path: "/v3/users/{user_id}/credentials/OS-EC2", Status: 201, Handler: s.createEC2},
		{Method: "GET", Path: "/v3/users/{user_id}/credentials/OS-EC2", Handler: s.listEC2},
		{Method: "GET", Path: "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}", Handler: s.getEC2},
		{Method: "DELETE", Path: "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}", Status: 204, Handler: s.deleteEC2},

		{Method: "POST", Path: "/v3/users/{user_id}/application_credentials", Status: 201, Schema: appCredCreateSchema, Handler: s.createAppCred},
		{Method: "GET", Path: "/v3/users/{user_id}/application_credentials", Handler: s.listAppCreds},
		{Method: "GET", Path: "/v3/users/{user_id}/application_credentials/{application_credential_id}", Handler: s.getAppCred},
		{Method: "DELETE", Path: "/v3/users/{user_id}/application_credentials/{application_credential_id}", Status: 204, Handler: s.deleteAppCred},
		{Method: "GET", Path: "/v3/users/{user_id}/access_rules", Handler: s.listAccessRules},
		{Method: "GET", Path: "/v3/users/{user_id}/access_rules/{access_rule_id}", Handler: s.getAccessRule},
		{Method: "DELETE", Path: "/v3/users/{user_id}/access_rules/{access_rule_id}", Status: 204, Handler: s.deleteAccessRule},
	}
}

// ---- credentials ----

func (s *Service) renderCredential(base string, c *store.Credential) map[string]any {
	out := map[string]any{}
	for k, v := range c.Extra {
		out[k] = v
	}
	out["id"], out["user_id"], out["type"], out["blob"] = c.ID, c.UserID, c.Type, c.Blob
	if c.ProjectID != "" {
		out["project_id"] = c.ProjectID
	} else {
		out["project_id"] = nil
	}
	out["links"] = map[string]any{"self": base + "/v3/credentials/" + c.ID}
	return out
}

func credentialTarget(c *store.Credential) map[string]any {
	return map[string]any{"id": c.ID, "user_id": c.UserID, "project_id": c.ProjectID, "type": c.Type}
}

// ec2Blob reads an ec2 credential's blob.
func ec2Blob(blob string) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(blob), &m); err != nil || m == nil {
		return nil, fault.BadRequest("Invalid blob in credential").WithType("ValidationError")
	}
	if a, _ := m["access"].(string); a == "" {
		return nil, fault.BadRequest("Invalid blob in credential").WithType("ValidationError")
	}
	return m, nil
}

func ec2ID(access string) string {
	h := sha256.Sum256([]byte(access))
	return hex.EncodeToString(h[:])
}

func (s *Service) createCredential(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "credential")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:create_credential", map[string]any{"target": map[string]any{"credential": obj}, "credential": obj}); err != nil {
		return nil, err
	}
	c := &store.Credential{ID: hexID(), UserID: str(obj, "user_id"), ProjectID: str(obj, "project_id"), Type: str(obj, "type"),
		Blob: str(obj, "blob"), Extra: extraOf(obj, "id", "user_id", "project_id", "type", "blob", "links")}
	if c.Type == "ec2" {
		m, err := ec2Blob(c.Blob)
		if err != nil {
			return nil, err
		}
		c.ID = ec2ID(m["access"].(string))
	}
	if err := s.credentialLimit(ctx, c.UserID); err != nil {
		return nil, err
	}
	if err := s.st.CreateCredential(ctx, c); err != nil {
		return nil, err
	}
	return map[string]any{"credential": s.renderCredential(s.baseURL(r), c)}, nil
}

func (s *Service) credentialLimit(ctx context.Context, userID string) error {
	lim := s.cfg.Credential.UserLimit
	if lim < 0 {
		return nil
	}
	cs, err := s.st.ListCredentials(ctx, userID)
	if err != nil {
		return err
	}
	if len(cs) >= lim {
		return fault.Forbidden("Unable to create additional credentials, maximum of %d already exceeded for user.", lim).WithType("CredentialLimitExceeded")
	}
	return nil
}

func (s *Service) listCredentials(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	a := caller(ctx, r)
	target := map[string]any{"user_id": q.Get("user_id"), "type": q.Get("type")}
	if a != nil && a.System == "" {
		// As Keystone: a caller without system scope is checked as the
		// owner of the credentials it may list, and sees only those.
		target["target"] = map[string]any{"credential": map[string]any{"user_id": a.UserID}}
	}
	if err := r.Enforce(ctx, "identity:list_credentials", target); err != nil {
		return nil, err
	}
	cs, err := s.st.ListCredentials(ctx, q.Get("user_id"))
	if err != nil {
		return nil, err
	}
	fs := newFilters(q, "type", "user_id")
	base := s.baseURL(r)
	items := []any{}
	for _, c := range cs {
		if !fs.match(func(k string) (string, bool) {
			switch k {
			case "type":
				return c.Type, true
			case "user_id":
				return c.UserID, true
			}
			return "", false
		}) {
			continue
		}
		// Readers see everything; others only what the rule allows them.
		if err := s.enforce(ctx, a, "identity:get_credential", map[string]any{"target": map[string]any{"credential": credentialTarget(c)}, "credential_id": c.ID}); err != nil {
			continue
		}
		items = append(items, s.renderCredential(base, c))
	}
	return listResponse("credentials", items, s.selfURL(r), 0), nil
}

func (s *Service) credential(ctx context.Context, r *rest.Request, rule string) (*store.Credential, error) {
	c, err := s.st.GetCredential(ctx, r.Param("credential_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, rule, map[string]any{"target": map[string]any{"credential": credentialTarget(c)}, "credential_id": c.ID}); err != nil {
		return nil, err
	}
	return c, nil
}

func (s *Service) getCredential(ctx context.Context, r *rest.Request) (any, error) {
	c, err := s.credential(ctx, r, "identity:get_credential")
	if err != nil {
		return nil, err
	}
	return map[string]any{"credential": s.renderCredential(s.baseURL(r), c)}, nil
}

func (s *Service) updateCredential(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "credential")
	if err != nil {
		return nil, err
	}
	c, err := s.credential(ctx, r, "identity:update_credential")
	if err != nil {
		return nil, err
	}
	if has(obj, "user_id") {
		c.UserID = str(obj, "user_id")
	}
	if has(obj, "project_id") {
		c.ProjectID = str(obj, "project_id")
	}
	if has(obj, "type") {
		c.Type = str(obj, "type")
	}
	if has(obj, "blob") {
		old := c.Blob
		c.Blob = str(obj, "blob")
		if c.Type == "ec2" {
			m, err := ec2Blob(c.Blob)
			if err != nil {
				return nil, err
			}
			// A trust or application credential bound to an ec2 credential
			// cannot be changed through an update.
			if prev, err := ec2Blob(old); err == nil {
				for _, k := range []string{"trust_id", "app_cred_id", "access_token_id"} {
					if prev[k] != nil && m[k] != prev[k] {
						return nil, fault.BadRequest("%s can not be updated for credential", k).WithType("ValidationError")
					}
				}
			}
		}
	}
	if c.Type == "ec2" && c.ProjectID == "" {
		return nil, fault.BadRequest("ec2 credentials need a project_id").WithType("ValidationError")
	}
	c.Extra = mergeExtra(c.Extra, extraOf(obj, "id", "user_id", "project_id", "type", "blob", "links"))
	if err := s.st.UpdateCredential(ctx, c); err != nil {
		return nil, err
	}
	return map[string]any{"credential": s.renderCredential(s.baseURL(r), c)}, nil
}

func (s *Service) deleteCredential(ctx context.Context, r *rest.Request) (any, error) {
	c, err := s.credential(ctx, r, "identity:delete_credential")
	if err != nil {
		return nil, err
	}
	return nil, s.st.DeleteCredential(ctx, c.ID)
}

// ---- EC2 credentials ----

func randomHex() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Service) renderEC2(base string, c *store.Credential) map[string]any {
	m, _ := ec2Blob(c.Blob)
	out := map[string]any{"user_id": c.UserID, "tenant_id": c.ProjectID, "access": m["access"], "secret": m["secret"],
		"trust_id": m["trust_id"], "links": map[string]any{"self": base + "/v3/users/" + c.UserID + "/credentials/OS-EC2/" + str(m, "access")}}
	if v, ok := m["app_cred_id"]; ok {
		out["app_cred_id"] = v
	}
	return out
}

func (s *Service) createEC2(ctx context.Context, r *rest.Request) (any, error) {
	uid := r.Param("user_id")
	if err := r.Enforce(ctx, "identity:ec2_create_credential", map[string]any{"user_id": uid}); err != nil {
		return nil, err
	}
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	var in map[string]any
	if err := json.Unmarshal(raw, &in); err != nil || in == nil {
		return nil, fault.BadRequest("Malformed request body.").WithType("ValidationError")
	}
	projectID, _ := in["tenant_id"].(string)
	if projectID == "" {
		projectID, _ = in["project_id"].(string)
	}
	if projectID == "" {
		return nil, expecting("tenant_id", "request body")
	}
	if _, err := s.st.GetUser(ctx, uid); err != nil {
		return nil, err
	}
	if _, err := s.st.GetProject(ctx, projectID); err != nil {
		return nil, err
	}
	a := caller(ctx, r)
	blob := map[string]any{"access": randomHex(), "secret": randomHex(), "trust_id": nil}
	if a != nil && a.TrustID != "" {
		blob["trust_id"] = a.TrustID
	}
	if a != nil && a.AppCredentialID != "" {
		blob["app_cred_id"] = a.AppCredentialID
	}
	bb, _ := json.Marshal(blob)
	c := &store.Credential{ID: ec2ID(blob["access"].(string)), UserID: uid, ProjectID: projectID, Type: "ec2", Blob: string(bb), Extra: store.Extra{}}
	if err := s.credentialLimit(ctx, uid); err != nil {
		return nil, err
	}
	if err := s.st.CreateCredential(ctx, c); err != nil {
		return nil, err
	}
	return map[string]any{"credential": s.renderEC2(s.baseURL(r), c)}, nil
}

func (s *Service) listEC2(ctx context.Context, r *rest.Request) (any, error) {
	uid := r.Param("user_id")
	if err := r.Enforce(ctx, "identity:ec2_list_credentials", map[string]any{"user_id": uid}); err != nil {
		return nil, err
	}
	if _, err := s.st.GetUser(ctx, uid); err != nil {
		return nil, err
	}
	cs, err := s.st.ListCredentials(ctx, uid)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	items := []any{}
	for _, c := range cs {
		if c.Type == "ec2" {
			items = append(items, s.renderEC2(base, c))
		}
	}
	return listResponse("credentials", items, s.selfURL(r), 0), nil
}

func (s *Service) ec2Credential(ctx context.Context, r *rest.Request, rule string) (*store.Credential, error) {
	uid := r.Param("user_id")
	c, err := s.st.GetCredential(ctx, ec2ID(r.Param("credential_id")))
	if err != nil || c.Type != "ec2" || c.UserID != uid {
		// Keystone checks the rule with the path's user before saying 404.
		if perr := r.Enforce(ctx, rule, map[string]any{"user_id": uid, "target": map[string]any{"credential": map[string]any{"user_id": uid}}}); perr != nil {
			return nil, perr
		}
		return nil, fault.NotFound("Could not find credential: %s.", r.Param("credential_id")).WithType("CredentialNotFound")
	}
	if err := r.Enforce(ctx, rule, map[string]any{"user_id": uid, "target": map[string]any{"credential": credentialTarget(c)}}); err != nil {
		return nil, err
	}
	return c, nil
}

func (s *Service) getEC2(ctx context.Context, r *rest.Request) (any, error) {
	c, err := s.ec2Credential(ctx, r, "identity:ec2_get_credential")
	if err != nil {
		return nil, err
	}
	return map[string]any{"credential": s.renderEC2(s.baseURL(r), c)}, nil
}

func (s *Service) deleteEC2(ctx context.Context, r *rest.Request) (any, error) {
	c, err := s.ec2Credential(ctx, r, "identity:ec2_delete_credential")
	if err != nil {
		return nil, err
	}
	return nil, s.st.DeleteCredential(ctx, c.ID)
}

// ---- application credentials ----

const appCredTimeFormat = "2006-01-02T15:04:05.000000"

func (s *Service) renderAppCred(base string, sn *snapshot, x *store.AppCred, secret string) map[string]any {
	roles := []any{}
	for _, id := range x.RoleIDs {
		if ro := sn.roles[id]; ro != nil {
			roles = append(roles, map[string]any{"id": ro.ID, "name": ro.Name, "domain_id": nil})
		}
	}
	out := map[string]any{"id": x.ID, "name": x.Name, "description": nullIfEmpty(x.Description), "user_id": x.UserID,
		"project_id": nullIfEmpty(x.ProjectID), "system": nullIfEmpty(x.System), "expires_at": nil,
		"unrestricted": x.Unrestricted, "roles": roles,
		"links": map[string]any{"self": base + "/v3/users/" + x.UserID + "/application_credentials/" + x.ID}}
	if !x.ExpiresAt.IsZero() {
		out["expires_at"] = x.ExpiresAt.UTC().Format(appCredTimeFormat)
	}
	if len(x.AccessRules) > 0 {
		var rules []any
		for _, ar := range x.AccessRules {
			rules = append(rules, map[string]any{"id": ar.ID, "service": ar.Service, "path": ar.Path, "method": ar.Method})
		}
		out["access_rules"] = rules
	}
	if secret != "" {
		out["secret"] = secret
	}
	return out
}

func newSecret() string {
	var b [64]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Service) createAppCred(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "application_credential")
	if err != nil {
		return nil, err
	}
	uid := r.Param("user_id")
	if err := r.Enforce(ctx, "identity:create_application_credential", map[string]any{"user_id": uid, "application_credential": obj}); err != nil {
		return nil, err
	}
	a := caller(ctx, r)
	if a.AppCredentialID != "" {
		if ac, err := s.st.GetAppCred(ctx, a.AppCredentialID); err == nil && !ac.Unrestricted {
			return nil, fault.Forbidden("You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing additional application credentials.").WithType("ForbiddenAction")
		}
	}
	if a.ProjectID == "" {
		return nil, fault.BadRequest("Application credentials need a project-scoped token.").WithType("ValidationError")
	}
	if a.TrustID != "" {
		return nil, fault.Forbidden("You are not authorized to perform the requested action: Using trust-scoped token to create an application credential.").WithType("ForbiddenAction")
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	userRoles := sn.projectRoles(uid, a.ProjectID)
	var roleIDs []string
	if l, ok := obj["roles"].([]any); ok && len(l) > 0 {
		for _, x := range l {
			m, _ := x.(map[string]any)
			id := str(m, "id")
			if id == "" {
				for _, ro := range sn.roles {
					if ro.Name == str(m, "name") && ro.DomainID == "" {
						id = ro.ID
					}
				}
				if id == "" {
					return nil, fault.NotFound("Could not find role: %s.", str(m, "name")).WithType("RoleNotFound")
				}
			}
			found := false
			for _, ur := range userRoles {
				found = found || ur == id
			}
			if !found {
				return nil, fault.NotFound("Could not find role assignment with role: %s, user or group: %s, project, domain, or system: %s.", id, uid, a.ProjectID).WithType("RoleAssignmentNotFound")
			}
			roleIDs = append(roleIDs, id)
		}
	} else {
		roleIDs = append(roleIDs, a.RoleIDs...)
	}
	secret := str(obj, "secret")
	if secret == "" {
		secret = newSecret()
	}
	hash, err := password.Hash(secret, s.cfg.Identity.PasswordHashRounds)
	if err != nil {
		return nil, err
	}
	x := &store.AppCred{ID: hexID(), Name: str(obj, "name"), SecretHash: hash, Description: str(obj, "description"),
		UserID: uid, ProjectID: a.ProjectID, Unrestricted: boolean(obj, "unrestricted", false), RoleIDs: roleIDs}
	if e := str(obj, "expires_at"); e != "" {
		t, err := parseTime(e)
		if err != nil {
			return nil, err
		}
		if !t.After(time.Now()) {
			return nil, fault.BadRequest("Invalid application credential: the expiration time is in the past.").WithType("ApplicationCredentialValidationError")
		}
		x.ExpiresAt = t
	}
	if l, ok := obj["access_rules"].([]any); ok {
		for _, item := range l {
			m, _ := item.(map[string]any)
			ar := &store.AccessRule{ID: str(m, "id"), UserID: uid, Service: str(m, "service"), Path: str(m, "path"), Method: str(m, "method")}
			if ar.ID != "" && ar.Service == "" {
				old, err := s.st.GetAccessRule(ctx, ar.ID)
				if err != nil || old.UserID != uid {
					return nil, fault.NotFound("Could not find Access Rule: %s.", ar.ID).WithType("AccessRuleNotFound")
				}
				ar = old
			} else if old, err := s.st.FindAccessRule(ctx, uid, ar.Service, ar.Path, ar.Method); err == nil {
				ar = old
			} else if ar.ID == "" {
				ar.ID = hexID()
			}
			x.AccessRules = append(x.AccessRules, ar)
		}
	}
	if lim := s.cfg.AppCred.UserLimit; lim >= 0 {
		if all, err := s.st.ListAppCreds(ctx, uid); err == nil && len(all) >= lim {
			return nil, fault.Forbidden("Unable to create additional application credentials, maximum of %d already exceeded for user.", lim).WithType("ApplicationCredentialLimitExceeded")
		}
	}
	if err := s.st.Tx(ctx, func(tx *store.Store) error { return tx.CreateAppCred(ctx, x) }); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"application_credential": s.renderAppCred(s.baseURL(r), sn, x, secret)}, nil
}

func (s *Service) listAppCreds(ctx context.Context, r *rest.Request) (any, error) {
	uid := r.Param("user_id")
	if err := r.Enforce(ctx, "identity:list_application_credentials", map[string]any{"user_id": uid}); err != nil {
		return nil, err
	}
	if _, err := s.st.GetUser(ctx, uid); err != nil {
		return nil, err
	}
	xs, err := s.st.ListAppCreds(ctx, uid)
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	fs := newFilters(r.HTTP.URL.Query(), "name")
	base := s.baseURL(r)
	items := []any{}
	for _, x := range xs {
		if fs.match(func(k string) (string, bool) { return x.Name, k == "name" }) {
			items = append(items, s.renderAppCred(base, sn, x, ""))
		}
	}
	return listResponse("application_credentials", items, s.selfURL(r), 0), nil
}

func (s *Service) appCred(ctx context.Context, r *rest.Request, rule string) (*store.AppCred, error) {
	uid := r.Param("user_id")
	if err := r.Enforce(ctx, rule, map[string]any{"user_id": uid}); err != nil {
		return nil, err
	}
	x, err := s.st.GetAppCred(ctx, r.Param("application_credential_id"))
	if err != nil {
		return nil, err
	}
	if x.UserID != uid {
		return nil, store.AppCredNotFound(x.ID)
	}
	return x, nil
}

func (s *Service) getAppCred(ctx context.Context, r *rest.Request) (any, error) {
	x, err := s.appCred(ctx, r, "identity:get_application_credential")
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"application_credential": s.renderAppCred(s.baseURL(r), sn, x, "")}, nil
}

func (s *Service) deleteAppCred(ctx context.Context, r *rest.Request) (any, error) {
	x, err := s.appCred(ctx, r, "identity:delete_application_credential")
	if err != nil {
		return nil, err
	}
	a := caller(ctx, r)
	if a.AppCredentialID != "" {
		if ac, err := s.st.GetAppCred(ctx, a.AppCredentialID); err == nil && !ac.Unrestricted {
			return nil, fault.Forbidden("You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing additional application credentials.").WithType("ForbiddenAction")
		}
	}
	if err := s.st.Tx(ctx, func(tx *store.Store) error { return tx.DeleteAppCred(ctx, x.ID) }); err != nil {
		return nil, err
	}
	// Its tokens stop validating because the credential is gone; tell the
	// other services to drop what they cached.
	s.changed(ctx)
	s.announce(ctx, &store.RevocationEvent{UserID: x.UserID, ProjectID: x.ProjectID, RevokedAt: time.Now()})
	return nil, nil
}

func (s *Service) renderAccessRule(base, uid string, ar *store.AccessRule) map[string]any {
	return map[string]any{"id": ar.ID, "service": ar.Service, "path": ar.Path, "method": ar.Method,
		"links": map[string]any{"self": base + "/v3/users/" + uid + "/access_rules/" + ar.ID}}
}

func (s *Service) listAccessRules(ctx context.Context, r *rest.Request) (any, error) {
	uid := r.Param("user_id")
	if err := r.Enforce(ctx, "identity:list_access_rules", map[string]any{"user_id": uid, "target": map[string]any{"user": map[string]any{"id": uid}}}); err != nil {
		return nil, err
	}
	xs, err := s.st.ListAccessRules(ctx, uid)
	if err != nil {
		return nil, err
	}
	fs := newFilters(r.HTTP.URL.Query(), "service", "path", "method")
	base := s.baseURL(r)
	items := []any{}
	for _, ar := range xs {
		if fs.match(func(k string) (string, bool) {
			switch k {
			case "service":
				return ar.Service, true
			case "path":
				return ar.Path, true
			case "method":
				return ar.Method, true
			}
			return "", false
		}) {
			items = append(items, s.renderAccessRule(base, uid, ar))
		}
	}
	return listResponse("access_rules", items, s.selfURL(r), 0), nil
}

func (s *Service) accessRule(ctx context.Context, r *rest.Request, rule string) (*store.AccessRule, error) {
	uid := r.Param("user_id")
	if err := r.Enforce(ctx, rule, map[string]any{"user_id": uid, "target": map[string]any{"user": map[string]any{"id": uid}}}); err != nil {
		return nil, err
	}
	ar, err := s.st.GetAccessRule(ctx, r.Param("access_rule_id"))
	if err != nil {
		return nil, err
	}
	if ar.UserID != uid {
		return nil, store.AccessRuleNotFound(ar.ID)
	}
	return ar, nil
}

func (s *Service) getAccessRule(ctx context.Context, r *rest.Request) (any, error) {
	ar, err := s.accessRule(ctx, r, "identity:get_access_rule")
	if err != nil {
		return nil, err
	}
	return map[string]any{"access_rule": s.renderAccessRule(s.baseURL(r), ar.UserID, ar)}, nil
}

func (s *Service) deleteAccessRule(ctx context.Context, r *rest.Request) (any, error) {
	ar, err := s.accessRule(ctx, r, "identity:delete_access_rule")
	if err != nil {
		return nil, err
	}
	inUse, err := s.st.AccessRuleInUse(ctx, ar.ID)
	if err != nil {
		return nil, err
	}
	if inUse {
		return nil, forbidden("Cannot delete access rule %s because it is in use by an application credential.", ar.ID).WithType("AccessRuleDeletionForbidden")
	}
	return nil, s.st.DeleteAccessRule(ctx, ar.ID)
}
