package identity

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// JSON schemas of Keystone's resource API (keystone/resource/schema.py).
const (
	nameSchema64    = `{"type":"string","minLength":1,"maxLength":64,"pattern":"[\\S]+"}`
	tagSchema       = `{"type":"string","minLength":1,"maxLength":255,"pattern":"^[^,/]*$"}`
	tagsSchema      = `{"type":"array","items":` + tagSchema + `,"maxItems":80,"uniqueItems":true}`
	idSchema        = `{"type":"string","minLength":1,"maxLength":64,"pattern":"^[a-zA-Z0-9-]+$"}`
	nullableID      = `{"type":["string","null"],"minLength":1,"maxLength":64,"pattern":"^[a-zA-Z0-9-]+$"}`
	nullableDesc    = `{"type":["string","null"]}`
	immutableOption = `{"type":"object","properties":{"immutable":{"type":["boolean","null"]}},"additionalProperties":false}`

	projectProps = `"description":` + nullableDesc + `,"domain_id":` + nullableID + `,"enabled":{"type":"boolean"},` +
		`"is_domain":{"type":"boolean"},"parent_id":` + nullableID + `,"name":` + nameSchema64 + `,"tags":` + tagsSchema +
		`,"options":` + immutableOption
	projectCreateSchema = `{"type":"object","properties":{"project":{"type":"object","properties":{` + projectProps + `},"required":["name"]}},"required":["project"]}`
	projectUpdateSchema = `{"type":"object","properties":{"project":{"type":"object","properties":{` + projectProps + `},"minProperties":1}},"required":["project"]}`

	domainProps = `"description":` + nullableDesc + `,"enabled":{"type":"boolean"},"name":` + nameSchema64 + `,"tags":` + tagsSchema +
		`,"options":` + immutableOption
	domainCreateSchema = `{"type":"object","properties":{"domain":{"type":"object","properties":{` + domainProps + `},"required":["name"]}},"required":["domain"]}`
	domainUpdateSchema = `{"type":"object","properties":{"domain":{"type":"object","properties":{` + domainProps + `},"minProperties":1}},"required":["domain"]}`
	tagsUpdateSchema   = `{"type":"object","properties":{"tags":` + tagsSchema + `},"required":["tags"]}`
)

// maxProjectDepth is Keystone's [resource] max_project_tree_depth.
const maxProjectDepth = 5

func (s *Service) projectRoutes() []rest.Route {
	return []rest.Route{
		{Method: "POST", Path: "/v3/domains", Status: 201, Schema: domainCreateSchema, Handler: s.createDomain},
		{Method: "GET", Path: "/v3/domains", Handler: s.listDomains},
		{Method: "GET", Path: "/v3/domains/{domain_id}", Handler: s.getDomain},
		{Method: "PATCH", Path: "/v3/domains/{domain_id}", Schema: domainUpdateSchema, Handler: s.updateDomain},
		{Method: "DELETE", Path: "/v3/domains/{domain_id}", Status: 204, Handler: s.deleteDomain},
		{Method: "GET", Path: "/v3/domains/{domain_id}/config/security_compliance", Handler: s.securityComplianceConfig},
		{Method: "GET", Path: "/v3/domains/{domain_id}/config/security_compliance/{option}", Handler: s.securityComplianceConfig},

		{Method: "POST", Path: "/v3/projects", Status: 201, Schema: projectCreateSchema, Handler: s.createProject},
		{Method: "GET", Path: "/v3/projects", Handler: s.listProjects},
		{Method: "GET", Path: "/v3/projects/{project_id}", Handler: s.getProject},
		{Method: "PATCH", Path: "/v3/projects/{project_id}", Schema: projectUpdateSchema, Handler: s.updateProject},
		{Method: "DELETE", Path: "/v3/projects/{project_id}", Status: 204, Handler: s.deleteProject},

		{Method: "GET", Path: "/v3/projects/{project_id}/tags", Handler: s.listProjectTags},
		{Method: "PUT", Path: "/v3/projects/{project_id}/tags", Schema: tagsUpdateSchema, Handler: s.setProjectTags},
		{Method: "DELETE", Path: "/v3/projects/{project_id}/tags", Status: 204, Handler: s.deleteProjectTags},
		{Method: "GET", Path: "/v3/projects/{project_id}/tags/{value}", Status: 204, Handler: s.checkProjectTag},
		{Method: "PUT", Path: "/v3/projects/{project_id}/tags/{value}", Status: 201, Handler: s.addProjectTag},
		{Method: "DELETE", Path: "/v3/projects/{project_id}/tags/{value}", Status: 204, Handler: s.deleteProjectTag},
	}
}

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

