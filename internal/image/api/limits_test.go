package api

import (
	"context"
	"strings"
	"testing"
)

// TestUnifiedLimits: with unified limits on, image count, total size and
// staging size are enforced per project, and /v2/info/usage reports them.
func TestUnifiedLimits(t *testing.T) {
	limits := map[string]int64{"image_count_total": 2, "image_size_total": 1, "image_stage_total": 1, "image_count_uploading": 5}
	h := newHarness(t, func(o *Options) {
		o.Limits = LimitsFunc(func(ctx context.Context, project string, names []string) (map[string]int64, error) {
			return limits, nil
		})
	})
	usage := h.must(200, "GET", "/v2/info/usage", "demo", nil).json(t)["usage"].(map[string]any)
	if u := usage["image_count_total"].(map[string]any); u["usage"] != float64(0) || u["limit"] != float64(2) {
		t.Fatalf("usage %v", usage)
	}
	a := h.create("demo", nil)
	b := h.create("demo", nil)
	r := h.must(413, "POST", "/v2/images", "demo", map[string]any{"disk_format": "raw", "container_format": "bare"})
	if !strings.Contains(string(r.body), "image_count_total is over limit of 2 due to current usage 2 and delta 1") {
		t.Fatalf("%s", r.body)
	}
	// Another project has its own count.
	h.create("alt", nil)
	// 1 MiB of data is allowed (usage 0 + delta 1 <= 1); then the project is full.
	h.must(204, "PUT", "/v2/images/"+a+"/file", "demo", randomBytes(1<<20))
	r = h.must(413, "PUT", "/v2/images/"+b+"/file", "demo", randomBytes(1<<20))
	if !strings.Contains(string(r.body), "image_size_total") {
		t.Fatalf("%s", r.body)
	}
	usage = h.must(200, "GET", "/v2/info/usage", "demo", nil).json(t)["usage"].(map[string]any)
	if u := usage["image_size_total"].(map[string]any); u["usage"] != float64(1) {
		t.Fatalf("usage %v", usage)
	}
	// Off, /v2/info/usage is empty, as in Glance.
	off := newHarness(t, nil)
	if u := off.must(200, "GET", "/v2/info/usage", "demo", nil).json(t)["usage"].(map[string]any); len(u) != 0 {
		t.Fatalf("usage without limits: %v", u)
	}
}

func TestUserStorageQuota(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.UserStorageQuota = 1500 })
	a := h.create("demo", nil)
	h.must(204, "PUT", "/v2/images/"+a+"/file", "demo", randomBytes(1000))
	b := h.create("demo", nil)
	h.must(413, "PUT", "/v2/images/"+b+"/file", "demo", randomBytes(1000))
	if st := h.must(200, "GET", "/v2/images/"+b, "demo", nil).json(t)["status"]; st != "queued" {
		t.Fatalf("status %v", st)
	}
	h.must(204, "PUT", "/v2/images/"+b+"/file", "demo", randomBytes(400))
}
