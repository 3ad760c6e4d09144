package api

import (
	"context"
	"errors"

	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
)

// Check strings of Glance's defaults, built from the same parts Glance
// composes them of.
const (
	projectMember   = "role:member and project_id:%(project_id)s"
	projectReader   = "role:reader and project_id:%(project_id)s"
	imageMember     = "project_id:%(member_id)s"
	communityImage  = "'community':%(visibility)s"
	publicImage     = "'public':%(visibility)s"
	sharedImage     = "'shared':%(visibility)s"
	ruleAdmin       = "rule:context_is_admin"
	ruleService     = "rule:service_api"
	ruleMetadefAdm  = "rule:metadef_admin"
	ruleDefault     = "rule:default"
	adminOrMember   = ruleAdmin + " or (" + projectMember + ")"
	adminOrReader   = ruleAdmin + " or (" + projectReader + ")"
	visibleToReader = ruleAdmin + " or (role:reader and (project_id:%(project_id)s or " + imageMember + " or " +
		communityImage + " or " + publicImage + " or " + sharedImage + "))"
	downloadable = ruleAdmin + " or (role:member and (project_id:%(project_id)s or " + imageMember + " or " +
		communityImage + " or " + publicImage + " or " + sharedImage + "))"
	createImage      = ruleAdmin + " or (" + projectMember + " and project_id:%(owner)s)"
	readerOrPublicNS = ruleAdmin + " or (role:reader and (project_id:%(project_id)s or " + publicImage + "))"
	sharedMember     = ruleAdmin + " or (role:member and " + imageMember + ")"
	readerOrMember   = ruleAdmin + " or role:reader and (project_id:%(project_id)s or " + imageMember + ")"
	serviceOrMember  = ruleService + " or (" + projectMember + " and project_id:%(owner)s)"
)

var project = []string{policy.ScopeProject}

func rule(name, check, desc string, ops ...policy.Operation) policy.Rule {
	return policy.Rule{Name: name, Check: check, Description: desc, ScopeTypes: project, Operations: ops}
}

func op(method, path string) policy.Operation { return policy.Operation{Method: method, Path: path} }

