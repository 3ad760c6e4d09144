package dashboard

import (
	"fmt"
	"time"
)

// Config is the dashboard's configuration (dashboard.conf, section
// [dashboard]); the names follow Horizon's local_settings where it has one.
type Config struct {
	Dashboard Options `section:"dashboard"`
}

// Options are the [dashboard] options.
type Options struct {
	AuthURL              string `opt:"auth_url" help:"Keystone's public URL (Horizon's OPENSTACK_KEYSTONE_URL); empty means the Keystone of this tenku. Point it at another cloud to front that cloud."`
	Region               string `opt:"region" help:"Region whose endpoints the dashboard uses (the login form's hidden region); empty means this tenku's region."`
	DefaultDomain        string `opt:"default_domain" help:"Domain proposed on the login form (OPENSTACK_KEYSTONE_DEFAULT_DOMAIN)."`
	SessionTimeout       int    `opt:"session_timeout" help:"Seconds of inactivity after which a session ends and the user logs in again (SESSION_TIMEOUT)."`
	SecretKey            string `opt:"secret_key" help:"Secret from which the session cookie's AES-GCM key is derived (SECRET_KEY). Dashboards behind one load balancer need the same one. Empty means a key kept in the dashboard's data directory."`
	SecureCookies        bool   `opt:"secure_cookies" help:"Mark cookies Secure (send them over HTTPS only); set it when the dashboard is served over TLS (SESSION_COOKIE_SECURE)."`
	APITimeout           int    `opt:"api_timeout" help:"Seconds the dashboard waits for one API call."`
	PageSize             int    `opt:"page_size" help:"Rows of a list page; Next and Prev links page through the rest (API_RESULT_PAGE_SIZE)."`
	TopologyMaxInstances int    `opt:"topology_max_instances" help:"Instances the network topology draws one by one; with more, each network shows how many it has."`
}

// DefaultConfig returns the defaults: a one-hour idle timeout, as Horizon's.
func DefaultConfig() Config {
	return Config{Dashboard: Options{DefaultDomain: "Default", SessionTimeout: 3600, APITimeout: 30, PageSize: 20, TopologyMaxInstances: 50}}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Dashboard.SessionTimeout <= 0 {
		return fmt.Errorf("[dashboard] session_timeout must be positive")
	}
	if c.Dashboard.APITimeout <= 0 {
		return fmt.Errorf("[dashboard] api_timeout must be positive")
	}
	if c.Dashboard.PageSize < 1 || c.Dashboard.PageSize > 1000 {
		return fmt.Errorf("[dashboard] page_size must be from 1 to 1000")
	}
	return nil
}

func (o Options) idle() time.Duration { return time.Duration(o.SessionTimeout) * time.Second }
