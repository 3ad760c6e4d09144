package dashboard

import (
	"net/http"
	"net/url"
	"strings"
)

// The identity create and delete forms (Horizon's "Create Project", "Create
// User", "Create Group" and the tables' Delete actions) go through Keystone's
// API with the user's token: Keystone's policy decides, and its refusal is
// shown on the identity page above the forms, which keep what was typed.

// Form returns a field of the form the page answers (empty on a GET), so
// that a refused form is shown again as it was filled in.
func (p *page) Form(name string) string {
	if p.r.Method != http.MethodPost || p.r.PostForm == nil {
		return ""
	}
	return p.r.PostForm.Get(name)
}

// FormFor is Form for the fields of one of a page's forms: the one whose
// hidden "form" field is kind.
func (p *page) FormFor(kind, name string) string {
	if p.Form("form") != kind {
		return ""
	}
	return p.Form(name)
}

// DomainID is the domain the create forms preselect: the project's domain of
// the session.
func (p *page) DomainID() string {
	if p.Form("domain_id") != "" {
		return p.Form("domain_id")
	}
	if p.info.tok.Project != nil {
		return p.info.tok.Project.Domain.ID
	}
	return p.info.tok.User.Domain.ID
}

// identityForm answers a create or delete form of the identity page.
func (d *Dashboard) identityForm(do func(p *page) (string, error)) http.HandlerFunc {
	return d.formOn("identity", d.identityPage, do)
}

// formOn answers a form of page name: on success the user goes where do
// says, on an error of Keystone's or ours the page is drawn again (fill)
// with the error shown.
func (d *Dashboard) formOn(name string, fill func(*page) error, do func(p *page) (string, error)) http.HandlerFunc {
	return d.action(func(p *page) (string, error) {
		to, err := do(p)
		if err == nil || statusOf(err) == http.StatusUnauthorized {
			return to, err
		}
		p.Name = name
		if ferr := fill(p); ferr != nil {
			return "", ferr
		}
		p.fail(err)
		d.render(p.w, name, p, http.StatusOK)
		return "", nil
	})
}

// createProject is Horizon's Create Project: name, description, domain and
// enabled flag.
func (d *Dashboard) createProject(p *page) (string, error) {
	f := p.r.PostForm
	name := strings.TrimSpace(f.Get("name"))
	if name == "" {
		return "", badRequest("A project needs a name.")
	}
	body := map[string]any{"name": name, "description": strings.TrimSpace(f.Get("description")), "enabled": f.Get("enabled") != ""}
	if dom := f.Get("domain_id"); dom != "" {
		body["domain_id"] = dom
	}
	if err := p.cl.keystone(p.ctx, "POST", "/projects", map[string]any{"project": body}, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Created new project %q.", name)
	return "/identity/#projects", nil
}

// createUser is Horizon's Create User: the user, then, when a primary
// project and a role are chosen, the role on that project. A user Keystone
// made whose role it refused is reported as made, with the refusal.
func (d *Dashboard) createUser(p *page) (string, error) {
	f := p.r.PostForm
	name := strings.TrimSpace(f.Get("name"))
	switch {
	case name == "":
		return "", badRequest("A user needs a name.")
	case f.Get("password") != f.Get("confirm_password"):
		return "", badRequest("Passwords do not match.")
	}
	project, role := f.Get("project_id"), f.Get("role_id")
	if role != "" && project == "" {
		return "", badRequest("A role needs a primary project to be given on.")
	}
	body := map[string]any{"name": name, "enabled": f.Get("enabled") != ""}
	for _, k := range []string{"email", "description", "domain_id"} {
		if v := strings.TrimSpace(f.Get(k)); v != "" {
			body[k] = v
		}
	}
	if pw := f.Get("password"); pw != "" {
		body["password"] = pw
	}
	if project != "" {
		body["default_project_id"] = project
	}
	var out struct {
		User editUser `json:"user"`
	}
	if err := p.cl.keystone(p.ctx, "POST", "/users", map[string]any{"user": body}, &out); err != nil {
		return "", err
	}
	if role != "" {
		path := "/projects/" + url.PathEscape(project) + "/users/" + url.PathEscape(out.User.ID) + "/roles/" + url.PathEscape(role)
		if err := p.cl.keystone(p.ctx, "PUT", path, nil, nil); err != nil {
			p.say("Created new user %q.", name)
			p.say("Unable to add the user to the primary project.")
			return "", err
		}
	}
	d.flashT(p, "Created new user %q.", name)
	return "/identity/#users", nil
}

// createGroup is Horizon's Create Group: name, description and domain.
func (d *Dashboard) createGroup(p *page) (string, error) {
	f := p.r.PostForm
	name := strings.TrimSpace(f.Get("name"))
	if name == "" {
		return "", badRequest("A group needs a name.")
	}
	body := map[string]any{"name": name, "description": strings.TrimSpace(f.Get("description"))}
	if dom := f.Get("domain_id"); dom != "" {
		body["domain_id"] = dom
	}
	if err := p.cl.keystone(p.ctx, "POST", "/groups", map[string]any{"group": body}, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Created new group %q.", name)
	return "/identity/#groups", nil
}

// deleteIdentity deletes a project, user or group. As Horizon does, the
// session's own user and project are not offered for deletion, and refused
// here: the session would end in the middle of the click.
func (d *Dashboard) deleteIdentity(kind string) func(p *page) (string, error) {
	return func(p *page) (string, error) {
		id := p.r.PathValue("id")
		if kind == "users" && id == p.info.tok.User.ID || kind == "projects" && id == p.s.ProjectID {
			return "", badRequest("You cannot delete the user you are logged in as or the project you are working in.")
		}
		if err := p.cl.keystone(p.ctx, "DELETE", "/"+kind+"/"+url.PathEscape(id), nil, nil); err != nil {
			return "", err
		}
		name := orDefault(p.r.PostFormValue("name"), id)
		switch kind {
		case "projects":
			d.flashT(p, "Deleted project %q.", name)
		case "users":
			d.flashT(p, "Deleted user %q.", name)
		default:
			d.flashT(p, "Deleted group %q.", name)
		}
		return "/identity/#" + kind, nil
	}
}