// DefaultRules are Glance's default policies: the same names and check
// strings, so an operator's glance policy.yaml applies unchanged.
func DefaultRules() []policy.Rule {
	img := "/v2/images/{image_id}"
	return []policy.Rule{
		{Name: "default", Check: "", Description: "The rule for policies no other rule covers."},
		{Name: "context_is_admin", Check: "role:admin", Description: "Who is an administrator (is_admin in the request context)."},
		{Name: "service_api", Check: "role:service or role:admin", Description: "Service-to-service API callers."},
		rule("add_image", createImage, "Create an image.", op("POST", "/v2/images")),
		rule("delete_image", adminOrMember, "Delete an image.", op("DELETE", img)),
		rule("get_image", visibleToReader, "Show an image.", op("GET", img)),
		rule("get_images", adminOrReader, "List images.", op("GET", "/v2/images")),
		rule("modify_image", adminOrMember, "Update an image.", op("PATCH", img)),
		rule("publicize_image", ruleAdmin, "Make an image public.", op("PATCH", img)),
		rule("communitize_image", adminOrMember, "Make an image community.", op("PATCH", img)),
		rule("download_image", downloadable, "Download image data.", op("GET", img+"/file")),
		rule("download_from_store", downloadable, "Download image data from a chosen store.", op("GET", img+"/file")),
		rule("upload_image", adminOrMember, "Upload image data.", op("PUT", img+"/file")),
		rule("delete_image_location", ruleAdmin, "Delete an image location.", op("PATCH", img)),
		rule("get_image_location", adminOrReader, "Show image locations.", op("GET", img)),
		rule("set_image_location", adminOrMember, "Set image locations.", op("PATCH", img)),
		rule("add_image_location", serviceOrMember, "Add an image location.", op("POST", img+"/locations")),
		rule("fetch_image_location", ruleService, "Fetch image locations.", op("GET", img+"/locations")),
		rule("add_member", adminOrMember, "Share an image.", op("POST", img+"/members")),
		rule("delete_member", adminOrMember, "Stop sharing an image.", op("DELETE", img+"/members/{member_id}")),
		rule("get_member", readerOrMember, "Show an image member.", op("GET", img+"/members/{member_id}")),
		rule("get_members", readerOrMember, "List image members.", op("GET", img+"/members")),
		rule("modify_member", sharedMember, "Accept or reject a share.", op("PUT", img+"/members/{member_id}")),
		rule("manage_image_cache", ruleAdmin, "Manage the image cache."),
		rule("cache_image", ruleAdmin, "Queue an image for caching.", op("PUT", "/v2/cache/{image_id}")),
		rule("cache_list", ruleAdmin, "List cached and queued images.", op("GET", "/v2/cache")),
		rule("cache_delete", ruleAdmin, "Remove images from the cache.", op("DELETE", "/v2/cache/{image_id}"), op("DELETE", "/v2/cache")),
		rule("deactivate", adminOrMember, "Deactivate an image.", op("POST", img+"/actions/deactivate")),
		rule("reactivate", adminOrMember, "Reactivate an image.", op("POST", img+"/actions/reactivate")),
		rule("copy_image", ruleAdmin, "Copy an image to other stores.", op("POST", img+"/import")),
		rule("stores_info_detail", ruleAdmin+" or "+ruleService, "Show store details.", op("GET", "/v2/info/stores/detail")),
		rule("get_task", ruleDefault, "Show a task.", op("GET", "/v2/tasks/{task_id}")),
		rule("get_tasks", ruleDefault, "List tasks.", op("GET", "/v2/tasks")),
		rule("add_task", ruleDefault, "Create a task.", op("POST", "/v2/tasks")),
		rule("modify_task", ruleDefault, "Update a task."),
		rule("tasks_api_access", ruleAdmin, "Use the tasks API.", op("GET", "/v2/tasks")),
		{Name: "metadef_default", Check: "", Description: "Default for metadata-definition reads."},
		{Name: "metadef_admin", Check: ruleAdmin, Description: "Who administers metadata definitions."},
		rule("get_metadef_namespace", readerOrPublicNS, "Show a metadata namespace.", op("GET", "/v2/metadefs/namespaces/{namespace_name}")),
		rule("get_metadef_namespaces", adminOrReader, "List metadata namespaces.", op("GET", "/v2/metadefs/namespaces")),
		rule("modify_metadef_namespace", ruleMetadefAdm, "Update a metadata namespace.", op("PUT", "/v2/metadefs/namespaces/{namespace_name}")),
		rule("add_metadef_namespace", ruleMetadefAdm, "Create a metadata namespace.", op("POST", "/v2/metadefs/namespaces")),
		rule("delete_metadef_namespace", ruleMetadefAdm, "Delete a metadata namespace.", op("DELETE", "/v2/metadefs/namespaces/{namespace_name}")),
		rule("get_metadef_object", readerOrPublicNS, "Show a metadata object.", op("GET", "/v2/metadefs/namespaces/{namespace_name}/objects/{object_name}")),
		rule("get_metadef_objects", readerOrPublicNS, "List metadata objects.", op("GET", "/v2/metadefs/namespaces/{namespace_name}/objects")),
		rule("modify_metadef_object", ruleMetadefAdm, "Update a metadata object.", op("PUT", "/v2/metadefs/namespaces/{namespace_name}/objects/{object_name}")),
		rule("add_metadef_object", ruleMetadefAdm, "Create a metadata object.", op("POST", "/v2/metadefs/namespaces/{namespace_name}/objects")),
		rule("delete_metadef_object", ruleMetadefAdm, "Delete a metadata object.", op("DELETE", "/v2/metadefs/namespaces/{namespace_name}/objects/{object_name}")),
		rule("list_metadef_resource_types", readerOrPublicNS, "List metadata resource types.", op("GET", "/v2/metadefs/resource_types")),
		rule("get_metadef_resource_type", readerOrPublicNS, "List a namespace's resource type associations.", op("GET", "/v2/metadefs/namespaces/{namespace_name}/resource_types")),
		rule("add_metadef_resource_type_association", ruleMetadefAdm, "Associate a resource type.", op("POST", "/v2/metadefs/namespaces/{namespace_name}/resource_types")),
		rule("remove_metadef_resource_type_association", ruleMetadefAdm, "Dissociate a resource type.", op("DELETE", "/v2/metadefs/namespaces/{namespace_name}/resource_types/{name}")),
		rule("get_metadef_property", readerOrPublicNS, "Show a metadata property.", op("GET", "/v2/metadefs/namespaces/{namespace_name}/properties/{property_name}")),
		rule("get_metadef_properties", readerOrPublicNS, "List metadata properties.", op("GET", "/v2/metadefs/namespaces/{namespace_name}/properties")),
		rule("modify_metadef_property", ruleMetadefAdm, "Update a metadata property.", op("PUT", "/v2/metadefs/namespaces/{namespace_name}/properties/{property_name}")),
		rule("add_metadef_property", ruleMetadefAdm, "Create a metadata property.", op("POST", "/v2/metadefs/namespaces/{namespace_name}/properties")),
		rule("remove_metadef_property", ruleMetadefAdm, "Delete a metadata property.", op("DELETE", "/v2/metadefs/namespaces/{namespace_name}/properties/{property_name}")),
		rule("get_metadef_tag", readerOrPublicNS, "Show a metadata tag.", op("GET", "/v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}")),
		rule("get_metadef_tags", readerOrPublicNS, "List metadata tags.", op("GET", "/v2/metadefs/namespaces/{namespace_name}/tags")),
		rule("modify_metadef_tag", ruleMetadefAdm, "Update a metadata tag.", op("PUT", "/v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}")),
		rule("add_metadef_tag", ruleMetadefAdm, "Create a metadata tag.", op("POST", "/v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}")),
		rule("add_metadef_tags", ruleMetadefAdm, "Create metadata tags.", op("POST", "/v2/metadefs/namespaces/{namespace_name}/tags")),
		rule("delete_metadef_tag", ruleMetadefAdm, "Delete a metadata tag.", op("DELETE", "/v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}")),
		rule("delete_metadef_tags", ruleMetadefAdm, "Delete all metadata tags of a namespace.", op("DELETE", "/v2/metadefs/namespaces/{namespace_name}/tags")),
	}
}

