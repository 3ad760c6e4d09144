package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"

	identity "github.com/tenku-cloud/tenku/api/identity"
)

// The identity edit forms (Horizon's "Edit Project", "Edit User", and the
// tables' Enable/Disable actions) change projects and users with Keystone's
// PATCH; Keystone's policy decides, and its refusal is shown.

// editUser is a user as the edit form shows it: email and description are
// extra attributes Keystone keeps beside the schema's.
type editUser struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	DomainID         string `json:"domain_id"`
	Enabled          bool   `json:"enabled"`
	DefaultProjectID string `json:"default_project_id"`
	Email            string `json:"email"`
	Description      string `json:"description"`
}

type editData struct {
	Kind     string // "project" or "user"
	Project  *identity.Project
	User     *editUser
	Projects []identity.Project // a user's default project choices
}

// editProjectForm shows a project's name, description and enabled flag.
func (d *Dashboard) editProjectForm(p *page) error {
	p.Title = "Edit Project"
	var out struct {
		Project identity.Project `json:"project"`
	}
	if err := p.cl.keystone(p.ctx, "GET", "/projects/"+url.PathEscape(p.r.PathValue("id")), nil, &out); err != nil {
		return err
	}
	p.Data = &editData{Kind: "project", Project: &out.Project}
	return nil
}

// editUserForm shows a user's attributes, with the projects of the user's
// domain to choose the default one from (one fan-out).
func (d *Dashboard) editUserForm(p *page) error {
	p.Title = "Edit User"
	var (
		u struct {
			User editUser `json:"user"`
		}
		projs struct {
			Projects []identity.Project `json:"projects"`
		}
	)
	errs := fanout(p.ctx,
		func(ctx context.Context) error {
			return p.cl.keystone(ctx, "GET", "/users/"+url.PathEscape(p.r.PathValue("id")), nil, &u)
		},
		func(ctx context.Context) error { return p.cl.keystone(ctx, "GET", "/projects", nil, &projs) },
	)
	if errs[0] != nil {
		return errs[0]
	}
	if statusOf(errs[1]) != http.StatusForbidden {
		p.fail(errs[1]) // without the list the default project is kept as it is
	}
	var choices []identity.Project
	for _, pr := range projs.Projects {
		if deref(pr.DomainID) == u.User.DomainID && !pr.IsDomain {
			choices = append(choices, pr)
		}
	}
	sort.Slice(choices, func(i, j int) bool { return choices[i].Name < choices[j].Name })
	p.Data = &editData{Kind: "user", User: &u.User, Projects: choices}
	return nil
}

// updateProject sends the edit form's project attributes.
func (d *Dashboard) updateProject(p *page) (string, error) {
	f := p.r.PostForm
	name := strings.TrimSpace(f.Get("name"))
	if name == "" {
		return "", badRequest("A project needs a name.")
	}
	body := map[string]any{"name": name, "description": strings.TrimSpace(f.Get("description")), "enabled": f.Get("enabled") != ""}
	if err := p.cl.keystone(p.ctx, "PATCH", "/projects/"+url.PathEscape(p.r.PathValue("id")), map[string]any{"project": body}, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Modified project %q.", name)
	return "/identity/#projects", nil
}

// updateUser sends the edit form's user attributes; an empty email or
// description is sent as empty, a default project left unchosen is not
// changed.
func (d *Dashboard) updateUser(p *page) (string, error) {
	f := p.r.PostForm
	name := strings.TrimSpace(f.Get("name"))
	if name == "" {
		return "", badRequest("A user needs a name.")
	}
	body := map[string]any{"name": name, "email": strings.TrimSpace(f.Get("email")),
		"description": strings.TrimSpace(f.Get("description")), "enabled": f.Get("enabled") != ""}
	if dp := f.Get("default_project_id"); dp != "" {
		body["default_project_id"] = dp
	}
	if err := p.cl.keystone(p.ctx, "PATCH", "/users/"+url.PathEscape(p.r.PathValue("id")), map[string]any{"user": body}, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Modified user %q.", name)
	return "/identity/#users", nil
}

// toggle enables or disables a project or a user (the form's enabled is
// "true" or "false"). Disabling the project or the user of the session
// itself is refused here, as Horizon refuses it: it would end the session
// in the middle of the click.
func (d *Dashboard) toggle(kind string) func(p *page) (string, error) {
	return func(p *page) (string, error) {
		id := p.r.PathValue("id")
		var enabled bool
		switch p.r.PostFormValue("enabled") {
		case "true":
			enabled = true
		case "false":
		default:
			return "", badRequest("enabled must be true or false")
		}
		if !enabled && (kind == "users" && id == p.info.tok.User.ID || kind == "projects" && id == p.s.ProjectID) {
			return "", badRequest("You cannot disable the user you are logged in as or the project you are working in.")
		}
		key := strings.TrimSuffix(kind, "s")
		if err := p.cl.keystone(p.ctx, "PATCH", "/"+kind+"/"+url.PathEscape(id), map[string]any{key: map[string]any{"enabled": enabled}}, nil); err != nil {
			return "", err
		}
		name := orDefault(p.r.PostFormValue("name"), id)
		switch {
		case kind == "users" && enabled:
			d.flashT(p, "Enabled user %q.", name)
		case kind == "users":
			d.flashT(p, "Disabled user %q.", name)
		case enabled:
			d.flashT(p, "Enabled project %q.", name)
		default:
			d.flashT(p, "Disabled project %q.", name)
		}
		return "/identity/#" + kind, nil
	}
}
