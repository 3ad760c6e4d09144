package identity

import (
	"context"
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
