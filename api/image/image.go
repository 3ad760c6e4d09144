package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Status is an image's status, as Glance spells it on the wire.
type Status string

// The image statuses. An image is created queued; an upload moves it through
// saving, an interoperable import through uploading (data staged) and
// importing, to active. killed and pending_delete exist for compatibility:
// tenku never enters them.
const (
	StatusQueued        Status = "queued"
	StatusSaving        Status = "saving"
	StatusUploading     Status = "uploading"
	StatusImporting     Status = "importing"
	StatusActive        Status = "active"
	StatusDeactivated   Status = "deactivated"
	StatusKilled        Status = "killed"
	StatusDeleted       Status = "deleted"
	StatusPendingDelete Status = "pending_delete"
)

// Statuses lists every image status in the order Glance's schema does.
var Statuses = []Status{StatusQueued, StatusSaving, StatusActive, StatusKilled, StatusDeleted,
	StatusUploading, StatusImporting, StatusPendingDelete, StatusDeactivated}

// Visibility says who may see an image.
type Visibility string

// The visibilities. shared (members only) is the default of a new image;
// community images are usable by all but listed only when asked for.
const (
	VisibilityPublic    Visibility = "public"
	VisibilityPrivate   Visibility = "private"
	VisibilityShared    Visibility = "shared"
	VisibilityCommunity Visibility = "community"
)

// Visibilities lists the visibilities in the order of Glance's schema.
var Visibilities = []Visibility{VisibilityCommunity, VisibilityPublic, VisibilityPrivate, VisibilityShared}

// Image is an image as GET /v2/images/{id} returns it: the core attributes
// and, flattened beside them, the custom properties (Properties). Attributes
// Glance reports as null are nil pointers.
type Image struct {
	ID              string     `json:"id"`
	Name            *string    `json:"name"`
	Status          Status     `json:"status"`
	Visibility      Visibility `json:"visibility"`
	Protected       bool       `json:"protected"`
	OSHidden        bool       `json:"os_hidden"`
	Owner           *string    `json:"owner"`
	DiskFormat      *string    `json:"disk_format"`
	ContainerFormat *string    `json:"container_format"`
	Size            *int64     `json:"size"`
	VirtualSize     *int64     `json:"virtual_size"`
	Checksum        *string    `json:"checksum"`
	OSHashAlgo      *string    `json:"os_hash_algo"`
	OSHashValue     *string    `json:"os_hash_value"`
	MinDisk         int        `json:"min_disk"`
	MinRAM          int        `json:"min_ram"`
	Tags            []string   `json:"tags"`
	CreatedAt       string     `json:"created_at"`
	UpdatedAt       string     `json:"updated_at"`
	Self            string     `json:"self"`
	File            string     `json:"file"`
	Schema          string     `json:"schema"`
	// Locations is present only where the operator shows locations.
	Locations []Location `json:"locations,omitempty"`
	// DirectURL is present only where the operator shows it.
	DirectURL string `json:"direct_url,omitempty"`
	// Stores is present only with multiple stores.
	Stores string `json:"stores,omitempty"`
	// Properties are the custom properties, every value a string.
	Properties map[string]string `json:"-"`
}

// Location is one place an image's data is kept.
type Location struct {
	URL      string         `json:"url"`
	Metadata map[string]any `json:"metadata"`
}

// CoreAttributes are the names Image reads into its own fields; any other
// key of an image document is a custom property.
var CoreAttributes = map[string]bool{
	"id": true, "name": true, "status": true, "visibility": true, "protected": true,
	"os_hidden": true, "owner": true, "disk_format": true, "container_format": true,
	"size": true, "virtual_size": true, "checksum": true, "os_hash_algo": true,
	"os_hash_value": true, "min_disk": true, "min_ram": true, "tags": true,
	"created_at": true, "updated_at": true, "self": true, "file": true, "schema": true,
	"locations": true, "direct_url": true, "stores": true,
}

type imageFields Image