// ---- projects ----

func projectTarget(p *store.Project) map[string]any {
	t := map[string]any{"id": p.ID, "name": p.Name, "domain_id": p.DomainID, "enabled": p.Enabled, "is_domain": p.IsDomain}
	if p.ParentID != "" {
		t["parent_id"] = p.ParentID
	} else {
		t["parent_id"] = nil
	}
	return t
}

func (s *Service) createProject(ctx context.Context, r *rest.Request) (any, error) {
	obj, _, err := body(r, "project")
	if err != nil {
		return nil, err
	}
	a := caller(ctx, r)
	isDomain := boolean(obj, "is_domain", false)
	domainID, parentID := str(obj, "domain_id"), str(obj, "parent_id")
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if isDomain {
		if domainID != "" || parentID != "" {
			return nil, fault.BadRequest("Projects acting as domains cannot have a domain_id or a parent_id.").WithType("ValidationError")
		}
	} else if domainID == "" {
		switch {
		case parentID != "":
			if parent := sn.projects[parentID]; parent != nil {
				domainID = parent.DomainID
				if parent.IsDomain {
					domainID = parent.ID
				}
			}
		case a != nil && a.DomainID != "":
			domainID = a.DomainID
		default:
			domainID = s.cfg.Identity.DefaultDomainID
		}
	}
	target := map[string]any{}
	for k, v := range obj {
		target[k] = v
	}
	if !isDomain {
		target["domain_id"] = domainID
	}
	if err := r.Enforce(ctx, "identity:create_project", map[string]any{"target": map[string]any{"project": target}, "project": target}); err != nil {
		return nil, err
	}
	p := &store.Project{ID: hexID(), Name: str(obj, "name"), Description: str(obj, "description"), Enabled: boolean(obj, "enabled", true),
		IsDomain: isDomain, Tags: tagsOf(obj),
		Extra: extraOf(obj, "id", "name", "description", "enabled", "tags", "domain_id", "parent_id", "is_domain")}
	if isDomain {
		p.DomainID = store.RootDomain
	} else {
		dom := sn.projects[domainID]
		if dom == nil || !dom.IsDomain {
			return nil, fault.NotFound("Could not find domain: %s.", domainID).WithType("DomainNotFound")
		}
		p.DomainID = domainID
		if parentID == "" || parentID == domainID {
			p.ParentID = domainID
		} else {
			parent := sn.projects[parentID]
			if parent == nil {
				return nil, fault.NotFound("Could not find project: %s.", parentID).WithType("ProjectNotFound")
			}
			if parent.IsDomain || parent.DomainID != domainID {
				return nil, fault.BadRequest("Cannot create project with parent in a different domain.").WithType("ValidationError")
			}
			if len(sn.ancestors(parentID))+2 > maxProjectDepth {
				return nil, forbidden("Max hierarchy depth reached for %s branch.", parentID)
			}
			for _, id := range append([]string{parentID}, sn.ancestors(parentID)...) {
				if !sn.projects[id].Enabled {
					return nil, fault.BadRequest("cannot create a project in a branch containing a disabled project: %s", id).WithType("ValidationError")
				}
			}
			p.ParentID = parentID
		}
	}
	if err := s.st.CreateProject(ctx, p); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"project": s.renderProject(s.baseURL(r), p)}, nil
}

