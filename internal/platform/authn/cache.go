package authn

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Cache wraps a Validator and remembers its answers for a while, as
// keystonemiddleware's token cache does. Invalid answers are remembered briefly
// too, so a flood of bad tokens does not become a flood of Keystone calls.
// Flush drops everything; services call it when Keystone announces a revocation.
type Cache struct {
	next     Validator
	ttl      time.Duration
	negTTL   time.Duration
	max      int
	now      func() time.Time
	mu       sync.RWMutex
	entries  map[[32]byte]cacheEntry
	inflight map[[32]byte]*call
	gen      uint64
}

type cacheEntry struct {
	ctx     *Context
	err     error
	expires time.Time
}

type call struct {
	done chan struct{}
	ctx  *Context
	err  error
}

// NewCache returns a cache in front of next keeping valid answers for ttl (capped by
// the token's own expiry) and at most max entries.
func NewCache(next Validator, ttl time.Duration, max int) *Cache {
	if max <= 0 {
		max = 10000
	}
	return &Cache{next: next, ttl: ttl, negTTL: min(ttl, 5*time.Second), max: max, now: time.Now,
		entries: map[[32]byte]cacheEntry{}, inflight: map[[32]byte]*call{}}
}

// Validate answers from the cache, or asks the wrapped validator once even when many
// requests carry the same new token at the same time.
func (c *Cache) Validate(ctx context.Context, token string) (*Context, error) {
	if token == "" {
		return nil, fault.Unauthorized("The request you have made requires authentication.")
	}
	key := sha256.Sum256([]byte(token))
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		if e.err != nil {
			return nil, e.err
		}
		return withToken(e.ctx, token), nil
	}

	c.mu.Lock()
	if cl, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if cl.err != nil {
			return nil, cl.err
		}
		return withToken(cl.ctx, token), nil
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[key] = cl
	gen := c.gen
	c.mu.Unlock()

	cl.ctx, cl.err = c.next.Validate(ctx, token)

	c.mu.Lock()
	delete(c.inflight, key)
	// A flush that happened while we asked means the answer may predate a
	// revocation: use it for this request, do not keep it.
	if gen == c.gen && cacheable(cl.err) {
		exp := now.Add(c.ttl)
		if cl.err != nil {
			exp = now.Add(c.negTTL)
		} else if !cl.ctx.ExpiresAt.IsZero() && cl.ctx.ExpiresAt.Before(exp) {
			exp = cl.ctx.ExpiresAt
		}
		if len(c.entries) >= c.max {
			c.evictLocked(now)
		}
		c.entries[key] = cacheEntry{ctx: cl.ctx, err: cl.err, expires: exp}
	}
	c.mu.Unlock()
	close(cl.done)
	if cl.err != nil {
		return nil, cl.err
	}
	return withToken(cl.ctx, token), nil
}

// cacheable: remember valid answers and definite 401s, never transient failures.
func cacheable(err error) bool { return err == nil || fault.Is(err, 401) || fault.Is(err, 404) }

func withToken(a *Context, token string) *Context {
	c := *a
	c.Token = token
	return &c
}

func (c *Cache) evictLocked(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	// Still full: drop an arbitrary half rather than grow without bound.
	if len(c.entries) >= c.max {
		n := 0
		for k := range c.entries {
			delete(c.entries, k)
			if n++; n >= c.max/2 {
				break
			}
		}
	}
}

// Flush forgets every cached answer.
func (c *Cache) Flush() {
	c.mu.Lock()
	c.entries = map[[32]byte]cacheEntry{}
	c.gen++
	c.mu.Unlock()
}

// Len returns the number of cached answers.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
