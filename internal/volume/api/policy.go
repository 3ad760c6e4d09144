package api

import (
	"context"
	"errors"
	"slices"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
)

// Check strings of Cinder's defaults (the new, scoped defaults: project
// readers read, project members change, admins do everything).
const (
	ruleAdminAPI  = "rule:admin_api"
	projectReader = "rule:admin_api or (role:reader and project_id:%(project_id)s)"
	projectMember = "rule:admin_api or (role:member and project_id:%(project_id)s)"
)

func rule(name, check, desc string, ops ...policy.Operation) policy.Rule {
	return policy.Rule{Name: name, Check: check, Description: desc, Operations: ops}
}

func op(method, path string) policy.Operation { return policy.Operation{Method: method, Path: path} }

// DefaultRules are Cinder's policy names, so an operator's cinder
// policy.yaml applies to the operations tenku has.
func DefaultRules() []policy.Rule {
	vol := "/volumes/{volume_id}"
	typ := "/types/{volume_type_id}"
	snap := "/snapshots/{snapshot_id}"
	return append([]policy.Rule{
		{Name: "context_is_admin", Check: "role:admin", Description: "Who is an administrator."},
		{Name: "admin_api", Check: "is_admin:True or (role:admin and is_admin_project:True)", Description: "Administrative API callers."},
		rule("volume:create", projectMember, "Create a volume.", op("POST", "/volumes")),
		rule("volume:create_from_image", projectMember, "Create a volume from an image.", op("POST", "/volumes")),
		rule("volume_extension:volume_image_metadata:show", projectReader, "Show a volume's volume_image_metadata.", op("GET", vol), op("GET", "/volumes/detail")),
		rule("volume_extension:volume_image_metadata:set", projectMember, "Set a volume's image metadata.", op("POST", vol+"/action (os-set_image_metadata)")),
		rule("volume_extension:volume_image_metadata:remove", projectMember, "Remove a volume's image metadata key.", op("POST", vol+"/action (os-unset_image_metadata)")),
		rule("volume_extension:volume_actions:upload_image", projectMember, "Upload a volume to the Image service.", op("POST", vol+"/action (os-volume_upload_image)")),
		rule("volume_extension:volume_actions:upload_public", ruleAdminAPI, "Upload a volume as a public image.", op("POST", vol+"/action (os-volume_upload_image)")),
		rule("clusters:get_all", ruleAdminAPI, "List clusters.", op("GET", "/clusters"), op("GET", "/clusters/detail")),
		rule("clusters:get", ruleAdminAPI, "Show a cluster.", op("GET", "/clusters/{cluster_id}")),
		rule("clusters:update", ruleAdminAPI, "Enable or disable a cluster.", op("PUT", "/clusters/{action}")),
		rule("message:get_all", projectReader, "List messages.", op("GET", "/messages")),
		rule("message:get", projectReader, "Show a message.", op("GET", "/messages/{message_id}")),
		rule("message:delete", projectMember, "Delete a message.", op("DELETE", "/messages/{message_id}")),
		rule("volume:retype", projectMember, "Change a volume's type.", op("POST", "/volumes/{volume_id}/action (os-retype)")),
		rule("volume:create_transfer", projectMember, "Offer a volume to another project.", op("POST", "/os-volume-transfer")),
		rule("volume:get_transfer", projectReader, "Show a volume transfer.", op("GET", "/os-volume-transfer/{transfer_id}")),
		rule("volume:get_all_transfers", projectReader, "List volume transfers.", op("GET", "/os-volume-transfer"), op("GET", "/os-volume-transfer/detail")),
		rule("volume:delete_transfer", projectMember, "Withdraw a volume transfer.", op("DELETE", "/os-volume-transfer/{transfer_id}")),
		rule("volume:accept_transfer", "rule:admin_api or role:member", "Accept a volume transfer.", op("POST", "/os-volume-transfer/{transfer_id}/accept")),
		rule("backup:create", projectMember, "Create a backup.", op("POST", "/backups")),
		rule("backup:get", projectReader, "Show a backup.", op("GET", "/backups/{backup_id}")),
		rule("backup:get_all", projectReader, "List backups.", op("GET", "/backups"), op("GET", "/backups/detail")),
		rule("backup:delete", projectMember, "Delete a backup.", op("DELETE", "/backups/{backup_id}")),
		rule("backup:restore", projectMember, "Restore a backup.", op("POST", "/backups/{backup_id}/restore")),
		rule("backup:export-import", ruleAdminAPI, "Export a backup record.", op("GET", "/backups/{backup_id}/export_record")),
		rule("backup:backup-import", ruleAdminAPI, "Import a backup record.", op("POST", "/backups/import_record")),
		rule("volume_extension:backup_admin_actions:reset_status", ruleAdminAPI, "Reset a backup's status.", op("POST", "/backups/{backup_id}/action (os-reset_status)")),
		rule("volume_extension:backup_admin_actions:force_delete", ruleAdminAPI, "Force-delete a backup.", op("POST", "/backups/{backup_id}/action (os-force_delete)")),
		rule("volume:get", projectReader, "Show a volume.", op("GET", vol)),
		rule("volume:get_all", projectReader, "List volumes.", op("GET", "/volumes"), op("GET", "/volumes/detail")),
		rule("volume:update", projectMember, "Update a volume.", op("PUT", vol)),
		rule("volume:delete", projectMember, "Delete a volume.", op("DELETE", vol)),
		rule("volume:force_delete", ruleAdminAPI, "Force-delete a volume.", op("POST", vol+"/action (os-force_delete)")),
		rule("volume_extension:volume_tenant_attribute", projectReader, "Show a volume's os-vol-tenant-attr:tenant_id.", op("GET", vol)),
		rule("volume_extension:volume_host_attribute", ruleAdminAPI, "Show a volume's os-vol-host-attr:host.", op("GET", vol)),
		rule("volume_extension:volume_mig_status_attribute", ruleAdminAPI, "Show a volume's migration status attributes.", op("GET", vol)),
		rule("volume:get_all_tenants", ruleAdminAPI, "List the volumes of every project (all_tenants)."),
		rule("volume:extend", projectMember, "Extend a volume.", op("POST", vol+"/action (os-extend)")),
		rule("volume_extension:volume_admin_actions:reset_status", ruleAdminAPI, "Reset a volume's status.", op("POST", vol+"/action (os-reset_status)")),
		rule("volume:get_volume_metadata", projectReader, "Show a volume's metadata.", op("GET", vol+"/metadata"), op("GET", vol+"/metadata/{key}")),
		rule("volume:update_volume_metadata", projectMember, "Set a volume's metadata.", op("POST", vol+"/metadata"), op("PUT", vol+"/metadata"), op("PUT", vol+"/metadata/{key}")),
		rule("volume:delete_volume_metadata", projectMember, "Delete a volume's metadata item.", op("DELETE", vol+"/metadata/{key}")),
		rule("volume:create_snapshot", projectMember, "Create a snapshot.", op("POST", "/snapshots")),
		rule("volume:get_snapshot", projectReader, "Show a snapshot.", op("GET", snap)),
		rule("volume:get_all_snapshots", projectReader, "List snapshots.", op("GET", "/snapshots"), op("GET", "/snapshots/detail")),
		rule("volume:update_snapshot", projectMember, "Update a snapshot.", op("PUT", snap)),
		rule("volume:delete_snapshot", projectMember, "Delete a snapshot.", op("DELETE", snap)),
		rule("volume_extension:extended_snapshot_attributes", projectReader, "Show a snapshot's os-extended-snapshot-attributes (project_id, progress).", op("GET", snap), op("GET", "/snapshots/detail")),
		rule("volume:get_snapshot_metadata", projectReader, "Show a snapshot's metadata.", op("GET", snap+"/metadata"), op("GET", snap+"/metadata/{key}")),
		rule("volume:update_snapshot_metadata", projectMember, "Set a snapshot's metadata.", op("POST", snap+"/metadata"), op("PUT", snap+"/metadata"), op("PUT", snap+"/metadata/{key}")),
		rule("volume:delete_snapshot_metadata", projectMember, "Delete a snapshot's metadata item.", op("DELETE", snap+"/metadata/{key}")),
		rule("volume_extension:snapshot_admin_actions:reset_status", ruleAdminAPI, "Reset a snapshot's status.", op("POST", snap+"/action (os-reset_status)")),
		rule("volume_extension:snapshot_admin_actions:force_delete", ruleAdminAPI, "Force-delete a snapshot.", op("POST", snap+"/action (os-force_delete)")),
		rule("snapshot_extension:snapshot_actions:update_snapshot_status", projectMember, "Report the progress of an assisted snapshot.", op("POST", snap+"/action (os-update_snapshot_status)")),
		rule("limits_extension:used_limits", projectReader, "Show limits and usage.", op("GET", "/limits")),
		rule("volume_extension:quotas:show", projectReader, "Show a project's quotas.", op("GET", "/os-quota-sets/{project_id}")),
		rule("volume_extension:quotas:update", ruleAdminAPI, "Set a project's quotas.", op("PUT", "/os-quota-sets/{project_id}")),
		rule("volume_extension:quotas:delete", ruleAdminAPI, "Reset a project's quotas.", op("DELETE", "/os-quota-sets/{project_id}")),
		rule("volume_extension:availability_zone_list", "", "List availability zones.", op("GET", "/os-availability-zone")),
		rule("volume_extension:services:index", ruleAdminAPI, "List services.", op("GET", "/os-services")),
		rule("volume_extension:services:update", ruleAdminAPI, "Enable or disable a service.", op("PUT", "/os-services/{action}")),
		rule("volume:freeze_host", ruleAdminAPI, "Freeze a backend host.", op("PUT", "/os-services/freeze")),
		rule("volume:thaw_host", ruleAdminAPI, "Thaw a backend host.", op("PUT", "/os-services/thaw")),
		rule("scheduler_extension:scheduler_stats:get_pools", ruleAdminAPI, "List back-end pools.", op("GET", "/scheduler-stats/get_pools")),
		rule("volume_extension:types_manage", ruleAdminAPI, "Create, update and delete volume types.", op("POST", "/types"), op("PUT", typ), op("DELETE", typ)),
		rule("volume_extension:type_get", "", "Show a volume type.", op("GET", typ)),
		rule("volume_extension:type_get_all", "", "List volume types.", op("GET", "/types")),
		rule("volume_extension:access_types_extra_specs", ruleAdminAPI, "Show a volume type's extra specs in type records."),
		rule("volume_extension:access_types_qos_specs_id", ruleAdminAPI, "Show a volume type's qos_specs_id."),
		rule("volume_extension:types_extra_specs:index", "", "List a volume type's extra specs.", op("GET", typ+"/extra_specs")),
		rule("volume_extension:types_extra_specs:show", "", "Show an extra spec.", op("GET", typ+"/extra_specs/{key}")),
		rule("volume_extension:types_extra_specs:create", ruleAdminAPI, "Set extra specs.", op("POST", typ+"/extra_specs")),
		rule("volume_extension:types_extra_specs:update", ruleAdminAPI, "Update an extra spec.", op("PUT", typ+"/extra_specs/{key}")),
		rule("volume_extension:types_extra_specs:delete", ruleAdminAPI, "Delete an extra spec.", op("DELETE", typ+"/extra_specs/{key}")),
		rule("volume_extension:volume_type_access", "", "See private volume types shared with the project."),
		rule("volume_extension:volume_type_access:addProjectAccess", ruleAdminAPI, "Share a private volume type.", op("POST", typ+"/action (addProjectAccess)")),
		rule("volume_extension:volume_type_access:removeProjectAccess", ruleAdminAPI, "Stop sharing a private volume type.", op("POST", typ+"/action (removeProjectAccess)")),
		rule("volume_extension:volume_type_access:get_all_for_type", ruleAdminAPI, "List the projects a type is shared with.", op("GET", typ+"/os-volume-type-access")),
	}, slices.Concat(attachRules(), migrateRules(), hostRules(), quotaClassRules(), qosRules(), encryptionRules(), mvRules(), groupTypeRules())...)
}

// enforcer adapts the policy engine to rest.Enforcer; a refusal is
// Cinder's 403.
type enforcer struct{ e *policy.Enforcer }

func (p enforcer) Enforce(ctx context.Context, rule string, target map[string]any, a *authn.Context) error {
	err := p.e.Enforce(ctx, rule, target, credentials(a))
	var pe *policy.Error
	if errors.As(err, &pe) {
		return fault.Forbidden("Policy doesn't allow %s to be performed.", rule)
	}
	return err
}

// allowed reports whether the caller passes a rule for a project's object.
func (a *API) allowed(ctx context.Context, who *authn.Context, rule, project string) bool {
	return a.pol.Enforce(ctx, rule, map[string]any{"project_id": project}, credentials(who)) == nil
}

func (a *API) isAdmin(ctx context.Context, who *authn.Context) bool {
	if who == nil {
		return false
	}
	return a.allowed(ctx, who, "context_is_admin", who.ProjectID)
}

// credentials are the caller's policy values, with Cinder's is_admin
// (the context_is_admin default, role:admin) among them.
func credentials(a *authn.Context) policy.Credentials {
	c := policy.FromAuthn(a)
	c.Extra = map[string]any{"is_admin": slices.Contains(c.Roles, "admin")}
	return c
}