func (s *Service) listProjects(ctx context.Context, r *rest.Request) (any, error) {
	q := r.HTTP.URL.Query()
	a := caller(ctx, r)
	target := map[string]any{}
	for _, k := range []string{"domain_id", "enabled", "name", "parent_id", "is_domain"} {
		if q.Has(k) {
			target[k] = q.Get(k)
		}
	}
	if a.DomainID != "" {
		target["target"] = map[string]any{"domain_id": a.DomainID}
	}
	if err := r.Enforce(ctx, "identity:list_projects", target); err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	fs := newFilters(q, "name", "enabled", "domain_id", "parent_id", "id")
	isDomain := q.Has("is_domain") && queryBool(q.Get("is_domain"))
	tags := tagFilter(q)
	base := s.baseURL(r)
	var list []*store.Project
	for _, p := range sn.projects {
		if p.IsDomain != isDomain {
			continue
		}
		if a.DomainID != "" && p.DomainID != a.DomainID {
			continue
		}
		if !fs.match(projectAttr(p)) || !tags(p.Tags) {
			continue
		}
		list = append(list, p)
	}
	store.SortProjects(list)
	items := []any{}
	for _, p := range list {
		items = append(items, s.renderProject(base, p))
	}
	return listResponse("projects", items, s.selfURL(r), s.limit(s.cfg.Resource.ListLimit)), nil
}

// tagFilter is Keystone's tags, tags-any, not-tags and not-tags-any filters.
func tagFilter(q map[string][]string) func([]string) bool {
	split := func(k string) []string {
		v := ""
		if vs := q[k]; len(vs) > 0 {
			v = vs[len(vs)-1]
		}
		if v == "" {
			return nil
		}
		return strings.Split(v, ",")
	}
	all, anyOf, notAll, notAny := split("tags"), split("tags-any"), split("not-tags"), split("not-tags-any")
	return func(tags []string) bool {
		hasTag := func(t string) bool {
			for _, x := range tags {
				if x == t {
					return true
				}
			}
			return false
		}
		for _, t := range all {
			if !hasTag(t) {
				return false
			}
		}
		if len(anyOf) > 0 {
			ok := false
			for _, t := range anyOf {
				ok = ok || hasTag(t)
			}
			if !ok {
				return false
			}
		}
		if len(notAll) > 0 {
			every := true
			for _, t := range notAll {
				every = every && hasTag(t)
			}
			if every {
				return false
			}
		}
		for _, t := range notAny {
			if hasTag(t) {
				return false
			}
		}
		return true
	}
}

