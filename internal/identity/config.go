package identity

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/identity/token/fernet"
)

// Config is keystone.conf: Keystone's section and option names, with
// Keystone's defaults (zero configuration works).
type Config struct {
	Default            DefaultSection     `section:"DEFAULT"`
	Token              TokenSection       `section:"token"`
	FernetTokens       FernetSection      `section:"fernet_tokens"`
	Auth               AuthSection        `section:"auth"`
	Identity           IdentitySection    `section:"identity"`
	Resource           ResourceSection    `section:"resource"`
	Assignment         AssignmentSection  `section:"assignment"`
	SecurityCompliance ComplianceSection  `section:"security_compliance"`
	Trust              TrustSection       `section:"trust"`
	AppCred            AppCredSection     `section:"application_credential"`
	Credential         CredentialSection  `section:"credential"`
	OsloPolicy         OsloPolicySection  `section:"oslo_policy"`
	Cache              CacheSection       `section:"cache"`
	Catalog            CatalogSection     `section:"catalog"`
	EndpointFilter     EndpointFilterSect `section:"endpoint_filter"`
}

// DefaultSection is keystone.conf [DEFAULT].
type DefaultSection struct {
	MaxRequestBodySize  int64  `opt:"max_request_body_size" help:"The maximum body size for each request, in bytes; larger bodies are refused with 413."`
	ListLimit           int    `opt:"list_limit" help:"The maximum number of entities returned in a collection (0: no limit). Per-section list_limit options override it."`
	PublicEndpoint      string `opt:"public_endpoint" help:"The base public endpoint URL for Keystone that is advertised in links (e.g. http://server:5000). Empty: derived from each request."`
	StrictPasswordCheck bool   `opt:"strict_password_check" help:"Refuse passwords longer than [identity] max_password_length instead of truncating them."`
}

// TokenSection is keystone.conf [token].
type TokenSection struct {
	Expiration              time.Duration `opt:"expiration" help:"How long a token is valid after it is issued (seconds or a Go duration)."`
	AllowExpiredWindow      time.Duration `opt:"allow_expired_window" help:"How long after expiry a token may still be fetched with ?allow_expired=1."`
	AllowRescopeScopedToken bool          `opt:"allow_rescope_scoped_token" help:"Allow a project- or domain-scoped token to be exchanged for a token of another scope."`
	RevokeByID              bool          `opt:"revoke_by_id" help:"Allow revoking individual tokens (DELETE /v3/auth/tokens)."`
	CacheOnIssue            bool          `opt:"cache_on_issue" help:"Keep a newly issued token's validation result in the token cache."`
	Provider                string        `opt:"provider" help:"The token format; tenku issues fernet tokens only."`
}

// FernetSection is keystone.conf [fernet_tokens].
type FernetSection struct {
	MaxActiveKeys int `opt:"max_active_keys" help:"How many Fernet keys to keep, counting the staged and primary keys; rotation prunes the oldest beyond it."`
}

// AuthSection is keystone.conf [auth].
type AuthSection struct {
	Methods []string `opt:"methods" help:"Allowed authentication methods, in order. The order is part of the Fernet token format and must match every Keystone sharing the keys."`
}

// IdentitySection is keystone.conf [identity].
type IdentitySection struct {
	DefaultDomainID       string `opt:"default_domain_id" help:"The id of the default domain."`
	Driver                string `opt:"driver" help:"The identity driver of the default domain: sql only (its bootstrap admin and service users live in SQL); a directory goes in a domain of its own with domain_specific_drivers_enabled and [identity] driver = ldap in that domain's configuration."`
	PasswordHashAlgorithm string `opt:"password_hash_algorithm" help:"The password hashing algorithm; tenku hashes with bcrypt and verifies bcrypt, sha512_crypt and pbkdf2_sha512."`
	PasswordHashRounds    int    `opt:"password_hash_rounds" help:"The bcrypt cost (0: bcrypt's default 12, as Keystone)."`
	MaxPasswordLength     int    `opt:"max_password_length" help:"Maximum password length; longer passwords are truncated unless [DEFAULT] strict_password_check."`
	ListLimit             int    `opt:"list_limit" help:"Maximum number of users or groups in a list (0: [DEFAULT] list_limit)."`
	DomainSpecificDrivers bool   `opt:"domain_specific_drivers_enabled" help:"Let domains choose their own identity driver (sql or ldap), from keystone.DOMAIN.conf files in domain_config_dir or from the database."`
	DomainConfigsFromDB   bool   `opt:"domain_configurations_from_database" help:"Read the domain-specific configuration from the database (the /v3/domains/{id}/config API) instead of domain_config_dir."`
	DomainConfigDir       string `opt:"domain_config_dir" help:"Where the keystone.DOMAIN_NAME.conf files of domain-specific drivers are."`
}