// credentials turns a validated token into what the policy engine checks.
func credentials(a *authn.Context) policy.Credentials { return policy.FromAuthn(a) }

// enforcer adapts the policy engine to rest.Enforcer.
type enforcer struct{ e *policy.Enforcer }

// Enforce checks rule for the caller; a refusal is Glance's 403.
func (p enforcer) Enforce(ctx context.Context, rule string, target map[string]any, a *authn.Context) error {
	err := p.e.Enforce(ctx, rule, target, credentials(a))
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			return policyForbidden(rule)
		}
		return err
	}
	return nil
}

// allowed reports whether the caller passes rule.
func (a *API) allowed(ctx context.Context, who *authn.Context, rule string, target map[string]any) bool {
	return a.pol.Enforce(ctx, rule, target, credentials(who)) == nil
}

// isAdmin is Glance's context.is_admin: the context_is_admin rule.
func (a *API) isAdmin(ctx context.Context, who *authn.Context) bool {
	if who == nil {
		return false
	}
	return a.allowed(ctx, who, "context_is_admin", map[string]any{"project_id": who.ProjectID})
}

// imageTarget is the policy target of an image, as Glance's ImageTarget
// exposes one: its attributes and custom properties, project_id standing
// for the owner and member_id for the caller's project when the caller
// sees the image as a member of a share.
func imageTarget(im *db.Image, who *authn.Context) map[string]any {
	t := make(map[string]any, 16+len(im.Properties))
	for k, v := range im.Properties {
		t[k] = v
	}
	var owner any
	if im.Owner != "" {
		owner = im.Owner
	}
	var member any
	if who != nil && im.Visibility == "shared" && who.ProjectID != im.Owner {
		member = who.ProjectID
	}
	var name any
	if im.Name != nil {
		name = *im.Name
	}
	t["id"], t["image_id"] = im.ID, im.ID
	t["name"] = name
	t["owner"], t["project_id"] = owner, owner
	t["member"], t["member_id"] = member, member
	t["visibility"] = string(im.Visibility)
	t["status"] = string(im.Status)
	t["protected"] = im.Protected
	t["os_hidden"] = im.OSHidden
	t["disk_format"] = nullStr(im.DiskFormat)
	t["container_format"] = nullStr(im.ContainerFormat)
	t["min_disk"], t["min_ram"] = im.MinDisk, im.MinRAM
	return t
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
