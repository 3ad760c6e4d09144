package identity

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// domainConfigDefaults are the options a domain may override, with
// Keystone's defaults: the identity and ldap groups Keystone whitelists.
// ldap's password may be set but is never shown.
var domainConfigDefaults = func() store.DomainConfig {
	var c store.DomainConfig
	if err := json.Unmarshal([]byte(domainConfigDefaultsJSON), &c); err != nil {
		panic(err) // a constant; caught by the tests
	}
	return c
}()

const domainConfigDefaultsJSON = `{"identity": {"driver": "sql", "list_limit": null}, "ldap": {"alias_dereferencing": "default", "auth_pool_connection_lifetime": 60, "auth_pool_size": 100, "chase_referrals": null, "debug_level": null, "group_additional_attribute_mapping": [], "group_attribute_ignore": [], "group_desc_attribute": "description", "group_filter": null, "group_id_attribute": "cn", "group_member_attribute": "member", "group_members_are_ids": false, "group_name_attribute": "ou", "group_objectclass": "groupOfNames", "group_tree_dn": null, "page_size": 0, "pool_connection_lifetime": 600, "pool_connection_timeout": -1, "pool_retry_delay": 0.1, "pool_retry_max": 3, "pool_size": 10, "query_scope": "one", "suffix": "cn=example,cn=com", "tls_cacertdir": null, "tls_cacertfile": null, "tls_req_cert": "demand", "url": "ldap://localhost", "use_auth_pool": true, "use_pool": true, "use_tls": false, "user": null, "user_additional_attribute_mapping": [], "user_attribute_ignore": ["default_project_id"], "user_default_project_id_attribute": null, "user_description_attribute": "description", "user_enabled_attribute": "enabled", "user_enabled_default": "True", "user_enabled_emulation": false, "user_enabled_emulation_dn": null, "user_enabled_emulation_use_group_config": false, "user_enabled_invert": false, "user_enabled_mask": 0, "user_filter": null, "user_id_attribute": "cn", "user_mail_attribute": "mail", "user_name_attribute": "sn", "user_objectclass": "inetOrgPerson", "user_pass_attribute": "userPassword", "user_tree_dn": null}}`

var sensitiveOptions = map[string]map[string]bool{"ldap": {"password": true}}

func (s *Service) domainConfigRoutes() []rest.Route {
	d := "/v3/domains/{domain_id}/config"
	return []rest.Route{
		{Method: "GET", Path: "/v3/domains/config/default", Handler: s.domainConfigDefault},
		{Method: "GET", Path: "/v3/domains/config/{group}/default", Handler: s.domainConfigDefault},
		{Method: "GET", Path: "/v3/domains/config/{group}/{option}/default", Handler: s.domainConfigDefault},
		{Method: "PUT", Path: d, Handler: s.putDomainConfig},
		{Method: "GET", Path: d, Handler: s.getDomainConfig},
		{Method: "PATCH", Path: d, Handler: s.patchDomainConfig},
		{Method: "DELETE", Path: d, Status: 204, Handler: s.deleteDomainConfig},
		{Method: "GET", Path: d + "/{group}", Handler: s.getDomainConfig},
		{Method: "PATCH", Path: d + "/{group}", Handler: s.patchDomainConfig},
		{Method: "DELETE", Path: d + "/{group}", Status: 204, Handler: s.deleteDomainConfig},
		{Method: "GET", Path: d + "/{group}/{option}", Handler: s.getDomainConfig},
		{Method: "PATCH", Path: d + "/{group}/{option}", Handler: s.patchDomainConfig},
		{Method: "DELETE", Path: d + "/{group}/{option}", Status: 204, Handler: s.deleteDomainConfig},

		{Method: "POST", Path: "/v3/OS-OAUTH1/consumers", Status: 201, Handler: s.createConsumer},
		{Method: "GET", Path: "/v3/OS-OAUTH1/consumers", Handler: s.listConsumers},
		{Method: "GET", Path: "/v3/OS-OAUTH1/consumers/{consumer_id}", Handler: s.getConsumer},
		{Method: "PATCH", Path: "/v3/OS-OAUTH1/consumers/{consumer_id}", Handler: s.updateConsumer},
		{Method: "DELETE", Path: "/v3/OS-OAUTH1/consumers/{consumer_id}", Status: 204, Handler: s.deleteConsumer},
	}
}

func invalidDomainConfig(format string, args ...any) *fault.Error {
	return fault.Forbidden("Invalid domain specific configuration: "+format, args...).WithType("InvalidDomainConfig")
}

// checkGroupOption refuses groups and options Keystone does not allow.
func checkGroupOption(group, option string) error {
	if group == "" {
		return nil
	}
	defs, ok := domainConfigDefaults[group]
	if !ok {
		return invalidDomainConfig("Group %s is not supported for domain specific configurations", group)
	}
	if option != "" {
		if _, ok := defs[option]; !ok && !sensitiveOptions[group][option] {
			return invalidDomainConfig("Option %s in group %s is not supported for domain specific configurations", option, group)
		}
	}
	return nil
}

