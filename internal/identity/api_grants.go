package identity

import (
	"context"

	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// grantRoute says what a grant URL names: a target ("project_id",
// "domain_id" or "system") and an actor ("user_id" or "group_id").
type grantRoute struct {
	target string
	actor  string
}

// grant is a resolved grant URL.
type grant struct {
	a       store.Assignment
	user    *store.User
	group   *store.Group
	project *store.Project
	domain  *store.Project
	role    *store.Role
}

func (g grantRoute) kind() string {
	actor := "User"
	if g.actor == "group_id" {
		actor = "Group"
	}
	switch g.target {
	case "project_id":
		return actor + "Project"
	case "domain_id":
		return actor + "Domain"
	}
	return actor + "System"
}

func (g grantRoute) rule(verb string) string {
	if g.target == "system" {
		who := "user"
		if g.actor == "group_id" {
			who = "group"
		}
		switch verb {
		case "create":
			return "identity:create_system_grant_for_" + who
		case "check":
			return "identity:check_system_grant_for_" + who
		case "list":
			return "identity:list_system_grants_for_" + who
		}
		return "identity:revoke_system_grant_for_" + who
	}
	switch verb {
	case "create":
		return "identity:create_grant"
	case "check":
		return "identity:check_grant"
	case "list":
		return "identity:list_grants"
	}
	return "identity:revoke_grant"
}

// resolve loads what the URL names (404s for what is missing) and enforces
// the rule with Keystone's grant target.
func (s *Service) resolveGrant(ctx context.Context, r *rest.Request, g grantRoute, verb string, withRole, inherited bool) (*grant, error) {
	out := &grant{a: store.Assignment{Kind: g.kind(), Inherited: inherited}}
	target := map[string]any{}
	vals := map[string]any{}
	var err error
	if g.actor == "user_id" {
		if out.user, err = s.lookupUserID(ctx, r.Param("user_id")); err != nil {
			return nil, err
		}
		out.a.ActorID = out.user.ID
		target["user"] = userTarget(out.user)
		vals["user_id"] = out.user.ID
	} else {
		if out.group, err = s.lookupGroupID(ctx, r.Param("group_id")); err != nil {
			return nil, err
		}
		out.a.ActorID = out.group.ID
		target["group"] = groupTarget(out.group)
		vals["group_id"] = out.group.ID
	}
	switch g.target {
	case "project_id":
		if out.project, err = s.st.GetProject(ctx, r.Param("project_id")); err != nil {
			return nil, err
		}
		out.a.TargetID = out.project.ID
		target["project"] = projectTarget(out.project)
		vals["project_id"] = out.project.ID
	case "domain_id":
		if out.domain, err = s.st.GetDomain(ctx, r.Param("domain_id")); err != nil {
			return nil, err
		}
		out.a.TargetID = out.domain.ID
		target["domain"] = domainTarget(out.domain)
		vals["domain_id"] = out.domain.ID
	default:
		out.a.TargetID = store.SystemTarget
	}
	if withRole {
		if out.role, err = s.st.GetRole(ctx, r.Param("role_id")); err != nil {
			return nil, err
		}
		out.a.RoleID = out.role.ID
		target["role"] = roleTarget(out.role)
		vals["role_id"] = out.role.ID
	}
	vals["target"] = target
	if err := r.Enforce(ctx, g.rule(verb), vals); err != nil {
		return nil, err
	}
	return out, nil
}

func grantNotFound(gr *grant) *fault.Error {
	return fault.NotFound("Could not find role assignment with role: %s, user or group: %s, project, domain, or system: %s.",
		gr.a.RoleID, gr.a.ActorID, gr.a.TargetID).WithType("RoleAssignmentNotFound")
}

func (s *Service) putGrant(g grantRoute, inherited bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		gr, err := s.resolveGrant(ctx, r, g, "create", true, inherited)
		if err != nil {
			return nil, err
		}
		// As Keystone: a domain-specific role must match the domain of a
		// project it is granted on; on a domain target it is not checked.
		if d := gr.role.DomainID; d != "" {
			switch {
			case gr.project != nil && gr.project.DomainID != d:
				return nil, fault.Forbidden("Project %s must be in the same domain as the role %s being assigned.", gr.project.ID, gr.role.ID).WithType("DomainSpecificRoleMismatch")
			case g.target == "system":
				return nil, fault.BadRequest("Domain-specific roles cannot be granted on the system.").WithType("ValidationError")
			}
		}
		if err := s.st.Grant(ctx, gr.a); err != nil {
			return nil, err
		}
		s.changed(ctx)
		return nil, nil
	}
}

func (s *Service) grantExists(ctx context.Context, a store.Assignment) (bool, error) {
	inh := a.Inherited
	as, err := s.st.Assignments(ctx, store.AssignmentFilter{Kinds: []string{a.Kind}, ActorIDs: []string{a.ActorID},
		TargetIDs: []string{a.TargetID}, RoleIDs: []string{a.RoleID}, Inherited: &inh})
	return len(as) > 0, err
}

func (s *Service) checkGrant(g grantRoute, inherited bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		gr, err := s.resolveGrant(ctx, r, g, "check", true, inherited)
		if err != nil {
			return nil, err
		}
		ok, err := s.grantExists(ctx, gr.a)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, grantNotFound(gr)
		}
		return nil, nil
	}
}

func (s *Service) deleteGrant(g grantRoute, inherited bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		gr, err := s.resolveGrant(ctx, r, g, "revoke", true, inherited)
		if err != nil {
			return nil, err
		}
		ok, err := s.st.Revoke(ctx, gr.a)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, grantNotFound(gr)
		}
		// Tokens that carried the role there are revoked (Keystone's
		// revoke_by_grant), for the user or every member of the group.
		users := []string{gr.a.ActorID}
		if gr.group != nil {
			if users, err = s.st.UserIDsOfGroup(ctx, gr.group.ID); err != nil {
				return nil, err
			}
		}
		for _, uid := range users {
			ev := &store.RevocationEvent{UserID: uid, RoleID: gr.role.ID}
			switch {
			case gr.project != nil && !inherited:
				ev.ProjectID = gr.project.ID
			case gr.domain != nil && !inherited:
				ev.DomainID = gr.domain.ID
			}
			if err := s.st.AddRevocationEvent(ctx, ev); err != nil {
				return nil, err
			}
			s.announce(ctx, ev)
		}
		s.changed(ctx)
		return nil, nil
	}
}

func (s *Service) listGrants(g grantRoute, inherited bool) rest.Handler {
	return func(ctx context.Context, r *rest.Request) (any, error) {
		gr, err := s.resolveGrant(ctx, r, g, "list", false, inherited)
		if err != nil {
			return nil, err
		}
		inh := inherited
		as, err := s.st.Assignments(ctx, store.AssignmentFilter{Kinds: []string{gr.a.Kind}, ActorIDs: []string{gr.a.ActorID},
			TargetIDs: []string{gr.a.TargetID}, Inherited: &inh})
		if err != nil {
			return nil, err
		}
		sn, err := s.snapshot(ctx)
		if err != nil {
			return nil, err
		}
		base := s.baseURL(r)
		items := []any{}
		for _, a := range as {
			if ro := sn.roles[a.RoleID]; ro != nil {
				items = append(items, s.renderRole(base, ro))
			}
		}
		return listResponse("roles", items, s.selfURL(r), 0), nil
	}
}
