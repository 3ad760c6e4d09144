package policy

import "reflect"

// Credentials describe who makes a request: the values oslo.context's
// RequestContext.to_policy_values() hands to oslo.policy, taken from the
// validated token. Empty strings stand for Python's None.
type Credentials struct {
	UserID          string
	UserDomainID    string
	ProjectID       string
	ProjectDomainID string
	// DomainID is set for domain-scoped tokens.
	DomainID string
	// SystemScope is "all" for system-scoped tokens.
	SystemScope string
	Roles       []string
	// IsAdminProject is the token's is_admin_project flag. Keystone reports
	// true when no admin project is configured, as keystonemiddleware does.
	IsAdminProject bool

	// The service token's values, when a service token came with the
	// request (X-Service-Token).
	ServiceUserID          string
	ServiceUserDomainID    string
	ServiceProjectID       string
	ServiceProjectDomainID string
	ServiceRoles           []string

	// Extra holds further values a service adds for its rules (Keystone's
	// "token" dict, for example). Generic checks reach into it with dotted
	// paths. A key named like a field above is used only while that field
	// is empty (or nil, for the role lists).
	Extra map[string]any
}

// Names of the credential values, as oslo.context spells them.
const (
	keyUserID                 = "user_id"
	keyUserDomainID           = "user_domain_id"
	keySystemScope            = "system_scope"
	keyDomainID               = "domain_id"
	keyProjectID              = "project_id"
	keyProjectDomainID        = "project_domain_id"
	keyRoles                  = "roles"
	keyIsAdminProject         = "is_admin_project"
	keyServiceUserID          = "service_user_id"
	keyServiceUserDomainID    = "service_user_domain_id"
	keyServiceProjectID       = "service_project_id"
	keyServiceProjectDomainID = "service_project_domain_id"
	keyServiceRoles           = "service_roles"
	// keySystem is added by oslo.policy's enforce() from system_scope.
	keySystem = "system"
)

// stringField returns the named string field, and whether name is one.
func (c *Credentials) stringField(name string) (string, bool) {
	switch name {
	case keyUserID:
		return c.UserID, true
	case keyUserDomainID:
		return c.UserDomainID, true
	case keySystemScope:
		return c.SystemScope, true
	case keyDomainID:
		return c.DomainID, true
	case keyProjectID:
		return c.ProjectID, true
	case keyProjectDomainID:
		return c.ProjectDomainID, true
	case keyServiceUserID:
		return c.ServiceUserID, true
	case keyServiceUserDomainID:
		return c.ServiceUserDomainID, true
	case keyServiceProjectID:
		return c.ServiceProjectID, true
	case keyServiceProjectDomainID:
		return c.ServiceProjectDomainID, true
	}
	return "", false
}