// ResourceSection is keystone.conf [resource].
type ResourceSection struct {
	AdminProjectName       string `opt:"admin_project_name" help:"The project whose admin tokens are is_admin_project (empty: no admin project, every token is)."`
	AdminProjectDomainName string `opt:"admin_project_domain_name" help:"The domain of admin_project_name."`
	ProjectNameURLSafe     string `opt:"project_name_url_safe" help:"off, new or strict: whether project names must be URL safe."`
	DomainNameURLSafe      string `opt:"domain_name_url_safe" help:"off, new or strict: whether domain names must be URL safe."`
	ListLimit              int    `opt:"list_limit" help:"Maximum number of projects or domains in a list (0: [DEFAULT] list_limit)."`
}

// AssignmentSection is keystone.conf [assignment].
type AssignmentSection struct {
	ProhibitedImpliedRole []string `opt:"prohibited_implied_role" help:"Roles that may not be implied by another role."`
}

// ComplianceSection is keystone.conf [security_compliance]; every check is
// off by default, as in Keystone.
type ComplianceSection struct {
	DisableUserAccountDaysInactive int           `opt:"disable_user_account_days_inactive" help:"Disable users who have not authenticated for this many days (0: never)."`
	LockoutFailureAttempts         int           `opt:"lockout_failure_attempts" help:"Lock a user out after this many consecutive failed password checks (0: never)."`
	LockoutDuration                time.Duration `opt:"lockout_duration" help:"How long a lockout lasts (seconds or a Go duration)."`
	PasswordExpiresDays            int           `opt:"password_expires_days" help:"Passwords expire this many days after they are set (0: never)."`
	UniqueLastPasswordCount        int           `opt:"unique_last_password_count" help:"A password a user changes must differ from this many of their latest passwords, the current one included (0: no check)."`
	MinimumPasswordAge             int           `opt:"minimum_password_age" help:"Days a password must be in use before the user may change it (0: any time)."`
	PasswordRegex                  string        `opt:"password_regex" help:"A regular expression every new password must match (empty: none)."`
	PasswordRegexDescription       string        `opt:"password_regex_description" help:"What password_regex requires, in words, for error messages."`
	ChangePasswordUponFirstUse     bool          `opt:"change_password_upon_first_use" help:"Users must change a password an administrator set before using it."`
}

// TrustSection is keystone.conf [trust].
type TrustSection struct {
	AllowRedelegation    bool `opt:"allow_redelegation" help:"Allow trustees to redelegate a trust."`
	MaxRedelegationCount int  `opt:"max_redelegation_count" help:"Maximum depth of a redelegation chain."`
}

// AppCredSection is keystone.conf [application_credential].
type AppCredSection struct {
	UserLimit int `opt:"user_limit" help:"Maximum application credentials per user (-1: unlimited)."`
}

// CredentialSection is keystone.conf [credential].
type CredentialSection struct {
	UserLimit int `opt:"user_limit" help:"Maximum credentials per user (-1: unlimited)."`
}

// OsloPolicySection is keystone.conf [oslo_policy].
type OsloPolicySection struct {
	EnforceScope       bool   `opt:"enforce_scope" help:"Refuse tokens whose scope does not match the rule's scope types (false: log only, as Keystone Zed and devstack)."`
	EnforceNewDefaults bool   `opt:"enforce_new_defaults" help:"Evaluate only the new (scope-aware) default rules; false also accepts the deprecated ones, which let a project-scoped admin do admin work."`
	PolicyFile         string `opt:"policy_file" help:"A policy.yaml (or .json) overriding default rules (empty: the service's policy file from the deployment, if any)."`
}

// CacheSection is keystone.conf [cache], narrowed to what tenku's caches use.
type CacheSection struct {
	ExpirationTime    time.Duration `opt:"expiration_time" help:"Upper bound on how long a cached validation or lookup is used."`
	EpochPollInterval time.Duration `opt:"epoch_poll_interval" help:"(tenku) How often every Keystone process checks the database for changes made by other processes and flushes its caches."`
	TokenCacheSize    int           `opt:"token_cache_size" help:"(tenku) Maximum number of validated tokens kept in memory."`
}

// CatalogSection is keystone.conf [catalog].
type CatalogSection struct {
	ListLimit int `opt:"list_limit" help:"Maximum number of services, endpoints or regions in a list (0: [DEFAULT] list_limit)."`
}

// EndpointFilterSect is keystone.conf [endpoint_filter].
type EndpointFilterSect struct {
	ReturnAllEndpointsIfNoFilter bool `opt:"return_all_endpoints_if_no_filter" help:"A project with no endpoint associations gets the whole catalog."`
}

