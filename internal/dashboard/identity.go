package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	identity "github.com/tenku-cloud/tenku/api/identity"
)

// keystone calls path (under /v3) at the Keystone the user logged in to, with
// the user's token.
func (cl *cloud) keystone(ctx context.Context, method, path string, body, out any) error {
	_, err := cl.c.call(ctx, "identity", method, cl.c.authURL+path, cl.tok, body, out, nil)
	return err
}

// assignment is an entry of GET /v3/role_assignments?include_names.
type assignment struct {
	Role  identity.IDName `json:"role"`
	User  *namedRef       `json:"user"`
	Group *namedRef       `json:"group"`
	Scope struct {
		Project *namedRef `json:"project"`
		Domain  *namedRef `json:"domain"`
		System  any       `json:"system"`
	} `json:"scope"`
}

// namedRef is an id and name, with its domain's name when Keystone gives it.
type namedRef struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	Domain identity.IDName `json:"domain"`
}

// WhoKind is the kind of an assignment's actor ("user" or "group").
func (a assignment) WhoKind() string {
	switch {
	case a.User != nil:
		return "user"
	case a.Group != nil:
		return "group"
	}
	return ""
}

// WhoName names an assignment's actor.
func (a assignment) WhoName() string {
	switch {
	case a.User != nil:
		return orDefault(a.User.Name, a.User.ID)
	case a.Group != nil:
		return orDefault(a.Group.Name, a.Group.ID)
	}
	return ""
}

// WhereKind is the kind of an assignment's scope (project, domain, system).
func (a assignment) WhereKind() string {
	switch {
	case a.Scope.Project != nil:
		return "project"
	case a.Scope.Domain != nil:
		return "domain"
	case a.Scope.System != nil:
		return "system"
	}
	return ""
}

// WhereName names an assignment's scope ("" for the system).
func (a assignment) WhereName() string {
	switch {
	case a.Scope.Project != nil:
		return orDefault(a.Scope.Project.Name, a.Scope.Project.ID)
	case a.Scope.Domain != nil:
		return orDefault(a.Scope.Domain.Name, a.Scope.Domain.ID)
	}
	return ""
}

// identityData holds the lists Keystone's policy let the user read; Shown
// names them (a refused list's section is not drawn).
type identityData struct {
	Shown       map[string]bool
	Domains     []identity.Domain
	Projects    []identity.Project
	Users       []identity.User
	Groups      []identity.Group
	Roles       []identity.Role
	Assignments []assignment
}

// identityPage lists domains, projects, users, groups, roles and role
// assignments in one fan-out; a list Keystone's policy refuses (403) is left
// out rather than shown as an error.
func (d *Dashboard) identityPage(p *page) error {
	p.Title = "Identity"
	var (
		doms   struct{ Domains []identity.Domain }
		projs  struct{ Projects []identity.Project }
		users  struct{ Users []identity.User }
		groups struct{ Groups []identity.Group }
		roles  struct{ Roles []identity.Role }
		asg    struct {
			RoleAssignments []assignment `json:"role_assignments"`
		}
	)
	get := func(path string, out any) func(context.Context) error {
		return func(ctx context.Context) error { return p.cl.keystone(ctx, "GET", path, nil, out) }
	}
	errs := fanout(p.ctx, get("/domains", &doms), get("/projects", &projs), get("/users", &users),
		get("/groups", &groups), get("/roles", &roles), get("/role_assignments?include_names=true", &asg))
	data := &identityData{Shown: map[string]bool{}, Domains: doms.Domains, Projects: projs.Projects, Users: users.Users,
		Groups: groups.Groups, Roles: roles.Roles, Assignments: asg.RoleAssignments}
	sections := []string{"domains", "projects", "users", "groups", "roles", "assignments"}
	for i, err := range errs {
		switch statusOf(err) {
		case 0:
			if err == nil {
				data.Shown[sections[i]] = true
				continue
			}
		case http.StatusUnauthorized:
			return err
		case http.StatusForbidden:
			continue
		}
		p.fail(err)
	}
	p.Data = data
	return nil
}

// appCred is an application credential as Keystone shows it; Secret only in
// the answer to its creation.
type appCred struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Description  *string           `json:"description"`
	ProjectID    string            `json:"project_id"`
	ExpiresAt    *string           `json:"expires_at"`
	Unrestricted bool              `json:"unrestricted"`
	Roles        []identity.IDName `json:"roles"`
	Secret       string            `json:"secret,omitempty"`
}

type appCredsData struct {
	Credentials []appCred
	New         *appCred
}

// appCredsPage lists the user's own application credentials (anyone may).
func (d *Dashboard) appCredsPage(p *page) error {
	p.Title = "Application Credentials"
	var out struct {
		Creds []appCred `json:"application_credentials"`
	}
	if err := p.cl.keystone(p.ctx, "GET", "/users/"+url.PathEscape(p.info.tok.User.ID)+"/application_credentials", nil, &out); err != nil {
		return err
	}
	p.Data = &appCredsData{Credentials: out.Creds}
	return nil
}

// createAppCred creates an application credential for the current project
// and shows its secret once, on the page that answers the form.
func (d *Dashboard) createAppCred(w http.ResponseWriter, r *http.Request) {
	d.action(func(p *page) (string, error) {
		f := p.r.PostForm
		body := map[string]any{"name": strings.TrimSpace(f.Get("name"))}
		if v := strings.TrimSpace(f.Get("description")); v != "" {
			body["description"] = v
		}
		if v := strings.TrimSpace(f.Get("expires_at")); v != "" {
			body["expires_at"] = v
		}
		if v := strings.TrimSpace(f.Get("secret")); v != "" {
			body["secret"] = v
		}
		if f.Get("unrestricted") != "" {
			body["unrestricted"] = true
		}
		var out struct {
			Cred appCred `json:"application_credential"`
		}
		if err := p.cl.keystone(p.ctx, "POST", "/users/"+url.PathEscape(p.info.tok.User.ID)+"/application_credentials", map[string]any{"application_credential": body}, &out); err != nil {
			return "", err
		}
		if err := d.appCredsPage(p); err != nil {
			return "", err
		}
		p.Name = "appcreds"
		p.Data.(*appCredsData).New = &out.Cred
		p.say("Created application credential %q. Save its secret now: it is shown only once.", out.Cred.Name)
		d.render(p.w, "appcreds", p, http.StatusOK)
		return "", nil
	})(w, r)
}

func (d *Dashboard) deleteAppCred(p *page) (string, error) {
	if err := p.cl.keystone(p.ctx, "DELETE", "/users/"+url.PathEscape(p.info.tok.User.ID)+"/application_credentials/"+url.PathEscape(p.r.PathValue("id")), nil, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Deleted the application credential.")
	return "/identity/application_credentials/", nil
}
