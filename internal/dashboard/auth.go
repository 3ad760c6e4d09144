package dashboard

import (
	"net/http"
	"strings"
)

// loginView is the login form's data.
type loginView struct {
	Title    string
	Error    string
	CSRF     string
	Region   string
	Domain   string
	Username string
	Next     string
	Lang     string
	req      *http.Request
}

// LoggedIn tells the layout there is no session menu to draw.
func (loginView) LoggedIn() bool { return false }

// LoggedIn tells the layout to draw the session menu.
func (*page) LoggedIn() bool { return true }

// showLogin renders Horizon's login form. Its CSRF secret lives in the
// csrftoken cookie until the login succeeds (Django's double submit).
func (d *Dashboard) showLogin(w http.ResponseWriter, r *http.Request, msg string, status int) {
	csrf := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		csrf = c.Value
	} else {
		csrf = randomToken()
		http.SetCookie(w, d.cookie(csrfCookie, csrf, 0))
	}
	w.Header().Set("Cache-Control", "no-store")
	d.render(w, "login", loginView{
		Title: "Log In", Error: msg, CSRF: csrf, Region: d.cfg.Region, Domain: d.cfg.DefaultDomain,
		Username: r.PostFormValue("username"), Next: safeNext(r.FormValue("next")), Lang: language(r), req: r,
	}, status)
}

// safeNext keeps only paths of this site as the place to go after login.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") || strings.HasPrefix(next, "/auth/") {
		return ""
	}
	return next
}

// login checks the form, logs in to Keystone, scopes the token to the user's
// default (or first) project and starts a session.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if !d.sameOrigin(r) {
		http.Error(w, "Forbidden: the form was not sent from this dashboard.", http.StatusForbidden)
		return
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || !sameToken(r.PostFormValue("csrfmiddlewaretoken"), c.Value) {
		http.Error(w, "Forbidden: the form's CSRF token is missing or wrong; reload the login page and try again.", http.StatusForbidden)
		return
	}
	user, password := r.PostFormValue("username"), r.PostFormValue("password")
	domain := strings.TrimSpace(r.PostFormValue("domain"))
	if domain == "" {
		domain = d.cfg.DefaultDomain
	}
	if region := r.PostFormValue("region"); region != "" && region != d.cfg.Region {
		d.showLogin(w, r, "Unknown region.", http.StatusBadRequest)
		return
	}
	if user == "" || password == "" {
		d.showLogin(w, r, "Enter a user name and a password.", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	unscoped, info, err := d.client.passwordLogin(ctx, user, password, domain)
	if err != nil {
		if s := statusOf(err); s == http.StatusUnauthorized || s == http.StatusBadRequest || s == http.StatusNotFound {
			// Never say which of user, password or domain was wrong.
			d.showLogin(w, r, "Invalid credentials.", http.StatusUnauthorized)
			return
		}
		d.log.Warn("login failed", "user", user, "err", err)
		d.showLogin(w, r, "An error occurred authenticating. Please try again later.", http.StatusBadGateway)
		return
	}
	projs, err := d.client.projects(ctx, unscoped)
	if err != nil {
		d.showLogin(w, r, "An error occurred authenticating. Please try again later.", http.StatusBadGateway)
		return
	}
	var pick *project
	for i := range projs {
		p := &projs[i]
		if !p.Enabled {
			continue
		}
		if info.Project != nil && p.ID == info.Project.ID {
			pick = p
			break
		}
		if pick == nil || p.Name < pick.Name {
			pick = p
		}
	}
	if pick == nil {
		d.client.revoke(ctx, unscoped)
		d.showLogin(w, r, "You are not authorized for any projects.", http.StatusForbidden)
		return
	}
	scoped, sinfo := unscoped, info
	if info.Project == nil || info.Project.ID != pick.ID {
		if scoped, sinfo, err = d.client.rescope(ctx, unscoped, pick.ID); err != nil {
			d.client.revoke(ctx, unscoped)
			d.showLogin(w, r, "An error occurred authenticating. Please try again later.", http.StatusBadGateway)
			return
		}
	}
	s := &session{
		UserID: sinfo.User.ID, UserName: sinfo.User.Name, Domain: sinfo.User.Domain.Name,
		Unscoped: unscoped, Token: scoped, ProjectID: pick.ID, ProjectName: pick.Name,
		Region: d.cfg.Region, CSRF: randomToken(), Expires: sinfo.ExpiresAt.Unix(),
	}
	if err := d.saveSession(w, s); err != nil {
		d.showLogin(w, r, "An error occurred authenticating. Please try again later.", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, d.cookie(csrfCookie, "", -1)) // a new secret for the next login form
	d.log.Info("login", "user", s.UserName, "user_id", s.UserID, "project_id", s.ProjectID)
	to := safeNext(r.PostFormValue("next"))
	if to == "" {
		to = "/project/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// logout revokes the session's tokens at Keystone and ends the session.
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	s := d.loadSession(r)
	if s == nil {
		d.clearSession(w)
		http.Redirect(w, r, "/auth/login/", http.StatusSeeOther)
		return
	}
	if !d.sameOrigin(r) || !sameToken(r.PostFormValue("csrfmiddlewaretoken"), s.CSRF) {
		http.Error(w, "Forbidden: the form's CSRF token is missing or wrong; reload the page and try again.", http.StatusForbidden)
		return
	}
	for _, t := range []string{s.Token, s.Unscoped} {
		if t == "" {
			continue
		}
		d.forget(t)
		if err := d.client.revoke(r.Context(), t); err != nil && statusOf(err) != http.StatusNotFound {
			d.log.Warn("token not revoked at logout", "user_id", s.UserID, "err", err)
		}
	}
	d.clearSession(w)
	d.log.Info("logout", "user", s.UserName, "user_id", s.UserID)
	http.Redirect(w, r, "/auth/login/", http.StatusSeeOther)
}

// switchProject scopes the session to another of the user's projects.
func (d *Dashboard) switchProject(p *page) (string, error) {
	id := p.r.PostFormValue("project_id")
	var target *project
	for i := range p.info.projects {
		if p.info.projects[i].ID == id {
			target = &p.info.projects[i]
		}
	}
	if target == nil {
		return "", &APIError{Service: "identity", Status: http.StatusNotFound, Message: "you have no project " + id}
	}
	tok, info, err := d.client.rescope(p.ctx, p.s.Unscoped, target.ID)
	if err != nil {
		return "", err
	}
	old := p.s.Token
	p.s.Token, p.s.ProjectID, p.s.ProjectName, p.s.Expires = tok, target.ID, target.Name, info.ExpiresAt.Unix()
	if err := d.saveSession(p.w, p.s); err != nil {
		return "", err
	}
	d.forget(old)
	if old != p.s.Unscoped { // the login token stays: it switches projects
		if err := d.client.revoke(p.ctx, old); err != nil {
			d.log.Warn("old project token not revoked", "err", err)
		}
	}
	return "/project/", nil
}
