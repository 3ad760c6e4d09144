package compute

// Microversions tenku serves.
const (
	// MinVersion is the oldest microversion of API v2.1.
	MinVersion = "2.1"
	// MaxVersion is the newest microversion tenku implements (Zed's).
	MaxVersion = "2.93"
)

// Microversion headers: clients send either; Nova answers with both.
const (
	// HeaderVersion is "OpenStack-API-Version: compute 2.93".
	HeaderVersion = "OpenStack-API-Version"
	// HeaderLegacyVersion is "X-OpenStack-Nova-API-Version: 2.93".
	HeaderLegacyVersion = "X-OpenStack-Nova-API-Version"
	// ServiceType is the service name in HeaderVersion.
	ServiceType = "compute"
)

// Link is a link of a resource.
type Link struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
	Type string `json:"type,omitempty"`
}

// MediaType names the media types of a version.
type MediaType struct {
	Base string `json:"base"`
	Type string `json:"type"`
}

// Version is one API version (GET / lists them, GET /v2.1 shows one).
type Version struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Version string `json:"version"`
	// MinVersion is "" for v2.0, which has no microversions.
	MinVersion string      `json:"min_version"`
	Updated    string      `json:"updated"`
	Links      []Link      `json:"links"`
	MediaTypes []MediaType `json:"media-types,omitempty"`
}

// Versions is GET /.
type Versions struct {
	Versions []Version `json:"versions"`
}

// VersionDoc is GET /v2.1/.
type VersionDoc struct {
	Version Version `json:"version"`
}
