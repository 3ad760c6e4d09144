package identity

import (
	"context"
	"sort"

	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// raEntity is one role assignment as Keystone's assignment manager lists it:
// direct, or (effective) derived through a group, an inherited assignment or
// an implied role, named in indirect.
type raEntity struct {
	userID, groupID     string
	projectID, domainID string
	system              bool
	roleID              string
	inherited           bool
	ind                 struct{ groupID, projectID, domainID, roleID string }
}

type raQuery struct {
	userID, groupID, roleID string
	projectID, domainID     string
	system                  bool
	inherited               *bool
	effective, subtree      bool
	names                   bool
}

// roleAssignments computes GET /v3/role_assignments.
func (sn *snapshot) roleAssignments(q raQuery) []raEntity {
	var targets map[string]bool
	if q.projectID != "" {
		targets = map[string]bool{q.projectID: true}
		if q.subtree {
			for _, id := range sn.subtree(q.projectID) {
				targets[id] = true
			}
		}
	}
	keep := func(e raEntity) bool {
		switch {
		case q.userID != "" && e.userID != q.userID,
			q.groupID != "" && e.groupID != q.groupID,
			q.roleID != "" && e.roleID != q.roleID,
			targets != nil && !targets[e.projectID],
			q.domainID != "" && e.domainID != q.domainID,
			q.system && !e.system,
			q.inherited != nil && e.inherited != *q.inherited:
			return false
		}
		return true
	}
	var out []raEntity
	if !q.effective {
		for _, a := range sn.assignments {
			if e := entityOf(a); keep(e) {
				out = append(out, e)
			}
		}
		sortEntities(out)
		return out
	}
	var base []store.Assignment
	if q.userID != "" {
		for _, actor := range sn.actors(q.userID) {
			base = append(base, sn.byActor[actor]...)
		}
	} else {
		base = sn.assignments
	}
	var expanded []raEntity
	for _, a := range base {
		var users []string
		switch {
		case a.IsGroup() && q.userID != "":
			users = []string{q.userID} // base holds only the user's groups
		case a.IsGroup():
			users = sn.members(a.ActorID)
		default:
			users = []string{a.ActorID}
		}
		for _, uid := range users {
			e := raEntity{userID: uid, roleID: a.RoleID, inherited: a.Inherited}
			if a.IsGroup() {
				e.ind.groupID = a.ActorID
			}
			switch a.Kind {
			case store.UserSystem, store.GroupSystem:
				e.system = true
				expanded = append(expanded, e)
			case store.UserDomain, store.GroupDomain:
				if !a.Inherited {
					e.domainID = a.TargetID
					expanded = append(expanded, e)
					continue
				}
				var ids []string
				for id, p := range sn.projects {
					if !p.IsDomain && p.DomainID == a.TargetID {
						ids = append(ids, id)
					}
				}
				sort.Strings(ids)
				for _, id := range ids {
					x := e
					x.projectID, x.ind.domainID = id, a.TargetID
					expanded = append(expanded, x)
				}
			default:
				if !a.Inherited {
					e.projectID = a.TargetID
					expanded = append(expanded, e)
					continue
				}
				for _, id := range sn.subtree(a.TargetID) {
					x := e
					x.projectID, x.ind.projectID = id, a.TargetID
					expanded = append(expanded, x)
				}
			}
		}
	}
	// Implied roles, each naming the role that implied it.
	var withImplied []raEntity
	for _, e := range expanded {
		withImplied = append(withImplied, e)
		seen := map[string]bool{e.roleID: true}
		queue := []raEntity{e}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			for _, im := range sortedIDs(sn.implies[cur.roleID]) {
				if seen[im] {
					continue
				}
				seen[im] = true
				x := cur
				x.roleID, x.ind.roleID = im, cur.roleID
				withImplied = append(withImplied, x)
				queue = append(queue, x)
			}
		}
	}
	for _, e := range withImplied {
		if r := sn.roles[e.roleID]; r == nil || r.DomainID != "" {
			continue
		}
		f := e
		f.groupID = "" // effective entries are per user
		if keep(f) {
			out = append(out, e)
		}
	}
	return out
}

