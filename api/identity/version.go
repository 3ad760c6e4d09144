package identity

// Version is an API version document.
type Version struct {
	ID         string      `json:"id"`
	Status     string      `json:"status"`
	Updated    string      `json:"updated"`
	Links      []Link      `json:"links"`
	MediaTypes []MediaType `json:"media-types"`
}

// Link is a version document link.
type Link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// MediaType is a media type a version speaks.
type MediaType struct {
	Base string `json:"base"`
	Type string `json:"type"`
}

// Versions is the body of GET / (300 Multiple Choices).
type Versions struct {
	Versions struct {
		Values []Version `json:"values"`
	} `json:"versions"`
}

// VersionResponse is the body of GET /v3.
type VersionResponse struct {
	Version Version `json:"version"`
}

// V3 is the one version tenku serves, as Keystone (2023.x) announces it.
func V3(selfURL string) Version {
	return Version{
		ID: "v3.14", Status: "stable", Updated: "2020-04-07T00:00:00Z",
		Links:      []Link{{Rel: "self", Href: selfURL}},
		MediaTypes: []MediaType{{Base: "application/json", Type: "application/vnd.openstack.identity-v3+json"}},
	}
}
