package api

import (
	"context"
	"net/http"

	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func (a *API) versionRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/", Handler: a.listVersions, Public: true},
		{Method: "GET", Path: "/v2.1", Handler: a.showVersion, Public: true},
		{Method: "GET", Path: "/v2", Handler: a.showVersion, Public: true},
	}
}

func (a *API) version(r *rest.Request, id string) map[string]any {
	v := map[string]any{
		"id": id, "status": "CURRENT", "version": MaxVersion.String(), "min_version": MinVersion.String(),
		"updated": "2013-07-23T11:33:21Z",
		"links":   []map[string]string{{"rel": "self", "href": a.base(r) + "/" + id + "/"}},
	}
	if id == "v2.0" {
		v["links"] = []map[string]string{{"rel": "self", "href": a.base(r) + "/v2/"}}
		v["status"], v["version"], v["min_version"], v["updated"] = "SUPPORTED", "", "", "2011-01-21T11:33:21Z"
	}
	return v
}

// listVersions is GET /: the versions Nova serves.
func (a *API) listVersions(_ context.Context, r *rest.Request) (any, error) {
	return map[string]any{"versions": []any{a.version(r, "v2.0"), a.version(r, "v2.1")}}, nil
}

// showVersion is GET /v2.1 (or /v2, the v2.0 API): the version with its
// media types.
func (a *API) showVersion(_ context.Context, r *rest.Request) (any, error) {
	id, path := "v2.1", "/v2.1/"
	if r.HTTP.URL.Path == "/v2" || r.HTTP.URL.Path == "/v2/" {
		id, path = "v2.0", "/v2/"
	}
	v := a.version(r, id)
	v["links"] = []map[string]string{
		{"rel": "self", "href": a.base(r) + path},
		{"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
	}
	v["media-types"] = []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}}
	return &rest.Response{Status: http.StatusOK, Body: map[string]any{"version": v}}, nil
}