// MarshalJSON writes the core attributes and the custom properties in one
// object, as Glance does.
func (im Image) MarshalJSON() ([]byte, error) {
	if im.Tags == nil {
		im.Tags = []string{}
	}
	core, err := json.Marshal(imageFields(im))
	if err != nil {
		return nil, err
	}
	if len(im.Properties) == 0 {
		return core, nil
	}
	keys := make([]string, 0, len(im.Properties))
	for k := range im.Properties {
		if CoreAttributes[k] {
			return nil, fmt.Errorf("image property %q collides with a core attribute", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.Write(core[:len(core)-1])
	for _, k := range keys {
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(im.Properties[k])
		b.WriteByte(',')
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads an image document; keys that are not core attributes
// become Properties (non-string values are kept as their JSON text).
func (im *Image) UnmarshalJSON(data []byte) error {
	var f imageFields
	if err := json.Unmarshal(data, &f); err != nil {
		return err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*im = Image(f)
	for k, v := range raw {
		if CoreAttributes[k] {
			continue
		}
		if im.Properties == nil {
			im.Properties = map[string]string{}
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			im.Properties[k] = s
		} else {
			im.Properties[k] = string(v)
		}
	}
	return nil
}

// ImageList is the body of GET /v2/images.
type ImageList struct {
	Images []Image `json:"images"`
	First  string  `json:"first"`
	Next   string  `json:"next,omitempty"`
	Schema string  `json:"schema"`
}

// PatchContentType is the media type of RFC 6902 image updates (Glance's
// draft-10 patches); PatchContentTypeV20 the older draft-4 form, where the
// operation is the key ({"replace": "/name", "value": "x"}).
const (
	PatchContentType    = "application/openstack-images-v2.1-json-patch"
	PatchContentTypeV20 = "application/openstack-images-v2.0-json-patch"
)

// PatchOp is one operation of a v2.1 image PATCH.
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// MemberStatus is an image member's answer to a share.
type MemberStatus string

// The member statuses.
const (
	MemberPending  MemberStatus = "pending"
	MemberAccepted MemberStatus = "accepted"
	MemberRejected MemberStatus = "rejected"
)

// Member is a project an image is shared with.
type Member struct {
	MemberID  string       `json:"member_id"`
	ImageID   string       `json:"image_id"`
	Status    MemberStatus `json:"status"`
	CreatedAt string       `json:"created_at"`
	UpdatedAt string       `json:"updated_at"`
	Schema    string       `json:"schema"`
}

// MemberList is the body of GET /v2/images/{id}/members.
type MemberList struct {
	Members []Member `json:"members"`
	Schema  string   `json:"schema"`
}

// ImportRequest is the body of POST /v2/images/{id}/import.
type ImportRequest struct {
	Method               ImportMethod `json:"method"`
	Stores               []string     `json:"stores,omitempty"`
	AllStores            *bool        `json:"all_stores,omitempty"`
	AllStoresMustSucceed *bool        `json:"all_stores_must_succeed,omitempty"`
}

// ImportMethod names the import method and carries its parameters.
type ImportMethod struct {
	Name string `json:"name"`
	URI  string `json:"uri,omitempty"`
	// glance-download parameters.
	GlanceImageID          string `json:"glance_image_id,omitempty"`
	GlanceRegion           string `json:"glance_region,omitempty"`
	GlanceServiceInterface string `json:"glance_service_interface,omitempty"`
}

// The import methods Glance defines.
const (
	ImportGlanceDirect   = "glance-direct"
	ImportWebDownload    = "web-download"
	ImportCopyImage      = "copy-image"
	ImportGlanceDownload = "glance-download"
)

// ImportInfo is the body of GET /v2/info/import.
type ImportInfo struct {
	ImportMethods ImportMethods `json:"import-methods"`
}

// ImportMethods describes the enabled import methods.
type ImportMethods struct {
	Description string   `json:"description"`
	Type        string   `json:"type"`
	Value       []string `json:"value"`
}

// StoresInfo is the body of GET /v2/info/stores.
type StoresInfo struct {
	Stores []StoreInfo `json:"stores"`
}

// StoreInfo describes one store.
type StoreInfo struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	Default     string `json:"default,omitempty"`
	ReadOnly    string `json:"read-only,omitempty"`
}

// UsageInfo is the body of GET /v2/info/usage: per quota resource
// (image_size_total, image_stage_total, image_count_total,
// image_count_uploading) the project's usage and limit.
type UsageInfo struct {
	Usage map[string]Usage `json:"usage"`
}

// Usage is one resource's usage and limit.
type Usage struct {
	Usage int64 `json:"usage"`
	Limit int64 `json:"limit"`
}

// The unified-limits resources Glance enforces.
const (
	QuotaImageSizeTotal      = "image_size_total"
	QuotaImageStageTotal     = "image_stage_total"
	QuotaImageCountTotal     = "image_count_total"
	QuotaImageCountUploading = "image_count_uploading"
)

// Task is an asynchronous operation on an image (an import).
type Task struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Status    string         `json:"status"`
	Owner     string         `json:"owner"`
	Input     map[string]any `json:"input"`
	Result    map[string]any `json:"result"`
	Message   string         `json:"message"`
	ImageID   string         `json:"image_id"`
	RequestID string         `json:"request_id"`
	UserID    string         `json:"user_id"`
	ExpiresAt *string        `json:"expires_at"`
	CreatedAt string         `json:"created_at"`
	UpdatedAt string         `json:"updated_at"`
	Self      string         `json:"self,omitempty"`
	Schema    string         `json:"schema,omitempty"`
}

// TaskList is the body of GET /v2/images/{id}/tasks.
type TaskList struct {
	Tasks []Task `json:"tasks"`
}

// Version is one entry of the version document.
type Version struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Links  []Link `json:"links"`
}

// Link is a hyperlink.
type Link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// Versions is the body of GET / and GET /versions.
type Versions struct {
	Versions []Version `json:"versions"`
}
