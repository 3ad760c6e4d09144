package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"

	identity "github.com/tenku-cloud/tenku/api/identity"
)

// Horizon's "Manage Members" of a project (the users and groups holding
// roles on it, and the roles each holds) and of a group (its users). Every
// change is one Keystone grant or membership call with the user's token.

// member is a user or group of a project with the roles it holds there
// directly, or a user of a group (no roles).
type member struct {
	Kind  string // "user" or "group"
	ID    string
	Name  string
	Roles []identity.IDName
}

type membersData struct {
	Kind    string // "project" or "group"
	ID      string
	Name    string
	Members []member
	Users   []identity.User // the choices of the add form
	Groups  []identity.Group
	Roles   []identity.Role
}

// optional keeps a list Keystone's policy refuses out of the page (the add
// form then offers less) and shows any other failure.
func optional(p *page, err error) {
	if err != nil && statusOf(err) != http.StatusForbidden {
		p.fail(err)
	}
}

// projectMembersPage shows who holds which role on a project, in one fan-out.
func (d *Dashboard) projectMembersPage(p *page) error {
	p.Title = "Manage Members"
	id := p.r.PathValue("id")
	var (
		pr struct {
			Project identity.Project `json:"project"`
		}
		asg struct {
			RoleAssignments []assignment `json:"role_assignments"`
		}
		users  struct{ Users []identity.User }
		groups struct{ Groups []identity.Group }
		roles  struct{ Roles []identity.Role }
	)
	get := func(path string, out any) func(context.Context) error {
		return func(ctx context.Context) error { return p.cl.keystone(ctx, "GET", path, nil, out) }
	}
	errs := fanout(p.ctx, get("/projects/"+url.PathEscape(id), &pr),
		get("/role_assignments?include_names=true&scope.project.id="+url.QueryEscape(id), &asg),
		get("/users", &users), get("/groups", &groups), get("/roles", &roles))
	if errs[0] != nil {
		return errs[0]
	}
	if errs[1] != nil {
		return errs[1]
	}
	for _, err := range errs[2:] {
		optional(p, err)
	}
	data := &membersData{Kind: "project", ID: id, Name: pr.Project.Name, Users: users.Users, Groups: groups.Groups, Roles: roles.Roles}
	at := map[string]int{}
	for _, a := range asg.RoleAssignments {
		if a.Scope.Project == nil || a.Scope.Project.ID != id {
			continue
		}
		key := a.WhoKind() + ":" + a.whoID()
		i, ok := at[key]
		if !ok {
			i = len(data.Members)
			at[key] = i
			data.Members = append(data.Members, member{Kind: a.WhoKind(), ID: a.whoID(), Name: a.WhoName()})
		}
		data.Members[i].Roles = append(data.Members[i].Roles, a.Role)
	}
	sort.Slice(data.Members, func(i, j int) bool {
		a, b := data.Members[i], data.Members[j]
		if a.Kind != b.Kind {
			return a.Kind > b.Kind // users first
		}
		return a.Name < b.Name
	})
	for _, m := range data.Members {
		sort.Slice(m.Roles, func(i, j int) bool { return m.Roles[i].Name < m.Roles[j].Name })
	}
	p.Data = data
	return nil
}

// whoID is the id of an assignment's actor.
func (a assignment) whoID() string {
	switch {
	case a.User != nil:
		return a.User.ID
	case a.Group != nil:
		return a.Group.ID
	}
	return ""
}

// projectMember gives a role on the project to a user or group (op add) or
// takes it away (op remove). The session's user keeps its own roles in the
// project it works in: taking one away would end the session's token.
func (d *Dashboard) projectMember(p *page) (string, error) {
	id := p.r.PathValue("id")
	f := p.r.PostForm
	kind, actor, _ := strings.Cut(f.Get("actor"), ":")
	role := f.Get("role_id")
	if kind != "user" && kind != "group" || actor == "" || role == "" {
		return "", badRequest("Choose a user or group and a role.")
	}
	method := "PUT"
	switch f.Get("op") {
	case "add":
	case "remove":
		if kind == "user" && actor == p.info.tok.User.ID && id == p.s.ProjectID {
			return "", badRequest("You cannot remove your own role in the project you are working in.")
		}
		method = "DELETE"
	default:
		return "", badRequest("op must be add or remove")
	}
	path := "/projects/" + url.PathEscape(id) + "/" + kind + "s/" + url.PathEscape(actor) + "/roles/" + url.PathEscape(role)
	if err := p.cl.keystone(p.ctx, method, path, nil, nil); err != nil {
		return "", err
	}
	if method == "PUT" {
		d.flashT(p, "Added the role assignment.")
	} else {
		d.flashT(p, "Removed the role assignment.")
	}
	return "/identity/projects/" + url.PathEscape(id) + "/members/", nil
}

// groupMembersPage shows a group's users and the users that may be added.
func (d *Dashboard) groupMembersPage(p *page) error {
	p.Title = "Manage Members"
	id := p.r.PathValue("id")
	var (
		g struct {
			Group identity.Group `json:"group"`
		}
		in, all struct{ Users []identity.User }
	)
	get := func(path string, out any) func(context.Context) error {
		return func(ctx context.Context) error { return p.cl.keystone(ctx, "GET", path, nil, out) }
	}
	errs := fanout(p.ctx, get("/groups/"+url.PathEscape(id), &g), get("/groups/"+url.PathEscape(id)+"/users", &in), get("/users", &all))
	if errs[0] != nil {
		return errs[0]
	}
	if errs[1] != nil {
		return errs[1]
	}
	optional(p, errs[2])
	data := &membersData{Kind: "group", ID: id, Name: g.Group.Name}
	isIn := map[string]bool{}
	for _, u := range in.Users {
		isIn[u.ID] = true
		data.Members = append(data.Members, member{Kind: "user", ID: u.ID, Name: u.Name})
	}
	sort.Slice(data.Members, func(i, j int) bool { return data.Members[i].Name < data.Members[j].Name })
	for _, u := range all.Users {
		if !isIn[u.ID] {
			data.Users = append(data.Users, u)
		}
	}
	p.Data = data
	return nil
}

// groupMember adds a user to the group (op add) or removes one (op remove).
func (d *Dashboard) groupMember(p *page) (string, error) {
	id := p.r.PathValue("id")
	user := p.r.PostFormValue("user_id")
	if user == "" {
		return "", badRequest("Choose a user.")
	}
	method := "PUT"
	switch p.r.PostFormValue("op") {
	case "add":
	case "remove":
		method = "DELETE"
	default:
		return "", badRequest("op must be add or remove")
	}
	if err := p.cl.keystone(p.ctx, method, "/groups/"+url.PathEscape(id)+"/users/"+url.PathEscape(user), nil, nil); err != nil {
		return "", err
	}
	if method == "PUT" {
		d.flashT(p, "Added the user to the group.")
	} else {
		d.flashT(p, "Removed the user from the group.")
	}
	return "/identity/groups/" + url.PathEscape(id) + "/members/", nil
}
