package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tenku-cloud/tenku/internal/image/db"
)

// StandardResourceTypes are the kinds of resources OpenStack's metadata
// definitions describe; they exist from the start, as in Glance.
var StandardResourceTypes = []string{
	"OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Aggregate",
	"OS::Nova::Server", "OS::Trove::Instance",
}

// seedNamespace is a namespace loaded at start when missing.
type seedNamespace struct {
	name, title, description string
	associations             []db.Association
	properties               map[string]map[string]any
}

func enum(values ...string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// standardNamespaces is tenku's own small catalog of the metadata its
// compute service understands on images and flavors.
var standardNamespaces = []seedNamespace{
	{
		name: "OS::Compute::Hypervisor", title: "Hypervisor selection",
		description:  "Which hypervisor and virtual machine mode an image needs.",
		associations: []db.Association{{Name: "OS::Glance::Image"}},
		properties: map[string]map[string]any{
			"hypervisor_type": {"title": "Hypervisor type", "type": "string",
				"description": "The hypervisor an image runs on; the scheduler places it on a host that has it.",
				"enum":        enum("qemu", "kvm", "xen", "vmware", "hyperv", "lxc", "ironic")},
			"vm_mode": {"title": "VM mode", "type": "string",
				"description": "The virtual machine application binary interface the image expects.",
				"enum":        enum("hvm", "xen", "uml", "exe")},
		},
	},
	{
		name: "OS::Compute::Watchdog", title: "Watchdog behaviour",
		description:  "What a virtual hardware watchdog does when the guest stops answering it.",
		associations: []db.Association{{Name: "OS::Glance::Image"}, {Name: "OS::Nova::Flavor", Prefix: "hw:"}},
		properties: map[string]map[string]any{
			"hw_watchdog_action": {"title": "Watchdog action", "type": "string",
				"description": "The action taken when the watchdog fires; disabled means no watchdog device.",
				"enum":        enum("disabled", "reset", "poweroff", "pause", "none")},
		},
	},
	{
		name: "OS::Compute::LibvirtImage", title: "Virtual hardware of an image",
		description:  "The virtual devices a guest booted from the image gets.",
		associations: []db.Association{{Name: "OS::Glance::Image"}},
		properties: map[string]map[string]any{
			"hw_disk_bus": {"title": "Disk bus", "type": "string", "description": "The bus disks are attached to.",
				"enum": enum("virtio", "scsi", "ide", "usb", "sata")},
			"hw_vif_model": {"title": "Network interface model", "type": "string", "description": "The model of the virtual network interfaces.",
				"enum": enum("virtio", "e1000", "e1000e", "rtl8139", "ne2k_pci", "pcnet")},
			"hw_machine_type": {"title": "Machine type", "type": "string", "description": "The QEMU machine type (pc, q35, ...)."},
			"hw_firmware_type": {"title": "Firmware", "type": "string", "description": "The firmware the guest boots with.",
				"enum": enum("bios", "uefi")},
		},
	},
	{
		name: "OS::OperatingSystem", title: "Operating system",
		description:  "The operating system an image or a volume holds.",
		associations: []db.Association{{Name: "OS::Glance::Image"}, {Name: "OS::Cinder::Volume", PropertiesTarget: "image"}},
		properties: map[string]map[string]any{
			"os_distro":     {"title": "Distribution", "type": "string", "description": "The distribution, in lower case (debian, ubuntu, fedora, cirros, ...)."},
			"os_version":    {"title": "Version", "type": "string", "description": "The distribution's version, as its maker numbers it."},
			"os_admin_user": {"title": "Administrator user", "type": "string", "description": "The name of the guest's administrative account."},
		},
	},
}

// LoadMetadefs creates the standard resource types and namespaces that
// are missing (public, protected, owned by admin as Glance's loader
// makes them). Namespaces an operator removed come back at the next
// start, as they do with glance-manage db load_metadefs.
func (a *API) LoadMetadefs(ctx context.Context) error {
	for _, rt := range StandardResourceTypes {
		if _, err := a.db.EnsureResourceType(ctx, rt, true); err != nil {
			return fmt.Errorf("resource type %s: %w", rt, err)
		}
	}
	for _, s := range standardNamespaces {
		if _, err := a.db.GetNamespace(ctx, s.name); err == nil {
			continue
		} else if !db.IsNotFound(err) {
			return err
		}
		var c db.NamespaceContents
		c.Associations = append(c.Associations, s.associations...)
		for name, def := range s.properties {
			b, err := json.Marshal(def)
			if err != nil {
				return err
			}
			c.Properties = append(c.Properties, &db.Item{Name: name, Schema: string(b)})
		}
		n := &db.Namespace{Namespace: s.name, DisplayName: s.title, Description: s.description,
			Visibility: "public", Protected: true, Owner: "admin"}
		if err := a.db.CreateNamespace(ctx, n, c); err != nil && !errors.Is(err, db.ErrDuplicate) {
			return fmt.Errorf("namespace %s: %w", s.name, err)
		}
	}
	return nil
}

// metadefSchemas are the /v2/schemas/metadefs/* documents.
func metadefSchemas() map[string]any {
	str := func(max int) map[string]any {
		m := map[string]any{"type": "string"}
		if max > 0 {
			m["maxLength"] = max
		}
		return m
	}
	ro := func(m map[string]any) map[string]any { m["readOnly"] = true; return m }
	stamp := func() map[string]any {
		return map[string]any{"type": "string", "readOnly": true, "format": "date-time"}
	}
	types := enum("array", "boolean", "integer", "number", "object", "string")
	property := map[string]any{
		"name": str(80), "title": str(0), "description": str(0),
		"operators": map[string]any{"type": "array", "items": str(0)},
		"type":      map[string]any{"type": "string", "enum": types},
		"required":  map[string]any{"$ref": "#/definitions/stringArray"},
		"minimum":   map[string]any{"type": "number"}, "maximum": map[string]any{"type": "number"},
		"maxLength": map[string]any{"$ref": "#/definitions/positiveInteger"},
		"minLength": map[string]any{"$ref": "#/definitions/positiveIntegerDefault0"},
		"pattern":   map[string]any{"type": "string", "format": "regex"},
		"enum":      map[string]any{"type": "array"}, "readonly": map[string]any{"type": "boolean"}, "default": map[string]any{},
		"items": map[string]any{"type": "object", "properties": map[string]any{
			"type": map[string]any{"type": "string", "enum": types}, "enum": map[string]any{"type": "array"}}},
		"maxItems":        map[string]any{"$ref": "#/definitions/positiveInteger"},
		"minItems":        map[string]any{"$ref": "#/definitions/positiveIntegerDefault0"},
		"uniqueItems":     map[string]any{"type": "boolean", "default": false},
		"additionalItems": map[string]any{"type": "boolean"},
	}
	definitions := map[string]any{
		"positiveInteger":         map[string]any{"type": "integer", "minimum": 0},
		"positiveIntegerDefault0": map[string]any{"allOf": []any{map[string]any{"$ref": "#/definitions/positiveInteger"}, map[string]any{"default": 0}}},
		"stringArray":             map[string]any{"type": "array", "items": str(0), "uniqueItems": true},
		"property": map[string]any{"type": "object", "additionalProperties": map[string]any{
			"type": "object", "required": []string{"title", "type"}, "properties": property}},
	}
	association := map[string]any{
		"name": "resource_type_association", "required": []string{"name"},
		"properties": map[string]any{
			"name": str(80), "prefix": str(80), "properties_target": str(80),
			"created_at": stamp(), "updated_at": stamp(),
		},
		"additionalProperties": false,
	}
	tag := map[string]any{
		"name": "tag", "required": []string{"name"}, "additionalProperties": false,
		"properties": map[string]any{"name": str(80), "created_at": stamp(), "updated_at": stamp()},
	}
	object := map[string]any{
		"name": "object", "required": []string{"name"}, "definitions": definitions, "additionalProperties": false,
		"properties": map[string]any{
			"name": str(80), "description": str(0), "required": map[string]any{"$ref": "#/definitions/stringArray"},
			"properties": map[string]any{"$ref": "#/definitions/property"},
			"schema":     ro(str(0)), "self": ro(str(0)), "created_at": stamp(), "updated_at": stamp(),
		},
	}
	prop := map[string]any{
		"name": "property", "required": []string{"type", "title", "name"}, "properties": property, "additionalProperties": false,
		"definitions": map[string]any{"positiveInteger": definitions["positiveInteger"],
			"positiveIntegerDefault0": definitions["positiveIntegerDefault0"], "stringArray": definitions["stringArray"]},
	}
	namespace := map[string]any{
		"name": "namespace", "required": []string{"namespace"}, "definitions": definitions, "additionalProperties": false,
		"properties": map[string]any{
			"namespace": str(80), "display_name": str(80), "description": str(500),
			"visibility": map[string]any{"type": "string", "enum": enum("public", "private")},
			"protected":  map[string]any{"type": "boolean"}, "owner": str(255),
			"created_at": stamp(), "updated_at": stamp(), "schema": ro(str(0)), "self": ro(str(0)),
			"resource_type_associations": map[string]any{"type": "array", "items": map[string]any{"type": "object",
				"properties": map[string]any{"name": str(0), "prefix": str(0), "properties_target": str(0)}}},
			"properties": map[string]any{"$ref": "#/definitions/property"},
			"objects": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
				"name": str(0), "description": str(0), "required": map[string]any{"$ref": "#/definitions/stringArray"},
				"properties": map[string]any{"$ref": "#/definitions/property"}}}},
			"tags": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{"name": str(0)}}},
		},
	}
	propsCollection := map[string]any{
		"name": "properties", "definitions": prop["definitions"],
		"properties": map[string]any{
			"properties": map[string]any{"type": "object", "additionalProperties": map[string]any{
				"name": "property", "required": []string{"type", "title"}, "properties": property, "additionalProperties": false}},
			"first": str(0), "next": str(0), "schema": str(0),
		},
		"links": []map[string]string{{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}},
	}
	raw := func(name string, item map[string]any) map[string]any {
		c := collection(name, item, true)
		if d, ok := item["definitions"]; ok {
			c["definitions"] = d
		}
		return c
	}
	return map[string]any{
		"metadefs/namespace": namespace, "metadefs/namespaces": raw("namespaces", namespace),
		"metadefs/resource_type": association, "metadefs/resource_types": raw("resource_type_associations", association),
		"metadefs/property": prop, "metadefs/properties": propsCollection,
		"metadefs/object": object, "metadefs/objects": raw("objects", object),
		"metadefs/tag": tag, "metadefs/tags": raw("tags", tag),
	}
}