// visible drops the sensitive options.
func visible(c store.DomainConfig) store.DomainConfig {
	out := store.DomainConfig{}
	for g, opts := range c {
		m := map[string]any{}
		for k, v := range opts {
			if !sensitiveOptions[g][k] {
				m[k] = v
			}
		}
		if len(m) > 0 || len(opts) == 0 {
			out[g] = m
		}
	}
	return out
}

func (s *Service) domainConfigDefault(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:get_domain_config_default", map[string]any{}); err != nil {
		return nil, err
	}
	group, option := r.Param("group"), r.Param("option")
	if err := checkGroupOption(group, option); err != nil {
		return nil, err
	}
	switch {
	case option != "":
		return map[string]any{"config": map[string]any{option: domainConfigDefaults[group][option]}}, nil
	case group != "":
		return map[string]any{"config": map[string]any{group: domainConfigDefaults[group]}}, nil
	}
	return map[string]any{"config": domainConfigDefaults}, nil
}

// configBody reads {"config": {...}} and checks every group and option.
func configBody(r *rest.Request) (map[string]any, error) {
	obj, _, err := body(r, "config")
	if err != nil {
		return nil, err
	}
	return plain(obj).(map[string]any), nil
}

func toConfig(group string, m map[string]any) (store.DomainConfig, error) {
	out := store.DomainConfig{}
	for g, v := range m {
		opts, ok := v.(map[string]any)
		if !ok {
			return nil, invalidDomainConfig("Group %s must hold options", g)
		}
		if group != "" && g != group {
			return nil, invalidDomainConfig("Trying to update group %s, so that, and only that, group must be specified in the config", group)
		}
		if err := checkGroupOption(g, ""); err != nil {
			return nil, err
		}
		for o := range opts {
			if err := checkGroupOption(g, o); err != nil {
				return nil, err
			}
		}
		out[g] = opts
	}
	return out, nil
}

func (s *Service) putDomainConfig(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:create_domain_config", map[string]any{"domain_id": r.Param("domain_id")}); err != nil {
		return nil, err
	}
	d, err := s.st.GetDomain(ctx, r.Param("domain_id"))
	if err != nil {
		return nil, err
	}
	m, err := configBody(r)
	if err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, invalidDomainConfig("No options specified")
	}
	c, err := toConfig("", m)
	if err != nil {
		return nil, err
	}
	status := http.StatusCreated
	if _, err := s.st.GetDomainConfig(ctx, d.ID); err == nil {
		status = http.StatusOK
	}
	if err := s.st.PutDomainConfig(ctx, d.ID, c); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return &rest.Response{Status: status, Body: map[string]any{"config": visible(c)}}, nil
}

func (s *Service) getDomainConfig(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:get_domain_config", map[string]any{"domain_id": r.Param("domain_id")}); err != nil {
		return nil, err
	}
	d, err := s.st.GetDomain(ctx, r.Param("domain_id"))
	if err != nil {
		return nil, err
	}
	group, option := r.Param("group"), r.Param("option")
	if err := checkGroupOption(group, option); err != nil {
		return nil, err
	}
	c, err := s.st.GetDomainConfig(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	c = visible(c)
	switch {
	case option != "":
		v, ok := c[group][option]
		if !ok {
			return nil, fault.NotFound("Could not find Domain Config: %s (group %s, option %s).", d.ID, group, option).WithType("DomainConfigNotFound")
		}
		return map[string]any{"config": map[string]any{option: v}}, nil
	case group != "":
		g, ok := c[group]
		if !ok {
			return nil, fault.NotFound("Could not find Domain Config: %s (group %s).", d.ID, group).WithType("DomainConfigNotFound")
		}
		return map[string]any{"config": map[string]any{group: g}}, nil
	}
	return map[string]any{"config": c}, nil
}

func (s *Service) patchDomainConfig(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:update_domain_config", map[string]any{"domain_id": r.Param("domain_id")}); err != nil {
		return nil, err
	}
	d, err := s.st.GetDomain(ctx, r.Param("domain_id"))
	if err != nil {
		return nil, err
	}
	group, option := r.Param("group"), r.Param("option")
	if err := checkGroupOption(group, option); err != nil {
		return nil, err
	}
	m, err := configBody(r)
	if err != nil {
		return nil, err
	}
	cur, err := s.st.GetDomainConfig(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	var upd store.DomainConfig
	if option != "" {
		v, ok := m[option]
		if !ok || len(m) != 1 {
			return nil, invalidDomainConfig("Trying to update option %s in group %s, so that, and only that, option must be specified in the config", option, group)
		}
		upd = store.DomainConfig{group: {option: v}}
	} else if upd, err = toConfig(group, m); err != nil {
		return nil, err
	}
	for g, opts := range upd {
		if group != "" || option != "" {
			if _, ok := cur[g]; !ok {
				return nil, fault.NotFound("Could not find Domain Config: %s (group %s).", d.ID, g).WithType("DomainConfigNotFound")
			}
		}
		if cur[g] == nil {
			cur[g] = map[string]any{}
		}
		for k, v := range opts {
			cur[g][k] = v
		}
	}
	if err := s.st.PutDomainConfig(ctx, d.ID, cur); err != nil {
		return nil, err
	}
	s.changed(ctx)
	return map[string]any{"config": visible(cur)}, nil
}