// DefaultConfig returns Keystone's defaults, with oslo.policy set as a Zed or
// 2023.1 devstack sets it (scope and new defaults not enforced).
func DefaultConfig() Config {
	return Config{
		Default: DefaultSection{MaxRequestBodySize: 114688},
		Token: TokenSection{Expiration: time.Hour, AllowExpiredWindow: 48 * time.Hour,
			AllowRescopeScopedToken: true, RevokeByID: true, CacheOnIssue: true, Provider: "fernet"},
		FernetTokens: FernetSection{MaxActiveKeys: 3},
		Auth:         AuthSection{Methods: fernet.DefaultMethods()},
		Identity: IdentitySection{DefaultDomainID: "default", Driver: "sql", PasswordHashAlgorithm: "bcrypt", DomainConfigDir: "/etc/keystone/domains",
			MaxPasswordLength: 4096},
		Resource:           ResourceSection{ProjectNameURLSafe: "off", DomainNameURLSafe: "off"},
		Assignment:         AssignmentSection{ProhibitedImpliedRole: []string{"admin"}},
		SecurityCompliance: ComplianceSection{LockoutDuration: 1800 * time.Second},
		Trust:              TrustSection{MaxRedelegationCount: 3},
		AppCred:            AppCredSection{UserLimit: -1},
		Credential:         CredentialSection{UserLimit: -1},
		Cache:              CacheSection{ExpirationTime: 600 * time.Second, EpochPollInterval: time.Second, TokenCacheSize: 100000},
		EndpointFilter:     EndpointFilterSect{ReturnAllEndpointsIfNoFilter: true},
	}
}

// DevstackConfig is DefaultConfig with the keystone.conf settings devstack
// writes by default: security compliance on (lockout after 2 failures for 10
// seconds, the last 2 passwords unique), as tempest's identity tests expect
// them ([identity] user_lockout_failure_attempts = 2, user_lockout_duration
// = 10, user_unique_last_password_count = 2).
func DevstackConfig() Config {
	c := DefaultConfig()
	c.SecurityCompliance.LockoutFailureAttempts = 2
	c.SecurityCompliance.LockoutDuration = 10 * time.Second
	c.SecurityCompliance.UniqueLastPasswordCount = 2
	return c
}

// Validate checks option values.
func (c *Config) Validate() error {
	if c.Token.Expiration <= 0 {
		return fmt.Errorf("[token] expiration must be positive")
	}
	if c.Token.Provider != "" && c.Token.Provider != "fernet" {
		return fmt.Errorf("[token] provider %q: tenku issues fernet tokens only", c.Token.Provider)
	}
	if c.FernetTokens.MaxActiveKeys < 1 {
		return fmt.Errorf("[fernet_tokens] max_active_keys must be at least 1")
	}
	if err := (fernet.Config{Methods: c.Auth.Methods, DefaultDomainID: c.Identity.DefaultDomainID}).Validate(); err != nil {
		return fmt.Errorf("[auth] methods: %w", err)
	}
	if r := c.Identity.PasswordHashRounds; r != 0 && (r < 4 || r > 31) {
		return fmt.Errorf("[identity] password_hash_rounds %d: bcrypt needs 4..31", r)
	}
	if err := c.Identity.checkDriver(); err != nil {
		return err
	}
	if a := c.Identity.PasswordHashAlgorithm; a != "" && a != "bcrypt" {
		return fmt.Errorf("[identity] password_hash_algorithm %q: tenku hashes with bcrypt only", a)
	}
	if c.SecurityCompliance.PasswordRegex != "" {
		if _, err := regexp.Compile(c.SecurityCompliance.PasswordRegex); err != nil {
			return fmt.Errorf("[security_compliance] password_regex: %w", err)
		}
	}
	if c.Cache.EpochPollInterval <= 0 {
		return fmt.Errorf("[cache] epoch_poll_interval must be positive")
	}
	return nil
}

// checkDriver refuses a global identity driver other than sql. In Keystone,
// [identity] driver = ldap makes the default domain's users and groups come
// from the directory; tenku's bootstrap admin and the services' own users
// live in SQL in the default domain and every service logs in as one of
// them, so a directory there would lock the cloud out of itself. The
// directory goes in a domain of its own instead, which Keystone supports as
// well and its documentation recommends.
func (s IdentitySection) checkDriver() error {
	switch strings.ToLower(strings.TrimSpace(s.Driver)) {
	case "", "sql":
		return nil
	case "ldap":
		return errors.New("[identity] driver = ldap: tenku keeps the default domain in SQL (its bootstrap admin and " +
			"service users live there), so a global LDAP driver is refused; give the directory a domain of its own: " +
			"[identity] domain_specific_drivers_enabled = true, then either a keystone.DOMAIN_NAME.conf in " +
			"domain_config_dir holding [identity] driver = ldap and the [ldap] section, or " +
			"domain_configurations_from_database = true and PUT /v3/domains/{domain_id}/config with the same options")
	default:
		return fmt.Errorf("[identity] driver %q: the identity drivers are sql, and ldap in a domain-specific configuration", s.Driver)
	}
}
