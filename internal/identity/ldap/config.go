package ldap

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is keystone.conf [ldap] for the identity driver: Keystone's option
// names and defaults. Parse it from options with ParseConfig.
type Config struct {
	URLs     []string
	User     string
	Password string
	Suffix   string

	UserTreeDN         string
	UserFilter         string
	UserObjectClass    string
	UserIDAttribute    string
	UserNameAttribute  string
	UserMailAttribute  string
	UserDescAttribute  string
	UserEnabledAttr    string
	UserEnabledMask    int
	UserEnabledInvert  bool
	UserEnabledDefault string

	GroupTreeDN        string
	GroupFilter        string
	GroupObjectClass   string
	GroupIDAttribute   string
	GroupNameAttribute string
	GroupDescAttribute string
	GroupMemberAttr    string
	GroupMembersAreIDs bool

	QueryScope         string // one or sub
	PageSize           int
	AliasDereferencing string

	UseTLS        bool
	TLSCACertFile string
	TLSReqCert    string // demand, allow, never

	// ConnectionTimeout bounds every dial and every request (Keystone's
	// connection_timeout; -1 there means the OS default, which can hang for
	// minutes: tenku then uses DefaultTimeout).
	ConnectionTimeout time.Duration

	UsePool                    bool
	PoolSize                   int
	PoolConnectionLifetime     time.Duration
	UseAuthPool                bool
	AuthPoolSize               int
	AuthPoolConnectionLifetime time.Duration
	PoolRetryMax               int
}

// DefaultTimeout is the connection timeout when none is configured.
const DefaultTimeout = 5 * time.Second

// Options lists the [ldap] options ParseConfig reads.
var Options = []string{"url", "user", "password", "suffix",
	"user_tree_dn", "user_filter", "user_objectclass", "user_id_attribute", "user_name_attribute",
	"user_mail_attribute", "user_description_attribute", "user_enabled_attribute", "user_enabled_mask",
	"user_enabled_invert", "user_enabled_default",
	"group_tree_dn", "group_filter", "group_objectclass", "group_id_attribute", "group_name_attribute",
	"group_desc_attribute", "group_member_attribute", "group_members_are_ids",
	"query_scope", "page_size", "alias_dereferencing", "use_tls", "tls_cacertfile", "tls_req_cert",
	"connection_timeout", "pool_connection_timeout", "use_pool", "pool_size", "pool_connection_lifetime",
	"use_auth_pool", "auth_pool_size", "auth_pool_connection_lifetime", "pool_retry_max"}

