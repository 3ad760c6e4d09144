package image

// Namespace is a metadata-definition namespace (/v2/metadefs/namespaces):
// a named catalog of property definitions, objects and tags that describe
// the metadata operators may put on images, volumes, flavors and so on.
type Namespace struct {
	Namespace                string                    `json:"namespace"`
	DisplayName              string                    `json:"display_name,omitempty"`
	Description              string                    `json:"description,omitempty"`
	Visibility               string                    `json:"visibility,omitempty"`
	Protected                *bool                     `json:"protected,omitempty"`
	Owner                    string                    `json:"owner,omitempty"`
	CreatedAt                string                    `json:"created_at,omitempty"`
	UpdatedAt                string                    `json:"updated_at,omitempty"`
	ResourceTypeAssociations []ResourceTypeAssociation `json:"resource_type_associations,omitempty"`
	Properties               map[string]Property       `json:"properties,omitempty"`
	Objects                  []Object                  `json:"objects,omitempty"`
	Tags                     []Tag                     `json:"tags,omitempty"`
	Self                     string                    `json:"self,omitempty"`
	Schema                   string                    `json:"schema,omitempty"`
}

// NamespaceList is the body of GET /v2/metadefs/namespaces.
type NamespaceList struct {
	Namespaces []Namespace `json:"namespaces"`
	First      string      `json:"first"`
	Next       string      `json:"next,omitempty"`
	Schema     string      `json:"schema"`
}

// Property is a property definition: a JSON-schema fragment with a name.
type Property struct {
	Name            string    `json:"name,omitempty"`
	Type            string    `json:"type,omitempty"`
	Title           string    `json:"title,omitempty"`
	Description     string    `json:"description,omitempty"`
	Operators       []string  `json:"operators,omitempty"`
	Default         any       `json:"default,omitempty"`
	Readonly        *bool     `json:"readonly,omitempty"`
	Minimum         *float64  `json:"minimum,omitempty"`
	Maximum         *float64  `json:"maximum,omitempty"`
	Enum            []any     `json:"enum,omitempty"`
	Pattern         string    `json:"pattern,omitempty"`
	MinLength       *int      `json:"minLength,omitempty"`
	MaxLength       *int      `json:"maxLength,omitempty"`
	Confidential    *bool     `json:"confidential,omitempty"`
	Items           *ItemType `json:"items,omitempty"`
	UniqueItems     *bool     `json:"uniqueItems,omitempty"`
	MinItems        *int      `json:"minItems,omitempty"`
	MaxItems        *int      `json:"maxItems,omitempty"`
	AdditionalItems *bool     `json:"additionalItems,omitempty"`
}

// ItemType describes the items of an array property.
type ItemType struct {
	Type string `json:"type"`
	Enum []any  `json:"enum,omitempty"`
}

// PropertyList is the body of GET .../properties.
type PropertyList struct {
	Properties map[string]Property `json:"properties"`
}

// Object is a named group of property definitions.
type Object struct {
	Name        string              `json:"name"`
	Description string              `json:"description,omitempty"`
	Required    []string            `json:"required,omitempty"`
	Properties  map[string]Property `json:"properties,omitempty"`
	CreatedAt   string              `json:"created_at,omitempty"`
	UpdatedAt   string              `json:"updated_at,omitempty"`
	Self        string              `json:"self,omitempty"`
	Schema      string              `json:"schema,omitempty"`
}

// ObjectList is the body of GET .../objects.
type ObjectList struct {
	Objects []Object `json:"objects"`
	Schema  string   `json:"schema"`
}

// Tag is a tag definition in a namespace.
type Tag struct {
	Name      string `json:"name"`
	CreatedAt string `json:"created_at,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

// TagList is the body of GET .../tags and of POST .../tags.
type TagList struct {
	Tags []Tag `json:"tags"`
}

// ResourceType is a kind of OpenStack resource metadata applies to
// (OS::Glance::Image, OS::Nova::Flavor, ...).
type ResourceType struct {
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// ResourceTypeList is the body of GET /v2/metadefs/resource_types.
type ResourceTypeList struct {
	ResourceTypes []ResourceType `json:"resource_types"`
}

// ResourceTypeAssociation ties a namespace to a resource type; Prefix is
// prepended to the namespace's property names when they are applied to that
// kind of resource, PropertiesTarget names where (e.g. "image").
type ResourceTypeAssociation struct {
	Name             string `json:"name"`
	Prefix           string `json:"prefix,omitempty"`
	PropertiesTarget string `json:"properties_target,omitempty"`
	CreatedAt        string `json:"created_at,omitempty"`
	UpdatedAt        string `json:"updated_at,omitempty"`
}

// ResourceTypeAssociationList is the body of GET .../resource_types.
type ResourceTypeAssociationList struct {
	ResourceTypeAssociations []ResourceTypeAssociation `json:"resource_type_associations"`
}
