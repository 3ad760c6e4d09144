package clients

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// ProjectVerifier checks with Keystone, with the caller's token, that a
// project exists, as Nova's identity.verify_project_id: 404 is a 400 "Project
// ID ... is not a valid project."; a 403 (the caller may not look) or any
// other answer lets the request through.
func ProjectVerifier(authURL string, hc *http.Client) func(ctx context.Context, token, projectID string) error {
	base := strings.TrimSuffix(authURL, "/")
	if !strings.HasSuffix(base, "/v3") {
		base += "/v3"
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return func(ctx context.Context, token, projectID string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/projects/"+url.PathEscape(projectID), nil)
		if err != nil {
			return nil
		}
		req.Header.Set("X-Auth-Token", token)
		res, err := hc.Do(req)
		if err != nil {
			return nil
		}
		res.Body.Close()
		if res.StatusCode == http.StatusNotFound {
			return fault.BadRequest("Project ID %s is not a valid project.", projectID)
		}
		return nil
	}
}
