package identity

import (
	"maps"
	"strings"

	wire "github.com/tenku-cloud/tenku/api/identity"
	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// baseURL is the public root of the API, as links show it: [DEFAULT]
// public_endpoint, or the address the client used.
func (s *Service) baseURL(r *rest.Request) string {
	if e := s.cfg.Default.PublicEndpoint; e != "" {
		return strings.TrimSuffix(strings.TrimSuffix(e, "/"), "/v3")
	}
	return r.BaseURL()
}

// v3URL is baseURL + "/v3".
func (s *Service) v3URL(r *rest.Request) string { return s.baseURL(r) + "/v3" }

func optionsOf(extra store.Extra) (map[string]any, store.Extra) {
	opts, _ := extra["options"].(map[string]any)
	if opts == nil {
		opts = map[string]any{}
	}
	if _, ok := extra["options"]; ok {
		extra = maps.Clone(extra)
		delete(extra, "options")
	}
	return opts, extra
}

func (s *Service) renderProject(base string, p *store.Project) wire.Project {
	if p.IsDomain && p.DomainID == store.RootDomain {
		return s.renderDomainAsProject(base, p)
	}
	opts, extra := optionsOf(p.Extra)
	tags := p.Tags
	if tags == nil {
		tags = []string{}
	}
	var parent *string
	if p.ParentID != "" {
		parent = &p.ParentID
	}
	dom := p.DomainID
	return wire.Project{ID: p.ID, Name: p.Name, DomainID: &dom, Description: p.Description, Enabled: p.Enabled,
		ParentID: parent, IsDomain: p.IsDomain, Tags: tags, Options: opts, Extra: extra,
		Links: wire.SelfLink{Self: base + "/v3/projects/" + p.ID}}
}

// renderDomainAsProject is a domain seen through the projects API.
func (s *Service) renderDomainAsProject(base string, p *store.Project) wire.Project {
	opts, extra := optionsOf(p.Extra)
	tags := p.Tags
	if tags == nil {
		tags = []string{}
	}
	return wire.Project{ID: p.ID, Name: p.Name, Description: p.Description, Enabled: p.Enabled,
		IsDomain: true, Tags: tags, Options: opts, Extra: extra,
		Links: wire.SelfLink{Self: base + "/v3/projects/" + p.ID}}
}

func (s *Service) renderDomain(base string, p *store.Project) wire.Domain {
	opts, extra := optionsOf(p.Extra)
	tags := p.Tags
	if tags == nil {
		tags = []string{}
	}
	return wire.Domain{ID: p.ID, Name: p.Name, Description: p.Description, Enabled: p.Enabled, Tags: tags,
		Options: opts, Extra: extra, Links: wire.SelfLink{Self: base + "/v3/domains/" + p.ID}}
}

func collectionLinks(self string) map[string]any {
	return map[string]any{"self": self, "previous": nil, "next": nil}
}