func (s *Service) projectOr404(ctx context.Context, id string) (*store.Project, error) {
	p, err := s.st.GetProject(ctx, id)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) getProject(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.projectOr404(ctx, r.Param("project_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:get_project", map[string]any{"target": map[string]any{"project": projectTarget(p)}, "project_id": p.ID}); err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	out := s.renderProject(base, p)
	q := r.HTTP.URL.Query()
	if q.Has("parents_as_list") || q.Has("parents_as_ids") || q.Has("subtree_as_list") || q.Has("subtree_as_ids") {
		sn, err := s.snapshot(ctx)
		if err != nil {
			return nil, err
		}
		proj := out
		if q.Has("parents_as_list") && q.Has("parents_as_ids") || q.Has("subtree_as_list") && q.Has("subtree_as_ids") {
			return nil, fault.BadRequest("Cannot use parents_as_list and parents_as_ids query params at the same time.").WithType("ValidationError")
		}
		if q.Has("parents_as_list") {
			var l []any
			for _, id := range sn.ancestors(p.ID) {
				l = append(l, map[string]any{"project": s.renderProject(base, sn.projects[id])})
			}
			if l == nil {
				l = []any{}
			}
			proj.Parents = l
		}
		if q.Has("parents_as_ids") {
			proj.Parents = parentIDs(sn, p.ID)
		}
		if q.Has("subtree_as_list") {
			l := []any{}
			for _, id := range sn.subtree(p.ID) {
				l = append(l, map[string]any{"project": s.renderProject(base, sn.projects[id])})
			}
			proj.Subtree = l
		}
		if q.Has("subtree_as_ids") {
			proj.Subtree = subtreeIDs(sn, p.ID)
		}
		return map[string]any{"project": proj}, nil
	}
	return map[string]any{"project": out}, nil
}

// parentIDs is the nested {"parent": {"grandparent": null}} form.
func parentIDs(sn *snapshot, id string) any {
	anc := sn.ancestors(id)
	var cur any
	for i := len(anc) - 1; i >= 0; i-- {
		cur = map[string]any{anc[i]: cur}
	}
	if cur == nil {
		return map[string]any{}
	}
	return cur
}

func subtreeIDs(sn *snapshot, id string) any {
	kids := sn.children[id]
	if len(kids) == 0 {
		return nil
	}
	out := map[string]any{}
	for _, k := range kids {
		out[k] = subtreeIDs(sn, k)
	}
	return out
}

func (s *Service) updateProject(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.projectOr404(ctx, r.Param("project_id"))
	if err != nil {
		return nil, err
	}
	obj, _, err := body(r, "project")
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:update_project", map[string]any{"target": map[string]any{"project": projectTarget(p)}, "project_id": p.ID, "project": obj}); err != nil {
		return nil, err
	}
	if err := immutableUpdate("project", p.ID, p.Extra, obj); err != nil {
		return nil, err
	}
	if has(obj, "domain_id") && str(obj, "domain_id") != p.DomainID && !(p.IsDomain && obj["domain_id"] == nil) {
		return nil, fault.BadRequest("Cannot change the domain ID of a project.").WithType("ValidationError")
	}
	if has(obj, "parent_id") && str(obj, "parent_id") != p.ParentID {
		return nil, forbidden("Update of `parent_id` is not allowed.")
	}
	if has(obj, "is_domain") && boolean(obj, "is_domain", p.IsDomain) != p.IsDomain {
		return nil, fault.BadRequest("Update of `is_domain` is not allowed.").WithType("ValidationError")
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	wasEnabled := p.Enabled
	if has(obj, "name") {
		p.Name = str(obj, "name")
	}
	if has(obj, "description") {
		p.Description = str(obj, "description")
	}
	p.Enabled = boolean(obj, "enabled", p.Enabled)
	if !wasEnabled && p.Enabled {
		for _, id := range sn.ancestors(p.ID) {
			if !sn.projects[id].Enabled {
				return nil, forbidden("Cannot enable project %s since it has disabled parents", p.ID)
			}
		}
	}
	if has(obj, "tags") {
		p.Tags = tagsOf(obj)
	}
	applyOptions(p.Extra, obj)
	p.Extra = mergeExtra(p.Extra, extraOf(obj, "id", "name", "description", "enabled", "tags", "options", "domain_id", "parent_id", "is_domain"))
	if err := s.st.UpdateProject(ctx, p); err != nil {
		return nil, err
	}
	if wasEnabled && !p.Enabled {
		ev := &store.RevocationEvent{ProjectID: p.ID}
		if p.IsDomain {
			ev = &store.RevocationEvent{DomainID: p.ID}
		}
		if err := s.revoke(ctx, ev); err != nil {
			return nil, err
		}
	} else {
		s.changed(ctx)
	}
	return map[string]any{"project": s.renderProject(s.baseURL(r), p)}, nil
}

func (s *Service) deleteProject(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.projectOr404(ctx, r.Param("project_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, "identity:delete_project", map[string]any{"target": map[string]any{"project": projectTarget(p)}, "project_id": p.ID}); err != nil {
		return nil, err
	}
	if p.IsDomain {
		return nil, s.deleteDomainCascade(ctx, p)
	}
	if immutable(p.Extra) {
		return nil, forbidden("Unable to delete immutable project resource: `%s`. Set resource option \"immutable\" to false first.", p.ID).WithType("ResourceDeleteForbidden")
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	ids := []string{p.ID}
	if sub := sn.subtree(p.ID); len(sub) > 0 {
		if !r.HTTP.URL.Query().Has("cascade") {
			return nil, forbidden("Cannot delete the project %s since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree.", p.ID)
		}
		for _, id := range sub {
			if sn.projects[id].Enabled {
				return nil, forbidden("Cannot delete project %s since its subtree contains enabled projects.", p.ID)
			}
		}
		ids = append(sub, p.ID)
	}
	sort.Slice(ids[:len(ids)-1], func(i, j int) bool { return len(sn.ancestors(ids[i])) > len(sn.ancestors(ids[j])) })
	err = s.st.Tx(ctx, func(tx *store.Store) error {
		for _, id := range ids {
			if err := s.purgeProject(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := s.revoke(ctx, &store.RevocationEvent{ProjectID: id}); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// ---- tags ----

func (s *Service) tagProject(ctx context.Context, r *rest.Request, rule string) (*store.Project, error) {
	p, err := s.projectOr404(ctx, r.Param("project_id"))
	if err != nil {
		return nil, err
	}
	if err := r.Enforce(ctx, rule, map[string]any{"target": map[string]any{"project": projectTarget(p)}, "project_id": p.ID}); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) listProjectTags(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.tagProject(ctx, r, "identity:list_project_tags")
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags": p.Tags}, nil
}

func (s *Service) setProjectTags(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.tagProject(ctx, r, "identity:update_project_tags")
	if err != nil {
		return nil, err
	}
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	var in struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fault.BadRequest("Malformed request body: %v", err).WithType("ValidationError")
	}
	sort.Strings(in.Tags)
	p.Tags = in.Tags
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if err := s.st.SetProjectTags(ctx, p.ID, p.Tags); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"tags": p.Tags, "project": s.renderProject(s.baseURL(r), p)}, nil
}

func (s *Service) deleteProjectTags(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.tagProject(ctx, r, "identity:delete_project_tags")
	if err != nil {
		return nil, err
	}
	if err := s.st.SetProjectTags(ctx, p.ID, nil); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return nil, nil
}

func (s *Service) checkProjectTag(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.tagProject(ctx, r, "identity:get_project_tag")
	if err != nil {
		return nil, err
	}
	for _, t := range p.Tags {
		if t == r.Param("value") {
			return nil, nil
		}
	}
	return nil, fault.NotFound("Tag %s not found for project %s", r.Param("value"), p.ID).WithType("ProjectTagNotFound")
}

func (s *Service) addProjectTag(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.tagProject(ctx, r, "identity:create_project_tag")
	if err != nil {
		return nil, err
	}
	tag := r.Param("value")
	if tag == "" || len(tag) > 255 || strings.ContainsAny(tag, ",/") {
		return nil, fault.BadRequest("Invalid input for field 'tag': %q does not match '^[^,/]*$'", tag).WithType("ValidationError")
	}
	for _, t := range p.Tags {
		if t == tag {
			return &rest.Response{Status: http.StatusCreated, Header: http.Header{"Location": {s.selfURL(r)}}}, nil
		}
	}
	if len(p.Tags) >= 80 {
		return nil, fault.BadRequest("The number of tags is over the limit of 80.").WithType("ValidationError")
	}
	p.Tags = append(p.Tags, tag)
	if err := s.st.SetProjectTags(ctx, p.ID, p.Tags); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return &rest.Response{Status: http.StatusCreated, Header: http.Header{"Location": {s.selfURL(r)}}}, nil
}

func (s *Service) deleteProjectTag(ctx context.Context, r *rest.Request) (any, error) {
	p, err := s.tagProject(ctx, r, "identity:delete_project_tag")
	if err != nil {
		return nil, err
	}
	tag := r.Param("value")
	var keep []string
	found := false
	for _, t := range p.Tags {
		if t == tag {
			found = true
			continue
		}
		keep = append(keep, t)
	}
	if !found {
		return nil, fault.NotFound("Tag %s not found for project %s", tag, p.ID).WithType("ProjectTagNotFound")
	}
	if err := s.st.SetProjectTags(ctx, p.ID, keep); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return nil, nil
}
