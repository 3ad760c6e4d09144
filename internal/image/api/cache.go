package api

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/image/db"
	"github.com/tenku-cloud/tenku/internal/image/store"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// The image cache (Glance's image_cache_dir and /v2/cache, API 2.14+): a
// node-local copy of image data that downloads are served from. Images
// are queued by admins (PUT /v2/cache/{id}) and copied by a worker the API
// owns; downloads count hits. With the filesystem store the copy buys
// nothing but the API's behaviour, which clients and tempest rely on.

// imageCache is the cache's bookkeeping; the files are in a store.Store.
type imageCache struct {
	files *store.Store

	mu     sync.Mutex
	queued []string
	hits   map[string]int64
	access map[string]time.Time
	wake   chan struct{}
	// queuedAt is when each queued image was queued.
	queuedAt map[string]time.Time
}

func newImageCache(s *store.Store) *imageCache {
	return &imageCache{files: s, hits: map[string]int64{}, access: map[string]time.Time{}, wake: make(chan struct{}, 1), queuedAt: map[string]time.Time{}}
}

// cachedEntry is one record of GET /v2/cache, as Glance's drivers report it.
type cachedEntry struct {
	ImageID      string  `json:"image_id"`
	Hits         int64   `json:"hits"`
	LastAccessed float64 `json:"last_accessed"`
	LastModified float64 `json:"last_modified"`
	Size         int64   `json:"size"`
}

func (c *imageCache) cached() []cachedEntry {
	entries, _ := os.ReadDir(c.files.Dir())
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []cachedEntry{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		acc, ok := c.access[e.Name()]
		if !ok {
			acc = info.ModTime()
		}
		out = append(out, cachedEntry{ImageID: e.Name(), Hits: c.hits[e.Name()], Size: info.Size(),
			LastAccessed: float64(acc.UnixMicro()) / 1e6, LastModified: float64(info.ModTime().UnixMicro()) / 1e6})
	}
	slices.SortFunc(out, func(a, b cachedEntry) int { return strings.Compare(a.ImageID, b.ImageID) })
	return out
}

func (c *imageCache) isCached(id string) bool {
	_, err := os.Stat(c.path(id))
	return err == nil
}

func (c *imageCache) path(id string) string {
	p, _ := c.files.Path(c.files.Location(id))
	return p
}

func (c *imageCache) queue(id string) {
	c.mu.Lock()
	if !slices.Contains(c.queued, id) && !c.isCached(id) {
		c.queued = append(c.queued, id)
		c.queuedAt[id] = time.Now()
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// dueIDs are the images queued at least age ago.
func (c *imageCache) dueIDs(age time.Duration) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	now := time.Now()
	for _, id := range c.queued {
		if now.Sub(c.queuedAt[id]) >= age {
			out = append(out, id)
		}
	}
	return out
}

func (c *imageCache) queuedIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string{}, c.queued...)
}

func (c *imageCache) unqueue(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.queued, id)
	if i >= 0 {
		c.queued = slices.Delete(c.queued, i, i+1)
		delete(c.queuedAt, id)
	}
	return i >= 0
}

func (c *imageCache) remove(id string) bool {
	had := c.isCached(id)
	c.files.Delete(c.files.Location(id))
	c.mu.Lock()
	delete(c.hits, id)
	delete(c.access, id)
	c.mu.Unlock()
	return had
}

// hit records a download served from the cache.
func (c *imageCache) hit(id string) {
	c.mu.Lock()
	c.hits[id]++
	c.access[id] = time.Now()
	c.mu.Unlock()
}

// runCache is the cache worker (Glance's prefetcher): it copies queued images
// into the cache until the API closes. With a prefetcher interval it runs once
// per interval and takes the images queued at least an interval ago, so a
// queued image stays visible in the queue for a while, as in Glance; without
// one it copies each image as soon as it is queued.
func (a *API) runCache(ctx context.Context) {
	every := a.opt.CachePrefetcherInterval
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		for _, id := range a.cache.dueIDs(every) {
			if ctx.Err() != nil {
				return
			}
			if err := a.fetchIntoCache(ctx, id); err != nil {
				a.log.WarnContext(ctx, "image not cached", "image_id", id, "err", err)
			}
			a.cache.unqueue(id)
		}
		wake := a.cache.wake
		if every > 0 {
			wake = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick:
		}
	}
}

