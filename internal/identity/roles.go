package identity

import (
	"slices"
	"sort"

	wire "github.com/tenku-cloud/tenku/api/identity"
	"github.com/tenku-cloud/tenku/internal/identity/store"
)

// Effective roles, computed as Keystone's assignment manager does: direct
// assignments to the user and to its groups, assignments inherited from the
// project's ancestors and its domain (OS-INHERIT), then implied roles added
// transitively, then domain-specific roles removed (they never appear in a
// token; only what they imply does).

// actors returns the user and its groups.
func (sn *snapshot) actors(userID string) []string {
	out := append([]string{userID}, sn.groupsOf[userID]...)
	if sn.extraGroups != nil {
		out = append(out, sn.extraGroups(userID)...)
	}
	return out
}

// members returns the users of a group, SQL or directory, sorted.
func (sn *snapshot) members(groupID string) []string {
	var out []string
	for uid, gs := range sn.groupsOf {
		if slices.Contains(gs, groupID) {
			out = append(out, uid)
		}
	}
	if sn.extraMembers != nil {
		out = append(out, sn.extraMembers(groupID)...)
	}
	sort.Strings(out)
	return out
}

// ancestors returns a project's parent projects, nearest first (not its domain).
func (sn *snapshot) ancestors(projectID string) []string {
	var out []string
	seen := map[string]bool{projectID: true}
	p := sn.projects[projectID]
	for p != nil && p.ParentID != "" && !seen[p.ParentID] {
		parent := sn.projects[p.ParentID]
		if parent == nil || parent.IsDomain {
			break
		}
		seen[parent.ID] = true
		out = append(out, parent.ID)
		p = parent
	}
	return out
}

// subtree returns the ids of a project's descendants (not itself).
func (sn *snapshot) subtree(projectID string) []string {
	var out []string
	stack := slices.Clone(sn.children[projectID])
	seen := map[string]bool{projectID: true}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
		stack = append(stack, sn.children[id]...)
	}
	sort.Strings(out)
	return out
}

// directRoleIDs returns the role ids assigned to the user (or its groups) on
// a target, before implied roles: for a project, its own assignments and the
// inherited ones of its ancestors and domain.
func (sn *snapshot) directRoleIDs(userID, targetID string, onProject bool) []string {
	set := map[string]bool{}
	var inheritedFrom map[string]bool
	if onProject {
		inheritedFrom = map[string]bool{}
		for _, a := range sn.ancestors(targetID) {
			inheritedFrom[a] = true
		}
		if p := sn.projects[targetID]; p != nil {
			inheritedFrom[p.DomainID] = true
		}
	}
	for _, actor := range sn.actors(userID) {
		for _, a := range sn.byActor[actor] {
			switch {
			case a.Kind == store.UserSystem || a.Kind == store.GroupSystem:
				continue
			case a.TargetID == targetID && !a.Inherited:
				if onProject == (a.Kind == store.UserProject || a.Kind == store.GroupProject) {
					set[a.RoleID] = true
				}
			case onProject && a.Inherited && inheritedFrom[a.TargetID]:
				set[a.RoleID] = true
			}
		}
	}
	return keys(set)
}

// systemDirectRoleIDs returns the system role ids of a user and its groups.
func (sn *snapshot) systemDirectRoleIDs(userID string) []string {
	set := map[string]bool{}
	for _, actor := range sn.actors(userID) {
		for _, a := range sn.byActor[actor] {
			if a.Kind == store.UserSystem || a.Kind == store.GroupSystem {
				set[a.RoleID] = true
			}
		}
	}
	return keys(set)
}

// expand adds implied roles, transitively.
func (sn *snapshot) expand(ids []string) []string {
	set := map[string]bool{}
	stack := slices.Clone(ids)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if set[id] {
			continue
		}
		set[id] = true
		stack = append(stack, sn.implies[id]...)
	}
	return keys(set)
}

// effective expands implied roles and drops domain-specific and unknown ones.
func (sn *snapshot) effective(ids []string) []string {
	var out []string
	for _, id := range sn.expand(ids) {
		if r := sn.roles[id]; r != nil && r.DomainID == "" {
			out = append(out, id)
		}
	}
	return out
}

// projectRoles are a user's effective role ids on a project.
func (sn *snapshot) projectRoles(userID, projectID string) []string {
	return sn.effective(sn.directRoleIDs(userID, projectID, true))
}

// domainRoles are a user's effective role ids on a domain.
func (sn *snapshot) domainRoles(userID, domainID string) []string {
	return sn.effective(sn.directRoleIDs(userID, domainID, false))
}

// systemRoles are a user's effective role ids on the system.
func (sn *snapshot) systemRoles(userID string) []string {
	return sn.effective(sn.systemDirectRoleIDs(userID))
}

// roleRefs turns role ids into id/name pairs, ordered by name.
func (sn *snapshot) roleRefs(ids []string) []wire.IDName {
	out := make([]wire.IDName, 0, len(ids))
	for _, id := range ids {
		if r := sn.roles[id]; r != nil {
			out = append(out, wire.IDName{ID: r.ID, Name: r.Name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func keys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