// ParseConfig reads Keystone's [ldap] options (missing ones take Keystone's
// defaults; empty values count as missing). Unknown options are ignored, as
// oslo.config does with options no code registers.
func ParseConfig(opts map[string]string) (Config, error) {
	get := func(k, def string) string {
		if v, ok := opts[k]; ok && strings.TrimSpace(v) != "" && v != "None" {
			return strings.TrimSpace(v)
		}
		return def
	}
	var err error
	num := func(k string, def int) int {
		v := get(k, "")
		if v == "" {
			return def
		}
		n, e := strconv.Atoi(v)
		if e != nil && err == nil {
			err = fmt.Errorf("[ldap] %s: %q is not an integer", k, v)
		}
		return n
	}
	seconds := func(k string, def float64) time.Duration {
		v := get(k, "")
		if v == "" {
			return time.Duration(def * float64(time.Second))
		}
		f, e := strconv.ParseFloat(v, 64)
		if e != nil {
			d, e2 := time.ParseDuration(v)
			if e2 != nil && err == nil {
				err = fmt.Errorf("[ldap] %s: %q is not a number of seconds", k, v)
			}
			return d
		}
		return time.Duration(f * float64(time.Second))
	}
	boolean := func(k string, def bool) bool {
		v := strings.ToLower(get(k, ""))
		switch v {
		case "":
			return def
		case "true", "1", "yes", "on":
			return true
		case "false", "0", "no", "off":
			return false
		}
		if err == nil {
			err = fmt.Errorf("[ldap] %s: %q is not a boolean", k, v)
		}
		return def
	}
	c := Config{
		User: get("user", ""), Password: get("password", ""), Suffix: get("suffix", "cn=example,cn=com"),
		UserFilter: get("user_filter", ""), UserObjectClass: get("user_objectclass", "inetOrgPerson"),
		UserIDAttribute: get("user_id_attribute", "cn"), UserNameAttribute: get("user_name_attribute", "sn"),
		UserMailAttribute: get("user_mail_attribute", "mail"), UserDescAttribute: get("user_description_attribute", "description"),
		UserEnabledAttr: get("user_enabled_attribute", "enabled"), UserEnabledMask: num("user_enabled_mask", 0),
		UserEnabledInvert: boolean("user_enabled_invert", false), UserEnabledDefault: get("user_enabled_default", "True"),
		GroupFilter: get("group_filter", ""), GroupObjectClass: get("group_objectclass", "groupOfNames"),
		GroupIDAttribute: get("group_id_attribute", "cn"), GroupNameAttribute: get("group_name_attribute", "ou"),
		GroupDescAttribute: get("group_desc_attribute", "description"), GroupMemberAttr: get("group_member_attribute", "member"),
		GroupMembersAreIDs: boolean("group_members_are_ids", false),
		QueryScope:         strings.ToLower(get("query_scope", "one")), PageSize: num("page_size", 0),
		AliasDereferencing: strings.ToLower(get("alias_dereferencing", "default")),
		UseTLS:             boolean("use_tls", false), TLSCACertFile: get("tls_cacertfile", ""),
		TLSReqCert: strings.ToLower(get("tls_req_cert", "demand")),
		UsePool:    boolean("use_pool", true), PoolSize: num("pool_size", 10),
		PoolConnectionLifetime: seconds("pool_connection_lifetime", 600),
		UseAuthPool:            boolean("use_auth_pool", true), AuthPoolSize: num("auth_pool_size", 100),
		AuthPoolConnectionLifetime: seconds("auth_pool_connection_lifetime", 60),
		PoolRetryMax:               num("pool_retry_max", 3),
	}
	for _, u := range strings.Split(get("url", "ldap://localhost"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.URLs = append(c.URLs, u)
		}
	}
	c.UserTreeDN = get("user_tree_dn", "ou=Users,"+c.Suffix)
	c.GroupTreeDN = get("group_tree_dn", "ou=UserGroups,"+c.Suffix)
	c.ConnectionTimeout = seconds("connection_timeout", -1)
	if c.ConnectionTimeout <= 0 {
		// the domain-configuration API knows pool_connection_timeout only
		c.ConnectionTimeout = seconds("pool_connection_timeout", -1)
	}
	if c.ConnectionTimeout <= 0 {
		c.ConnectionTimeout = DefaultTimeout
	}
	if err != nil {
		return c, err
	}
	switch c.QueryScope {
	case "one", "sub":
	default:
		return c, fmt.Errorf("[ldap] query_scope: %q is not one or sub", c.QueryScope)
	}
	switch c.AliasDereferencing {
	case "default", "never", "searching", "always", "finding":
	default:
		return c, fmt.Errorf("[ldap] alias_dereferencing: %q is not never, searching, always, finding or default", c.AliasDereferencing)
	}
	switch c.TLSReqCert {
	case "demand", "allow", "never":
	default:
		return c, fmt.Errorf("[ldap] tls_req_cert: %q is not demand, allow or never", c.TLSReqCert)
	}
	for _, u := range c.URLs {
		if !strings.HasPrefix(u, "ldap://") && !strings.HasPrefix(u, "ldaps://") && !strings.HasPrefix(u, "ldapi://") {
			return c, fmt.Errorf("[ldap] url: %q is not an ldap:// or ldaps:// URL", u)
		}
		if c.UseTLS && strings.HasPrefix(u, "ldaps://") {
			return c, fmt.Errorf("[ldap] use_tls: StartTLS cannot be used with an ldaps:// URL")
		}
	}
	if c.PoolSize < 1 {
		c.PoolSize = 1
	}
	if c.AuthPoolSize < 1 {
		c.AuthPoolSize = 1
	}
	return c, nil
}