func (a *API) fetchIntoCache(ctx context.Context, id string) error {
	im, err := a.db.GetImage(ctx, id)
	if err != nil {
		return err
	}
	if im.Status != image.StatusActive || im.Location == "" {
		return errors.New("the image has no active data")
	}
	f, _, err := a.data.Open(im.Location)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := a.cache.files.Write(ctx, id, f, store.WriteOptions{})
	if err != nil {
		return err
	}
	if im.Checksum != "" && p.MD5 != im.Checksum {
		p.Abort()
		return errors.New("the cached copy does not match the image's checksum")
	}
	_, err = p.Commit()
	return err
}

func (a *API) cacheRoutes() []rest.Route {
	return []rest.Route{
		{Method: "GET", Path: "/v2/cache", Handler: a.cacheState},
		{Method: "DELETE", Path: "/v2/cache", Handler: a.clearCache, Status: http.StatusNoContent},
		{Method: "PUT", Path: "/v2/cache/{image_id}", Handler: a.queueImage, Status: http.StatusAccepted},
		{Method: "DELETE", Path: "/v2/cache/{image_id}", Handler: a.deleteCacheEntry, Status: http.StatusNoContent},
	}
}

// enforceCache checks a cache rule, then that the cache is on.
func (a *API) enforceCache(ctx context.Context, r *rest.Request, rule string, im *db.Image) error {
	target := map[string]any{"project_id": projectOf(r.Auth)}
	if im != nil {
		target = imageTarget(im, r.Auth)
	}
	if !a.allowed(ctx, r.Auth, rule, target) {
		return forbidden("")
	}
	if a.cache == nil {
		return notFound("Caching via API is not supported at this site.")
	}
	return nil
}

func (a *API) cacheState(ctx context.Context, r *rest.Request) (any, error) {
	if err := a.enforceCache(ctx, r, "cache_list", nil); err != nil {
		return nil, err
	}
	return map[string]any{"cached_images": a.cache.cached(), "queued_images": a.cache.queuedIDs()}, nil
}

func (a *API) queueImage(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("image_id")
	im, err := a.findImage(ctx, r.Auth, id)
	if err != nil {
		return nil, notFound("Image %s not found.", id)
	}
	if err := a.enforceCache(ctx, r, "cache_image", im); err != nil {
		return nil, err
	}
	if im.Status != image.StatusActive {
		return nil, badRequest("Only images with status active can be targeted for queueing")
	}
	a.cache.queue(id)
	return nil, nil
}

func (a *API) deleteCacheEntry(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("image_id")
	im, err := a.findImage(ctx, r.Auth, id)
	if err != nil {
		im = nil
		if a.cache == nil || !a.cache.isCached(id) && !slices.Contains(a.cache.queuedIDs(), id) {
			return nil, notFound("Image %s not found.", id)
		}
	}
	if err := a.enforceCache(ctx, r, "cache_delete", im); err != nil {
		return nil, err
	}
	a.cache.remove(id)
	a.cache.unqueue(id)
	return nil, nil
}

func (a *API) clearCache(ctx context.Context, r *rest.Request) (any, error) {
	if err := a.enforceCache(ctx, r, "cache_delete", nil); err != nil {
		return nil, err
	}
	target := strings.ToLower(r.HTTP.Header.Get("X-Image-Cache-Clear-Target"))
	if target != "" && target != "cache" && target != "queue" {
		return nil, badRequest("If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.")
	}
	if target != "queue" {
		for _, e := range a.cache.cached() {
			a.cache.remove(e.ImageID)
		}
	}
	if target != "cache" {
		for _, id := range a.cache.queuedIDs() {
			a.cache.unqueue(id)
		}
	}
	return nil, nil
}
