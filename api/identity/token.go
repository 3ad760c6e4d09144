package identity

// TimeFormat is how Keystone renders token times: ISO 8601 with microseconds
// and a Z.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// TokenResponse is the body of POST and GET /v3/auth/tokens.
type TokenResponse struct {
	Token Token `json:"token"`
}

// Token is Keystone's token document.
type Token struct {
	Methods        []string       `json:"methods"`
	User           TokenUser      `json:"user"`
	AuditIDs       []string       `json:"audit_ids"`
	ExpiresAt      string         `json:"expires_at"`
	IssuedAt       string         `json:"issued_at"`
	System         map[string]any `json:"system,omitempty"`
	Domain         *IDName        `json:"domain,omitempty"`
	Project        *TokenProject  `json:"project,omitempty"`
	IsDomain       *bool          `json:"is_domain,omitempty"`
	Trust          *TokenTrust    `json:"OS-TRUST:trust,omitempty"`
	Roles          []IDName       `json:"roles,omitempty"`
	IsAdminProject *bool          `json:"is_admin_project,omitempty"`
	// Catalog is present (possibly empty) for scoped tokens unless
	// ?nocatalog was asked.
	Catalog               *[]CatalogEntry `json:"catalog,omitempty"`
	ApplicationCredential *TokenAppCred   `json:"application_credential,omitempty"`
}

// IDName is an {"id", "name"} pair.
type IDName struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// TokenUser is the token's user.
type TokenUser struct {
	Domain IDName `json:"domain"`
	ID     string `json:"id"`
	Name   string `json:"name"`
	// PasswordExpiresAt is null when the password never expires.
	PasswordExpiresAt *string `json:"password_expires_at"`
}

// TokenProject is the token's project scope.
type TokenProject struct {
	Domain IDName `json:"domain"`
	ID     string `json:"id"`
	Name   string `json:"name"`
}

// TokenTrust describes the trust of a trust-scoped token.
type TokenTrust struct {
	ID            string `json:"id"`
	TrustorUser   IDRef  `json:"trustor_user"`
	TrusteeUser   IDRef  `json:"trustee_user"`
	Impersonation bool   `json:"impersonation"`
}

// IDRef is an {"id"} object.
type IDRef struct {
	ID string `json:"id"`
}

// TokenAppCred describes the application credential a token came from.
type TokenAppCred struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Restricted  bool         `json:"restricted"`
	AccessRules []AccessRule `json:"access_rules,omitempty"`
}

// CatalogEntry is one service of the catalog.
type CatalogEntry struct {
	Endpoints []CatalogEndpoint `json:"endpoints"`
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Name      string            `json:"name"`
}

// CatalogEndpoint is one endpoint of a catalog entry.
type CatalogEndpoint struct {
	ID        string `json:"id"`
	Interface string `json:"interface"`
	Region    string `json:"region"`
	RegionID  string `json:"region_id"`
	URL       string `json:"url"`
}

// CatalogResponse is the body of GET /v3/auth/catalog.
type CatalogResponse struct {
	Catalog []CatalogEntry `json:"catalog"`
	Links   Links          `json:"links"`
}

// Links are a collection's or resource's links.
type Links struct {
	Self     string  `json:"self"`
	Previous *string `json:"previous,omitempty"`
	Next     *string `json:"next,omitempty"`
}

// AccessRule is an application credential access rule.
type AccessRule struct {
	ID      string `json:"id,omitempty"`
	Service string `json:"service"`
	Path    string `json:"path"`
	Method  string `json:"method"`
	Links   *Links `json:"links,omitempty"`
}

// ErrorResponse is Keystone's error body.
type ErrorResponse struct {
	Error struct {
		Code    int    `json:"code"`
		Title   string `json:"title"`
		Message string `json:"message"`
	} `json:"error"`
}
