package identity

import "encoding/json"

// merge encodes v (a struct) and adds the extra attributes that do not
// collide with its fields: how Keystone returns free-form attributes.
func merge(v any, extra map[string]any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, x := range extra {
		if _, ok := m[k]; ok {
			continue
		}
		raw, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		m[k] = raw
	}
	return json.Marshal(m)
}

// SelfLink is a resource's {"self": url}.
type SelfLink struct {
	Self string `json:"self"`
}

// Domain is a domain.
type Domain struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Enabled     bool           `json:"enabled"`
	Tags        []string       `json:"tags"`
	Options     map[string]any `json:"options"`
	Links       SelfLink       `json:"links"`
	Extra       map[string]any `json:"-"`
}

// MarshalJSON flattens Extra into the object.
func (d Domain) MarshalJSON() ([]byte, error) {
	type plain Domain
	return merge(plain(d), d.Extra)
}

// Project is a project (IsDomain: a project acting as a domain).
type Project struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DomainID    *string        `json:"domain_id"`
	Description string         `json:"description"`
	Enabled     bool           `json:"enabled"`
	ParentID    *string        `json:"parent_id"`
	IsDomain    bool           `json:"is_domain"`
	Tags        []string       `json:"tags"`
	Options     map[string]any `json:"options"`
	Links       SelfLink       `json:"links"`
	// Parents and Subtree are filled by ?parents_as_list / ?subtree_as_list.
	Parents any            `json:"parents,omitempty"`
	Subtree any            `json:"subtree,omitempty"`
	Extra   map[string]any `json:"-"`
}

// MarshalJSON flattens Extra into the object.
func (p Project) MarshalJSON() ([]byte, error) {
	type plain Project
	return merge(plain(p), p.Extra)
}

// User is a user.
type User struct {
	ID                string         `json:"id"`
	Name              string         `json:"name"`
	DomainID          string         `json:"domain_id"`
	Enabled           bool           `json:"enabled"`
	DefaultProjectID  string         `json:"default_project_id,omitempty"`
	PasswordExpiresAt *string        `json:"password_expires_at"`
	Options           map[string]any `json:"options"`
	Links             SelfLink       `json:"links"`
	Extra             map[string]any `json:"-"`
}

// MarshalJSON flattens Extra into the object.
func (u User) MarshalJSON() ([]byte, error) {
	type plain User
	return merge(plain(u), u.Extra)
}

// Group is a group.
type Group struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DomainID    string         `json:"domain_id"`
	Description string         `json:"description"`
	Links       SelfLink       `json:"links"`
	Extra       map[string]any `json:"-"`
}

// MarshalJSON flattens Extra into the object.
func (g Group) MarshalJSON() ([]byte, error) {
	type plain Group
	return merge(plain(g), g.Extra)
}

// Role is a role; DomainID is null for global roles.
type Role struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DomainID    *string        `json:"domain_id"`
	Description *string        `json:"description,omitempty"`
	Options     map[string]any `json:"options"`
	Links       SelfLink       `json:"links"`
	Extra       map[string]any `json:"-"`
}

// MarshalJSON flattens Extra into the object.
func (r Role) MarshalJSON() ([]byte, error) {
	type plain Role
	return merge(plain(r), r.Extra)
}

// Region is a catalog region.
type Region struct {
	ID             string         `json:"id"`
	Description    string         `json:"description"`
	ParentRegionID *string        `json:"parent_region_id"`
	Links          SelfLink       `json:"links"`
	Extra          map[string]any `json:"-"`
}

// MarshalJSON flattens Extra into the object.
func (r Region) MarshalJSON() ([]byte, error) {
	type plain Region
	return merge(plain(r), r.Extra)
}

// Service is a catalog service.
type Service struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	Name        string         `json:"name,omitempty"`
	Description string         `json:"description,omitempty"`
	Enabled     bool           `json:"enabled"`
	Links       SelfLink       `json:"links"`
	Extra       map[string]any `json:"-"`
}

// MarshalJSON flattens Extra into the object.
func (s Service) MarshalJSON() ([]byte, error) {
	type plain Service
	return merge(plain(s), s.Extra)
}

// Endpoint is a catalog endpoint.
type Endpoint struct {
	ID        string         `json:"id"`
	Interface string         `json:"interface"`
	Region    *string        `json:"region"`
	RegionID  *string        `json:"region_id"`
	ServiceID string         `json:"service_id"`
	URL       string         `json:"url"`
	Enabled   bool           `json:"enabled"`
	Links     SelfLink       `json:"links"`
	Extra     map[string]any `json:"-"`
}

// MarshalJSON flattens Extra into the object.
func (e Endpoint) MarshalJSON() ([]byte, error) {
	type plain Endpoint
	return merge(plain(e), e.Extra)
}
