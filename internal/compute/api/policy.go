package api

import "github.com/tenku-cloud/tenku/internal/platform/policy"

// Nova's base rules (nova/policies/base.py).
const (
	ruleAdmin        = "rule:context_is_admin"
	ruleAdminAPI     = "rule:admin_api"
	ruleMember       = "rule:project_member_or_admin"
	ruleReader       = "rule:project_reader_or_admin"
	ruleAny          = "@"
	ruleServiceAdmin = "rule:service_or_admin"
)

// policyDefaults are Nova's default policy rules (its "new defaults"), under
// Nova's rule names, for the operations tenku serves.
func policyDefaults() []policy.Rule {
	rules := []policy.Rule{
		{Name: "context_is_admin", Check: "role:admin", Description: "Decides what is required for the 'is_admin:True' check to succeed."},
		{Name: "admin_api", Check: "role:admin", Description: "Default rule for administrative APIs."},
		{Name: "project_member_api", Check: "role:member and project_id:%(project_id)s", Description: "Default rule for Project level non admin APIs."},
		{Name: "project_reader_api", Check: "role:reader and project_id:%(project_id)s", Description: "Default rule for Project level read only APIs."},
		{Name: "project_member_or_admin", Check: "rule:project_member_api or rule:context_is_admin", Description: "Default rule for Project Member or admin APIs."},
		{Name: "project_reader_or_admin", Check: "rule:project_reader_api or rule:context_is_admin", Description: "Default rule for Project reader or admin APIs."},
		{Name: "service_api", Check: "role:service", Description: "Default rule for service-to-service APIs."},
		{Name: "service_or_admin", Check: "rule:service_api or rule:context_is_admin", Description: "Default rule for service-to-service or admin APIs."},
		{Name: "default", Check: ruleAdminAPI, Description: "Rule for operations no other rule names."},
	}
	add := func(check string, names ...string) {
		for _, n := range names {
			rules = append(rules, policy.Rule{Name: "os_compute_api:" + n, Check: check, ScopeTypes: []string{policy.ScopeProject}})
		}
	}
	add(ruleReader, "servers:index", "servers:detail", "servers:show", "servers:show:flavor-extra-specs",
		"os-instance-actions:list", "os-instance-actions:show", "ips:index", "ips:show",
		"server-metadata:index", "server-metadata:show", "os-server-tags:index", "os-server-tags:show",
		"os-attach-interfaces:list", "os-attach-interfaces:show", "os-server-groups:index", "os-server-groups:show",
		"os-quota-sets:show", "os-quota-sets:detail", "os-simple-tenant-usage:show", "os-server-password:show",
		"os-flavor-extra-specs:index", "os-flavor-extra-specs:show", "os-volumes-attachments:index",
		"os-volumes-attachments:show", "os-tenant-networks:list", "os-tenant-networks:show",
		"os-networks:list", "os-networks:show", "os-security-groups:list", "os-virtual-interfaces:list")
	add(ruleMember, "servers:create", "servers:create:attach_volume", "servers:create:attach_network",
		"servers:create:trusted_certs", "servers:update", "servers:delete", "servers:confirm_resize",
		"servers:revert_resize", "servers:reboot", "servers:resize", "servers:rebuild", "servers:rebuild:trusted_certs",
		"servers:create_image", "servers:create_image:allow_volume_backed", "servers:start", "servers:stop",
		"servers:trigger_crash_dump", "os-admin-password", "os-attach-interfaces:create",
		"os-attach-interfaces:delete", "os-console-output", "os-create-backup", "os-deferred-delete:restore",
		"os-deferred-delete:force", "os-lock-server:lock", "os-lock-server:unlock", "os-pause-server:pause",
		"os-pause-server:unpause", "os-rescue", "os-unrescue", "os-shelve:shelve", "os-shelve:unshelve",
		"os-suspend-server:suspend", "os-suspend-server:resume", "os-server-groups:create",
		"os-server-groups:delete", "os-server-password:clear", "os-server-tags:delete", "os-server-tags:delete_all",
		"os-server-tags:update", "os-server-tags:update_all", "server-metadata:create", "server-metadata:update",
		"server-metadata:update_all", "server-metadata:delete", "os-volumes-attachments:create",
		"os-volumes-attachments:delete", "os-volumes-attachments:update", "os-remote-consoles",
		"os-security-groups:add", "os-security-groups:remove", "os-multinic", "os-floating-ips")
	add(ruleAdmin, "servers:index:get_all_tenants", "servers:detail:get_all_tenants", "servers:show:host_status",
		"servers:create:forced_host", "servers:create:requested_destination", "servers:create:zero_disk_flavor",
		"servers:allow_all_filters", "servers:migrations:index", "servers:migrations:show",
		"servers:migrations:force_complete", "servers:migrations:delete", "os-extended-server-attributes",
		"os-admin-actions:reset_state", "os-admin-actions:inject_network_info", "os-admin-actions:reset_network",
		"os-aggregates:index", "os-aggregates:create", "os-aggregates:show", "os-aggregates:update",
		"os-aggregates:delete", "os-aggregates:add_host", "os-aggregates:remove_host", "os-aggregates:set_metadata",
		"os-aggregates:images", "os-availability-zone:detail", "os-evacuate", "os-flavor-access",
		"os-flavor-access:add_tenant_access", "os-flavor-access:remove_tenant_access", "os-flavor-extra-specs:create",
		"os-flavor-extra-specs:update", "os-flavor-extra-specs:delete", "os-flavor-manage:create",
		"os-flavor-manage:update", "os-flavor-manage:delete", "os-hypervisors:list", "os-hypervisors:list-detail",
		"os-hypervisors:statistics", "os-hypervisors:show", "os-hypervisors:uptime", "os-hypervisors:search",
		"os-hypervisors:servers", "os-instance-actions:events", "os-instance-actions:events:details",
		"os-lock-server:unlock:unlock_override", "os-migrate-server:migrate", "os-migrate-server:migrate:host",
		"os-migrate-server:migrate_live", "os-migrations:index", "os-migrations:index:all_projects",
		"os-quota-sets:update", "os-quota-sets:delete", "os-quota-class-sets:show", "os-quota-class-sets:update",
		"os-server-diagnostics", "os-server-groups:index:all_projects", "os-services:list", "os-services:update",
		"os-services:delete", "os-shelve:shelve_offload", "os-shelve:unshelve_to_host", "os-simple-tenant-usage:list",
		"limits:other_project", "os-hosts:list", "os-hosts:show", "os-hosts:update", "os-hosts:reboot",
		"os-hosts:shutdown", "os-hosts:start", "os-instance-usage-audit-log:list", "os-instance-usage-audit-log:show",
		"os-assisted-volume-snapshots:create", "os-assisted-volume-snapshots:delete", "os-volumes-attachments:swap",
		"os-tenant-networks:create", "os-tenant-networks:delete", "os-networks:create", "os-networks:delete")
	add(ruleReader, "os-security-groups:get", "os-security-groups:show", "os-floating-ips:list", "os-floating-ips:show")
	add(ruleMember, "os-security-groups:create", "os-security-groups:update", "os-security-groups:delete",
		"os-security-groups:rule:create", "os-security-groups:rule:delete", "os-floating-ips:create",
		"os-floating-ips:delete", "os-floating-ips:add", "os-floating-ips:remove")
	add(ruleAny, "os-floating-ip-pools")
	add(ruleAny, "limits", "os-quota-sets:defaults", "extensions", "os-availability-zone:list")
	add(ruleServiceAdmin, "os-server-external-events:create")
	add("(rule:context_is_admin) or user_id:%(user_id)s", "os-keypairs:index", "os-keypairs:show", "os-keypairs:create", "os-keypairs:delete")
	add(ruleAny, "os-flavor-access:list-flavors")
	// Deduplicate: a name given twice keeps its first check.
	seen := map[string]bool{}
	out := rules[:0]
	for _, r := range rules {
		if !seen[r.Name] {
			seen[r.Name] = true
			out = append(out, r)
		}
	}
	return out
}