func (s *Service) deleteDomainConfig(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:delete_domain_config", map[string]any{"domain_id": r.Param("domain_id")}); err != nil {
		return nil, err
	}
	d, err := s.st.GetDomain(ctx, r.Param("domain_id"))
	if err != nil {
		return nil, err
	}
	group, option := r.Param("group"), r.Param("option")
	if err := checkGroupOption(group, option); err != nil {
		return nil, err
	}
	defer s.changed(ctx)
	if group == "" {
		return nil, s.st.DeleteDomainConfig(ctx, d.ID)
	}
	cur, err := s.st.GetDomainConfig(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	if _, ok := cur[group]; !ok {
		return nil, fault.NotFound("Could not find Domain Config: %s (group %s).", d.ID, group).WithType("DomainConfigNotFound")
	}
	if option == "" {
		delete(cur, group)
	} else {
		if _, ok := cur[group][option]; !ok {
			return nil, fault.NotFound("Could not find Domain Config: %s (group %s, option %s).", d.ID, group, option).WithType("DomainConfigNotFound")
		}
		delete(cur[group], option)
	}
	return nil, s.st.PutDomainConfig(ctx, d.ID, cur)
}

// ---- OAuth1 consumers ----

func (s *Service) renderConsumer(base string, x *store.Consumer, withSecret bool) map[string]any {
	out := map[string]any{}
	for k, v := range x.Extra {
		out[k] = v
	}
	out["id"], out["description"] = x.ID, nullIfEmpty(x.Description)
	out["links"] = map[string]any{"self": base + "/v3/OS-OAUTH1/consumers/" + x.ID}
	if withSecret {
		out["secret"] = x.Secret
	}
	return out
}

func (s *Service) createConsumer(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:create_consumer", map[string]any{}); err != nil {
		return nil, err
	}
	obj, _, err := body(r, "consumer")
	if err != nil {
		return nil, err
	}
	if d, ok := obj["description"]; ok && d != nil {
		if _, ok := d.(string); !ok {
			return nil, fault.BadRequest("Invalid input for field 'description': it must be a string.").WithType("SchemaValidationError")
		}
	}
	x := &store.Consumer{ID: hexID(), Description: str(obj, "description"), Secret: hexID(), Extra: extraOf(obj, "id", "description", "secret", "links")}
	if err := s.st.CreateConsumer(ctx, x); err != nil {
		return nil, err
	}
	return map[string]any{"consumer": s.renderConsumer(s.baseURL(r), x, true)}, nil
}

func (s *Service) listConsumers(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:list_consumers", map[string]any{}); err != nil {
		return nil, err
	}
	xs, err := s.st.ListConsumers(ctx)
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	items := []any{}
	for _, x := range xs {
		items = append(items, s.renderConsumer(base, x, false))
	}
	return listResponse("consumers", items, s.selfURL(r), 0), nil
}

func (s *Service) getConsumer(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:get_consumer", map[string]any{"consumer_id": r.Param("consumer_id")}); err != nil {
		return nil, err
	}
	x, err := s.st.GetConsumer(ctx, r.Param("consumer_id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"consumer": s.renderConsumer(s.baseURL(r), x, false)}, nil
}

func (s *Service) updateConsumer(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:update_consumer", map[string]any{"consumer_id": r.Param("consumer_id")}); err != nil {
		return nil, err
	}
	obj, _, err := body(r, "consumer")
	if err != nil {
		return nil, err
	}
	if has(obj, "secret") {
		return nil, fault.BadRequest("Cannot change consumer secret").WithType("ValidationError")
	}
	x, err := s.st.GetConsumer(ctx, r.Param("consumer_id"))
	if err != nil {
		return nil, err
	}
	if has(obj, "description") {
		x.Description = str(obj, "description")
	}
	x.Extra = mergeExtra(x.Extra, extraOf(obj, "id", "description", "secret", "links"))
	if err := s.st.UpdateConsumer(ctx, x); err != nil {
		return nil, err
	}
	return map[string]any{"consumer": s.renderConsumer(s.baseURL(r), x, false)}, nil
}

func (s *Service) deleteConsumer(ctx context.Context, r *rest.Request) (any, error) {
	if err := r.Enforce(ctx, "identity:delete_consumer", map[string]any{"consumer_id": r.Param("consumer_id")}); err != nil {
		return nil, err
	}
	return nil, s.st.DeleteConsumer(ctx, r.Param("consumer_id"))
}
