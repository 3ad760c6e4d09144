package identity

import (
	"context"
	"sort"

	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// ---- domains ----

func domainTarget(p *store.Project) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "enabled": p.Enabled}
}

func (s *Service) createDomain(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "domain")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:create_domain", map[string]any{"target": map[string]any{"domain": obj}, "domain": obj}); err != nil {
		return nil, err
	}
	id := hexID()
	if explicit := str(obj, "explicit_domain_id"); explicit != "" {
		id = explicit
	}
	d := &store.Project{ID: id, Name: str(obj, "name"), Description: str(obj, "description"), Enabled: boolean(obj, "enabled", true),
		DomainID: store.RootDomain, IsDomain: true, Tags: tagsOf(obj),
		Extra: extraOf(obj, "id", "explicit_domain_id", "name", "description", "enabled", "tags", "domain_id", "parent_id", "is_domain")}
	if err := s.st.CreateProject(ctx, d); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"domain": s.renderDomain(s.baseURL(r), d)}, nil
}

func tagsOf(obj map[string]any) []string {
	var out []string
	if l, ok := obj["tags"].([]any); ok {
		for _, t := range l {
			if s, ok := t.(string); ok {
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (s *Service) listDomains(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	if err := r.Enforce(ctx, "identity:list_domains", map[string]any{"name": q.Get("name"), "enabled": q.Get("enabled")}); err != nil {
		return nil, err
	}
	ps, err := s.st.ListProjects(ctx)
	if err != nil {
		return nil, err
	}
	fs := newFilters(q, "name", "enabled", "id")
	base := s.baseURL(r)
	items := []any{}
	for _, p := range ps {
		if !p.IsDomain {
			continue
		}
		if !fs.match(projectAttr(p)) {
			continue
		}
		items = append(items, s.renderDomain(base, p))
	}
	return listResponse("domains", items, s.selfURL(r), s.limit(s.cfg.Resource.ListLimit)), nil
}

func projectAttr(p *store.Project) func(string) (string, bool) {
	return func(k string) (string, bool) {
		switch k {
		case "id":
			return p.ID, true
		case "name":
			return p.Name, true
		case "enabled":
			return boolStr(p.Enabled), true
		case "domain_id":
			return p.DomainID, true
		case "parent_id":
			return p.ParentID, true
		case "is_domain":
			return boolStr(p.IsDomain), true
		}
		return "", false
	}
}

func (s *Service) domainOr404(ctx context.Context, id string) (*store.Project, error) {
	return s.st.GetDomain(ctx, id)
}

func (s *Service) getDomain(ctx context.Context, r *rest.Request) (any, error) {
	d, err := s.domainOr404(ctx, r.Param("domain_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:get_domain", map[string]any{"target": map[string]any{"domain": domainTarget(d)}, "domain_id": d.ID}); err != nil {
		return nil, err
	}
	return map[string]any{"domain": s.renderDomain(s.baseURL(r), d)}, nil
}

func immutable(extra map[string]any) bool {
	opts, _ := extra["options"].(map[string]any)
	b, _ := opts["immutable"].(bool)
	return b
}

// applyOptions merges an update's "options" into the stored options.
func applyOptions(extra map[string]any, obj map[string]any) {
	upd, ok := obj["options"].(map[string]any)
	if !ok {
		return
	}
	opts, _ := extra["options"].(map[string]any)
	if opts == nil {
		opts = map[string]any{}
	}
	for k, v := range upd {
		if v == nil {
			delete(opts, k)
		} else {
			opts[k] = v
		}
	}
	extra["options"] = opts
}

// immutableUpdate refuses changes to an immutable resource, except turning
// immutability off.
func immutableUpdate(kind, id string, extra, obj map[string]any) error {
	if !immutable(extra) {
		return nil
	}
	if opts, ok := obj["options"].(map[string]any); ok && len(obj) == 1 {
		if v, ok := opts["immutable"]; ok && v != true {
			return nil
		}
	}
	return forbidden("Unable to update immutable %s resource: `%s`. Set resource option \"immutable\" to false first.", kind, id).WithType("ResourceUpdateForbidden")
}

func (s *Service) updateDomain(ctx context.Context, r *rest.Request) (any, error) {
	d, err := s.domainOr404(ctx, r.Param("domain_id"))
	if err != nil {
		return nil, err
	}
	obj, _, err := body(r, "domain")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:update_domain", map[string]any{"target": map[string]any{"domain": domainTarget(d)}, "domain_id": d.ID, "domain": obj}); err != nil {
		return nil, err
	}
	if err := immutableUpdate("domain", d.ID, d.Extra, obj); err != nil {
		return nil, err
	}
	if id := str(obj, "id"); id != "" && id != d.ID {
		return nil, fault.BadRequest("Cannot change the domain ID.").WithType("ValidationError")
	}
	wasEnabled := d.Enabled
	if has(obj, "name") {
		d.Name = str(obj, "name")
	}
	if has(obj, "description") {
		d.Description = str(obj, "description")
	}
	d.Enabled = boolean(obj, "enabled", d.Enabled)
	if has(obj, "tags") {
		d.Tags = tagsOf(obj)
	}
	applyOptions(d.Extra, obj)
	d.Extra = mergeExtra(d.Extra, extraOf(obj, "id", "name", "description", "enabled", "tags", "options", "domain_id", "parent_id", "is_domain"))
	if err := s.st.UpdateProject(ctx, d); err != nil {
		return nil, err
	}
	if wasEnabled && !d.Enabled {
		if err := s.revoke(ctx, &store.RevocationEvent{DomainID: d.ID}); err != nil {
			return nil, err
		}
	} else {
		s.changed(ctx)
	}
	return map[string]any{"domain": s.renderDomain(s.baseURL(r), d)}, nil
}

func (s *Service) deleteDomain(ctx context.Context, r *rest.Request) (any, error) {
	d, err := s.domainOr404(ctx, r.Param("domain_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:delete_domain", map[string]any{"target": map[string]any{"domain": domainTarget(d)}, "domain_id": d.ID}); err != nil {
		return nil, err
	}
	if err := s.deleteDomainCascade(ctx, d); err != nil {
		return nil, err
	}
	return nil, nil
}

// deleteDomainCascade removes a disabled domain with everything in it.
func (s *Service) deleteDomainCascade(ctx context.Context, d *store.Project) error {
	if d.Enabled {
		return forbidden("Cannot delete a domain that is enabled, please disable it first.")
	}
	if immutable(d.Extra) {
		return forbidden("Unable to delete immutable domain resource: `%s`. Set resource option \"immutable\" to false first.", d.ID).WithType("ResourceDeleteForbidden")
	}
	err := s.st.Tx(ctx, func(tx *store.Store) error {
		ps, err := tx.ListProjects(ctx)
		if err != nil {
			return err
		}
		// Deepest projects first, so no parent goes before its children.
		var mine []*store.Project
		for _, p := range ps {
			if p.DomainID == d.ID && !p.IsDomain {
				mine = append(mine, p)
			}
		}
		sort.Slice(mine, func(i, j int) bool { return depthIn(ps, mine[i]) > depthIn(ps, mine[j]) })
		for _, p := range mine {
			if err := s.purgeProject(ctx, tx, p.ID); err != nil {
				return err
			}
		}
		if err := tx.DeleteIDMappings(ctx, d.ID); err != nil {
			return err
		}
		users, err := tx.ListUsers(ctx, d.ID)
		if err != nil {
			return err
		}
		for _, u := range users {
			if err := purgeUser(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		groups, err := tx.ListGroups(ctx)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if g.DomainID == d.ID {
				if err := tx.DeleteAssignmentsOf(ctx, g.ID); err != nil {
					return err
				}
				if err := tx.DeleteGroup(ctx, g.ID); err != nil {
					return err
				}
			}
		}
		roles, err := tx.ListRoles(ctx)
		if err != nil {
			return err
		}
		for _, ro := range roles {
			if ro.DomainID == d.ID {
				if err := tx.DeleteRole(ctx, ro.ID); err != nil {
					return err
				}
			}
		}
		if err := tx.DeleteAssignmentsOf(ctx, d.ID); err != nil {
			return err
		}
		if err := tx.DeleteLimitsOf(ctx, d.ID); err != nil {
			return err
		}
		if err := tx.DeleteDomainConfig(ctx, d.ID); err != nil && !fault.IsNotFound(err) {
			return err
		}
		return tx.DeleteProject(ctx, d.ID)
	})
	if err != nil {
		return err
	}
	return s.revoke(ctx, &store.RevocationEvent{DomainID: d.ID})
}

func depthIn(all []*store.Project, p *store.Project) int {
	byID := map[string]*store.Project{}
	for _, x := range all {
		byID[x.ID] = x
	}
	n := 0
	for cur := p; cur != nil && cur.ParentID != "" && n < 100; cur = byID[cur.ParentID] {
		n++
	}
	return n
}

// purgeProject removes a project and what refers to it.
func (s *Service) purgeProject(ctx context.Context, tx *store.Store, id string) error {
	if err := tx.DeleteAssignmentsOf(ctx, id); err != nil {
		return err
	}
	if err := tx.DeleteCredentialsOf(ctx, id); err != nil {
		return err
	}
	if err := tx.DeleteLimitsOf(ctx, id); err != nil {
		return err
	}
	acs, err := tx.ListAppCreds(ctx, "")
	if err != nil {
		return err
	}
	for _, ac := range acs {
		if ac.ProjectID == id {
			if err := tx.DeleteAppCred(ctx, ac.ID); err != nil {
				return err
			}
		}
	}
	return tx.DeleteProject(ctx, id)
}

// purgeUser removes a user and what refers to it.
func purgeUser(ctx context.Context, tx *store.Store, id string) error {
	if err := tx.DeleteAssignmentsOf(ctx, id); err != nil {
		return err
	}
	if err := tx.DeleteCredentialsOf(ctx, id); err != nil {
		return err
	}
	acs, err := tx.ListAppCreds(ctx, id)
	if err != nil {
		return err
	}
	for _, ac := range acs {
		if err := tx.DeleteAppCred(ctx, ac.ID); err != nil {
			return err
		}
	}
	rules, err := tx.ListAccessRules(ctx, id)
	if err != nil {
		return err
	}
	for _, ar := range rules {
		if err := tx.DeleteAccessRule(ctx, ar.ID); err != nil {
			return err
		}
	}
	trusts, err := tx.ListTrusts(ctx)
	if err != nil {
		return err
	}
	for _, t := range trusts {
		if t.TrustorUserID == id || t.TrusteeUserID == id {
			if err := tx.DeleteTrust(ctx, t.ID); err != nil {
				return err
			}
		}
	}
	return tx.DeleteUser(ctx, id)
}

func (s *Service) securityComplianceConfig(ctx context.Context, r *rest.Request) (any, error) {
	d, err := s.domainOr404(ctx, r.Param("domain_id"))
	if err != nil {
		return nil, err
	}
	if d.ID != s.cfg.Identity.DefaultDomainID {
		return nil, forbidden("Reading security compliance information for any domain other than the default domain is not allowed or supported.")
	}
	if err := r.Enforce(ctx, "identity:get_security_compliance_domain_config", map[string]any{"domain_id": d.ID}); err != nil {
		return nil, err
	}
	sc := s.cfg.SecurityCompliance
	conf := map[string]any{"password_regex": nullIfEmpty(sc.PasswordRegex), "password_regex_description": nullIfEmpty(sc.PasswordRegexDescription)}
	if opt := r.Param("option"); opt != "" {
		v, ok := conf[opt]
		if !ok {
			return nil, fault.Forbidden("Reading security compliance values other than password_regex and password_regex_description is not allowed.")
		}
		return map[string]any{opt: v}, nil
	}
	return map[string]any{"config": conf}, nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
