package api

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestImageCache follows tempest's caching cycle.
func TestImageCache(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.CacheDir = t.TempDir() })
	if err := h.api.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.must(403, "GET", "/v2/cache", "demo", nil)
	state := h.must(200, "GET", "/v2/cache", "admin", nil).json(t)
	if len(state["cached_images"].([]any)) != 0 || len(state["queued_images"].([]any)) != 0 {
		t.Fatalf("empty cache: %v", state)
	}
	h.must(404, "PUT", "/v2/cache/non-existing-image-id", "admin", nil)
	queued := h.create("demo", nil)
	h.must(400, "PUT", "/v2/cache/"+queued, "admin", nil)
	id := h.create("demo", nil)
	data := randomBytes(5000)
	h.must(204, "PUT", "/v2/images/"+id+"/file", "demo", data)
	h.must(202, "PUT", "/v2/cache/"+id, "admin", nil)
	var entry map[string]any
	eventually(t, func() bool {
		cached := h.must(200, "GET", "/v2/cache", "admin", nil).json(t)["cached_images"].([]any)
		if len(cached) == 1 {
			entry = cached[0].(map[string]any)
		}
		return entry != nil
	})
	if entry["image_id"] != id || entry["size"] != float64(len(data)) || entry["hits"] != float64(0) {
		t.Fatalf("cached %v", entry)
	}
	// Downloads come from the cache and count.
	if got := h.must(200, "GET", "/v2/images/"+id+"/file", "demo", nil); !bytes.Equal(got.body, data) {
		t.Fatal("cached download differs")
	}
	entry = h.must(200, "GET", "/v2/cache", "admin", nil).json(t)["cached_images"].([]any)[0].(map[string]any)
	if entry["hits"] != float64(1) {
		t.Fatalf("hits %v", entry["hits"])
	}
	h.must(400, "DELETE", "/v2/cache", "admin", nil, "X-Image-Cache-Clear-Target", "invalid")
	h.must(204, "DELETE", "/v2/cache", "admin", nil)
	state = h.must(200, "GET", "/v2/cache", "admin", nil).json(t)
	if len(state["cached_images"].([]any)) != 0 || len(state["queued_images"].([]any)) != 0 {
		t.Fatalf("cleared cache: %v", state)
	}
	// The cache announces the API versions that have it.
	vs := h.must(300, "GET", "/", "", nil).json(t)["versions"].([]any)
	if vs[0].(map[string]any)["id"] != "v2.18" || vs[0].(map[string]any)["status"] != "CURRENT" {
		t.Fatalf("versions %v", vs[0])
	}
	h.must(200, "GET", "/v2.18/images", "demo", nil)
}

func TestNoImageCache(t *testing.T) {
	h := newHarness(t, nil)
	r := h.must(404, "GET", "/v2/cache", "admin", nil)
	if m := r.json(t)["message"].(string); m != "Caching via API is not supported at this site.<br /><br />\n\n\n" {
		t.Fatalf("%q", m)
	}
	h.must(300, "GET", "/v2.18/images", "demo", nil)
}

// TestImageCachePrefetcherInterval: with an interval, a queued image stays in the
// queue until the prefetcher's next run at least an interval later, then is cached.
func TestImageCachePrefetcherInterval(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.CacheDir = t.TempDir()
		o.CachePrefetcherInterval = 300 * time.Millisecond
	})
	if err := h.api.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := h.create("demo", nil)
	h.must(204, "PUT", "/v2/images/"+id+"/file", "demo", randomBytes(100))
	queuedAt := time.Now()
	h.must(202, "PUT", "/v2/cache/"+id, "admin", nil)
	state := h.must(200, "GET", "/v2/cache", "admin", nil).json(t)
	if q := state["queued_images"].([]any); len(q) != 1 || q[0] != id || len(state["cached_images"].([]any)) != 0 {
		t.Fatalf("right after queueing: %v", state)
	}
	eventually(t, func() bool {
		return len(h.must(200, "GET", "/v2/cache", "admin", nil).json(t)["cached_images"].([]any)) == 1
	})
	if waited := time.Since(queuedAt); waited < 300*time.Millisecond {
		t.Fatalf("cached after %v, before a prefetcher interval passed", waited)
	}
	if q := h.must(200, "GET", "/v2/cache", "admin", nil).json(t)["queued_images"].([]any); len(q) != 0 {
		t.Fatalf("still queued after caching: %v", q)
	}
}