func entityOf(a store.Assignment) raEntity {
	e := raEntity{roleID: a.RoleID, inherited: a.Inherited}
	if a.IsGroup() {
		e.groupID = a.ActorID
	} else {
		e.userID = a.ActorID
	}
	switch a.Kind {
	case store.UserSystem, store.GroupSystem:
		e.system = true
	case store.UserDomain, store.GroupDomain:
		e.domainID = a.TargetID
	default:
		e.projectID = a.TargetID
	}
	return e
}

func sortEntities(es []raEntity) {
	key := func(e raEntity) string {
		return e.userID + "\x00" + e.groupID + "\x00" + e.projectID + "\x00" + e.domainID + "\x00" + e.roleID
	}
	sort.SliceStable(es, func(i, j int) bool { return key(es[i]) < key(es[j]) })
}

func (s *Service) listRoleAssignments(ctx context.Context, r *rest.Request) (any, error) {
	v := r.HTTP.URL.Query()
	a := caller(ctx, r)
	q := raQuery{userID: v.Get("user.id"), groupID: v.Get("group.id"), roleID: v.Get("role.id"),
		projectID: v.Get("scope.project.id"), domainID: v.Get("scope.domain.id"), system: v.Get("scope.system") != "",
		effective: v.Has("effective") && queryBool(v.Get("effective")), subtree: v.Has("include_subtree") && queryBool(v.Get("include_subtree")),
		names: v.Has("include_names") && queryBool(v.Get("include_names"))}
	if v.Has("scope.OS-INHERIT:inherited_to") {
		b := v.Get("scope.OS-INHERIT:inherited_to") == "projects"
		q.inherited = &b
	}
	filters := map[string]any{}
	for _, k := range []string{"group.id", "role.id", "scope.domain.id", "scope.project.id", "scope.OS-INHERIT:inherited_to", "user.id", "scope.system"} {
		if v.Has(k) {
			filters[k] = v.Get(k)
		}
	}
	if q.subtree {
		if q.projectID == "" {
			return nil, fault.BadRequest("scope.project.id must be specified if include_subtree is also specified").WithType("ValidationError")
		}
		p, err := s.st.GetProject(ctx, q.projectID)
		if err != nil {
			return nil, err
		}
		filters["target"] = map[string]any{"project": projectTarget(p)}
		if err := r.Enforce(ctx, "identity:list_role_assignments_for_tree", filters); err != nil {
			return nil, err
		}
	} else {
		if a.DomainID != "" {
			filters["target"] = map[string]any{"domain_id": a.DomainID}
		}
		if err := r.Enforce(ctx, "identity:list_role_assignments", filters); err != nil {
			return nil, err
		}
	}
	switch {
	case q.domainID != "" && q.projectID != "":
		return nil, fault.BadRequest("Specify a domain or project, not both").WithType("ValidationError")
	case q.domainID != "" && q.system:
		return nil, fault.BadRequest("Specify system or domain, not both").WithType("ValidationError")
	case q.projectID != "" && q.system:
		return nil, fault.BadRequest("Specify system or project, not both").WithType("ValidationError")
	case q.userID != "" && q.groupID != "":
		return nil, fault.BadRequest("Specify a user or group, not both").WithType("ValidationError")
	case q.effective && q.groupID != "":
		return nil, fault.BadRequest("Combining effective and group filter will always result in an empty list.").WithType("ValidationError")
	case q.effective && q.inherited != nil && *q.inherited && q.domainID != "":
		return nil, fault.BadRequest("Combining effective, domain and inherited filters will always result in an empty list.").WithType("ValidationError")
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	ents := sn.roleAssignments(q)
	base := s.baseURL(r) + "/v3"
	items := []any{}
	for _, e := range ents {
		if a.DomainID != "" {
			inDomain := e.domainID == a.DomainID
			if p := sn.projects[e.projectID]; p != nil && p.DomainID == a.DomainID {
				inDomain = true
			}
			if !inDomain {
				continue
			}
		}
		items = append(items, s.formatAssignment(ctx, sn, base, e, q.names))
	}
	return map[string]any{"role_assignments": items, "links": collectionLinks(s.selfURL(r))}, nil
}

// formatAssignment is Keystone's _format_entity.
func (s *Service) formatAssignment(ctx context.Context, sn *snapshot, base string, e raEntity, names bool) map[string]any {
	out := map[string]any{}
	links := map[string]any{}
	link := ""
	inherited := e.inherited
	nameOf := func(p *store.Project) string {
		if p == nil {
			return ""
		}
		return p.Name
	}
	switch {
	case e.projectID != "":
		proj := map[string]any{"id": e.projectID}
		if names {
			p := sn.projects[e.projectID]
			proj["name"] = nameOf(p)
			if p != nil {
				proj["domain"] = map[string]any{"id": p.DomainID, "name": nameOf(sn.projects[p.DomainID])}
			}
		}
		out["scope"] = map[string]any{"project": proj}
		switch {
		case e.ind.domainID != "":
			inherited = true
			link = "/domains/" + e.ind.domainID
		case e.ind.projectID != "":
			inherited = true
			link = "/projects/" + e.ind.projectID
		default:
			link = "/projects/" + e.projectID
		}
	case e.domainID != "":
		dom := map[string]any{"id": e.domainID}
		if names {
			dom["name"] = nameOf(sn.projects[e.domainID])
		}
		out["scope"] = map[string]any{"domain": dom}
		link = "/domains/" + e.domainID
	case e.system:
		out["scope"] = map[string]any{"system": map[string]any{"all": true}}
		link = "/system"
	}
	switch {
	case e.userID != "":
		u := map[string]any{"id": e.userID}
		if names {
			if usr, err := s.user(ctx, e.userID); err == nil {
				u["name"] = usr.Name
				u["domain"] = map[string]any{"id": usr.DomainID, "name": nameOf(sn.projects[usr.DomainID])}
			}
		}
		out["user"] = u
		if e.ind.groupID != "" {
			links["membership"] = base + "/groups/" + e.ind.groupID + "/users/" + e.userID
			link += "/groups/" + e.ind.groupID
		} else {
			link += "/users/" + e.userID
		}
	case e.groupID != "":
		g := map[string]any{"id": e.groupID}
		if names {
			if grp, err := s.st.GetGroup(ctx, e.groupID); err == nil {
				g["name"] = grp.Name
				g["domain"] = map[string]any{"id": grp.DomainID, "name": nameOf(sn.projects[grp.DomainID])}
			}
		}
		out["group"] = g
		link += "/groups/" + e.groupID
	}
	role := map[string]any{"id": e.roleID}
	if names {
		if ro := sn.roles[e.roleID]; ro != nil {
			role["name"] = ro.Name
			if ro.DomainID != "" {
				role["domain"] = map[string]any{"id": ro.DomainID, "name": nameOf(sn.projects[ro.DomainID])}
			}
		}
	}
	out["role"] = role
	if e.ind.roleID != "" {
		link += "/roles/" + e.ind.roleID
		links["prior_role"] = base + "/prior_role/" + e.roleID + "/implies/" + e.ind.roleID
	} else {
		link += "/roles/" + e.roleID
	}
	if inherited {
		if sc, ok := out["scope"].(map[string]any); ok {
			sc["OS-INHERIT:inherited_to"] = "projects"
		}
		link = "/OS-INHERIT" + link + "/inherited_to_projects"
	}
	links["assignment"] = base + link
	out["links"] = links
	return out
}