// extraStrings reads a list of strings from Extra.
func (c *Credentials) extraStrings(name string) ([]string, bool) {
	switch x := c.Extra[name].(type) {
	case []string:
		return x, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// ToMap returns the credentials as the dict oslo.policy sees: every
// to_policy_values() key (None for empty values), "system" when the token
// is system scoped (as enforce() adds it), and the Extra values.
func (c *Credentials) ToMap() map[string]any {
	m := make(map[string]any, 14+len(c.Extra))
	for k, v := range c.Extra {
		m[k] = v
	}
	for _, k := range []string{keyUserID, keyUserDomainID, keySystemScope, keyDomainID,
		keyProjectID, keyProjectDomainID, keyServiceUserID, keyServiceUserDomainID,
		keyServiceProjectID, keyServiceProjectDomainID} {
		s, _ := c.stringField(k)
		if s != "" {
			m[k] = s
		} else if _, ok := m[k]; !ok {
			m[k] = nil
		}
	}
	if c.Roles != nil {
		m[keyRoles] = c.Roles
	} else if _, ok := m[keyRoles]; !ok {
		m[keyRoles] = []string{}
	}
	if c.ServiceRoles != nil {
		m[keyServiceRoles] = c.ServiceRoles
	} else if _, ok := m[keyServiceRoles]; !ok {
		m[keyServiceRoles] = []string{}
	}
	m[keyIsAdminProject] = c.IsAdminProject
	if c.SystemScope != "" {
		m[keySystem] = c.SystemScope
	}
	return m
}

// CredentialsFromMap builds Credentials from a creds dict as oslo.policy
// would receive it. Values of the known keys that have the expected type
// fill the fields; everything else lands in Extra, where generic checks
// still find it.
func CredentialsFromMap(m map[string]any) Credentials {
	var c Credentials
	put := func(k string, v any) {
		if c.Extra == nil {
			c.Extra = make(map[string]any)
		}
		c.Extra[k] = v
	}
	for k, v := range m {
		s, isStr := v.(string)
		switch k {
		case keyUserID, keyUserDomainID, keySystemScope, keyDomainID, keyProjectID,
			keyProjectDomainID, keyServiceUserID, keyServiceUserDomainID,
			keyServiceProjectID, keyServiceProjectDomainID:
			if v == nil {
				continue
			}
			if !isStr || s == "" {
				put(k, v)
				continue
			}
			*c.stringPtr(k) = s
		case keyRoles, keyServiceRoles:
			dst := &c.Roles
			if k == keyServiceRoles {
				dst = &c.ServiceRoles
			}
			switch x := v.(type) {
			case []string:
				*dst = append([]string{}, x...)
			default:
				tmp := Credentials{Extra: map[string]any{k: v}}
				if l, ok := tmp.extraStrings(k); ok {
					*dst = l
				} else {
					put(k, v)
				}
			}
		case keyIsAdminProject:
			if b, ok := v.(bool); ok {
				c.IsAdminProject = b
			} else {
				put(k, v)
			}
		case keySystem:
			// enforce() derives "system" from system_scope; a dict that
			// only carries "system" is system scoped all the same.
			scope, _ := m[keySystemScope].(string)
			switch {
			case isStr && s != "" && scope == "":
				c.SystemScope = s
			case isStr && s == scope:
				// derived from system_scope, as ToMap adds it
			case v != nil:
				put(k, v)
			}
		default:
			put(k, v)
		}
	}
	return c
}

func (c *Credentials) stringPtr(name string) *string {
	switch name {
	case keyUserID:
		return &c.UserID
	case keyUserDomainID:
		return &c.UserDomainID
	case keySystemScope:
		return &c.SystemScope
	case keyDomainID:
		return &c.DomainID
	case keyProjectID:
		return &c.ProjectID
	case keyProjectDomainID:
		return &c.ProjectDomainID
	case keyServiceUserID:
		return &c.ServiceUserID
	case keyServiceUserDomainID:
		return &c.ServiceUserDomainID
	case keyServiceProjectID:
		return &c.ServiceProjectID
	case keyServiceProjectDomainID:
		return &c.ServiceProjectDomainID
	}
	return nil
}

// find is oslo's GenericCheck._find_in_dict on the credentials: follow the
// dotted path, fanning out over lists, and compare str() of what is found
// with match. A missing key is false; indexing into something that is not
// a dict (a string, None, a bool) raises in Python, so it aborts.
func (c *Credentials) find(path []string, match string) result {
	key, rest := path[0], path[1:]
	if s, ok := c.stringField(key); ok {
		if s == "" {
			if v, ok := c.Extra[key]; ok {
				return findStep(v, rest, match)
			}
			if len(rest) > 0 {
				return rAbort // None is not subscriptable
			}
			return resultOf(match == "None")
		}
		if len(rest) > 0 {
			return rAbort
		}
		return resultOf(s == match)
	}
	switch key {
	case keyRoles, keyServiceRoles:
		l := c.Roles
		if key == keyServiceRoles {
			l = c.ServiceRoles
		}
		if l == nil {
			if v, ok := c.Extra[key]; ok {
				return findStep(v, rest, match)
			}
		}
		return findStep(l, rest, match)
	case keyIsAdminProject:
		if len(rest) > 0 {
			return rAbort
		}
		return resultOf(pyStrEq(c.IsAdminProject, match))
	case keySystem:
		if c.SystemScope != "" {
			if len(rest) > 0 {
				return rAbort
			}
			return resultOf(c.SystemScope == match)
		}
	}
	v, ok := c.Extra[key]
	if !ok {
		return rFalse
	}
	return findStep(v, rest, match)
}

// findStep continues the search from a value just looked up: a list is
// searched element by element with the rest of the path.
func findStep(v any, rest []string, match string) result {
	switch l := v.(type) {
	case []string:
		for _, e := range l {
			if len(rest) > 0 {
				return rAbort
			}
			if e == match {
				return rTrue
			}
		}
		return rFalse
	case []any:
		for _, e := range l {
			if r := findIn(e, rest, match); r != rFalse {
				return r
			}
		}
		return rFalse
	case []map[string]any:
		for _, e := range l {
			if r := findIn(e, rest, match); r != rFalse {
				return r
			}
		}
		return rFalse
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8 {
		for i := range rv.Len() {
			if r := findIn(rv.Index(i).Interface(), rest, match); r != rFalse {
				return r
			}
		}
		return rFalse
	}
	return findIn(v, rest, match)
}

func findIn(v any, path []string, match string) result {
	if len(path) == 0 {
		return resultOf(pyStrEq(v, match))
	}
	switch m := v.(type) {
	case map[string]any:
		child, ok := m[path[0]]
		if !ok {
			return rFalse
		}
		return findStep(child, path[1:], match)
	case map[string]string:
		child, ok := m[path[0]]
		if !ok {
			return rFalse
		}
		return findStep(child, path[1:], match)
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String {
		child := rv.MapIndex(reflect.ValueOf(path[0]).Convert(rv.Type().Key()))
		if !child.IsValid() {
			return rFalse
		}
		return findStep(child.Interface(), path[1:], match)
	}
	return rAbort // Python: not subscriptable by a string
}

// tokenScope is the scope oslo derives from the credentials: system when
// "system" is set, else domain when domain_id is, else project.
func (c *Credentials) tokenScope() string {
	switch {
	case c.SystemScope != "" || truthy(c.Extra[keySystem]):
		return "system"
	case c.DomainID != "" || truthy(c.Extra[keyDomainID]):
		return "domain"
	}
	return "project"
}

// truthy is Python's bool() for the values a creds dict holds.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int:
		return x != 0
	case int64:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case []string:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}
