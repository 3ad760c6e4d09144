package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// stmtCache keeps prepared statements of a SQLite pool by query text.
// SQLite parses a statement in about the time it takes to run a small one,
// and every transaction of a service waits for the one writer connection:
// the writer should only run statements, not parse them again.
//
// Only single data statements are kept, and not those with many
// placeholders (IN lists of varying length);
// when the cache is full an arbitrary statement makes room. A statement that
// fails to prepare is run unprepared, so that the error is the usual one.
type stmtCache struct {
	pool *sql.DB
	mu   sync.Mutex
	m    map[string]*sql.Stmt
}

const (
	maxCachedStmts  = 512
	maxCachedParams = 64
)

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, m: map[string]*sql.Stmt{}}
}

// lookup returns the cached statement of q; ok is false when q is not to be
// cached at all (or there is no cache).
func (c *stmtCache) lookup(q string) (s *sql.Stmt, ok bool) {
	if c == nil || !cacheable(q) {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[q], true
}

// prepared returns the statement of q, preparing it on the pool when it is
// not cached yet (which takes a connection of the pool: never call it for
// the writer while holding the writer's connection). nil means "run it
// unprepared".
func (c *stmtCache) prepared(ctx context.Context, q string) *sql.Stmt {
	s, ok := c.lookup(q)
	if s != nil || !ok {
		return s
	}
	return c.prepare(ctx, q)
}

func (c *stmtCache) prepare(ctx context.Context, q string) *sql.Stmt {
	s, err := c.pool.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[q]; old != nil {
		s.Close()
		return old
	}
	if len(c.m) >= maxCachedStmts {
		for k, v := range c.m {
			// database/sql closes it for good once running queries end.
			v.Close()
			delete(c.m, k)
			break
		}
	}
	c.m[q] = s
	return s
}

// cacheable reports whether q is a single data statement with few
// placeholders (schema changes and scripts are run as they come).
func cacheable(q string) bool {
	if strings.Count(q, "?") > maxCachedParams || strings.Contains(q, ";") {
		return false
	}
	verb, _, _ := strings.Cut(strings.TrimSpace(q), " ")
	switch strings.ToUpper(verb) {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH":
		return true
	}
	return false
}

// prepareAll prepares statements that are not cached yet.
func (c *stmtCache) prepareAll(ctx context.Context, qs []string) {
	for _, q := range qs {
		if s, ok := c.lookup(q); s == nil && ok {
			c.prepare(context.WithoutCancel(ctx), q)
		}
	}
}

// close closes every cached statement.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, s := range c.m {
		s.Close()
		delete(c.m, k)
	}
}
