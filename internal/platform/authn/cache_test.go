package authn

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

type countingValidator struct {
	calls atomic.Int32
	valid map[string]*Context
	err   error
	delay time.Duration
}

func (v *countingValidator) Validate(ctx context.Context, token string) (*Context, error) {
	v.calls.Add(1)
	time.Sleep(v.delay)
	if v.err != nil {
		return nil, v.err
	}
	if a, ok := v.valid[token]; ok {
		return a, nil
	}
	return nil, fault.Unauthorized("The request you have made requires authentication.")
}

func TestCacheRemembersAndFlushes(t *testing.T) {
	v := &countingValidator{valid: map[string]*Context{"good": {UserID: "u1", ExpiresAt: time.Now().Add(time.Hour)}}}
	c := NewCache(v, time.Minute, 100)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		a, err := c.Validate(ctx, "good")
		if err != nil || a.UserID != "u1" || a.Token != "good" {
			t.Fatalf("Validate = %+v, %v", a, err)
		}
	}
	if n := v.calls.Load(); n != 1 {
		t.Fatalf("validator called %d times, want 1", n)
	}
	if _, err := c.Validate(ctx, "bad"); !fault.Is(err, 401) {
		t.Fatalf("bad token: %v", err)
	}
	if _, err := c.Validate(ctx, "bad"); !fault.Is(err, 401) || v.calls.Load() != 2 {
		t.Fatalf("a rejected token must be remembered briefly (calls %d)", v.calls.Load())
	}
	// Revocation: Keystone says so, the service flushes, the next use asks again.
	delete(v.valid, "good")
	c.Flush()
	if _, err := c.Validate(ctx, "good"); !fault.Is(err, 401) {
		t.Fatalf("after flush a revoked token must fail, got %v", err)
	}
	if _, err := c.Validate(ctx, ""); !fault.Is(err, 401) {
		t.Fatal("empty token")
	}
}

func TestCacheDoesNotKeepTransientErrorsOrExpired(t *testing.T) {
	v := &countingValidator{err: errors.New("keystone down")}
	c := NewCache(v, time.Minute, 100)
	ctx := context.Background()
	c.Validate(ctx, "t")
	c.Validate(ctx, "t")
	if v.calls.Load() != 2 {
		t.Fatalf("transient errors must not be cached (calls %d)", v.calls.Load())
	}
	now := time.Now()
	v2 := &countingValidator{valid: map[string]*Context{"short": {UserID: "u", ExpiresAt: now.Add(time.Second)}}}
	c2 := NewCache(v2, time.Hour, 100)
	c2.now = func() time.Time { return now }
	c2.Validate(ctx, "short")
	c2.now = func() time.Time { return now.Add(2 * time.Second) }
	c2.Validate(ctx, "short")
	if v2.calls.Load() != 2 {
		t.Fatal("a cached answer must not outlive the token's expiry")
	}
}

func TestCacheSingleFlightAndFlushRace(t *testing.T) {
	v := &countingValidator{valid: map[string]*Context{"t": {UserID: "u"}}, delay: 50 * time.Millisecond}
	c := NewCache(v, time.Minute, 100)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Validate(context.Background(), "t"); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(10 * time.Millisecond)
	c.Flush() // while the first validation is in flight
	wg.Wait()
	if n := v.calls.Load(); n != 1 {
		t.Fatalf("concurrent validations of one token: %d calls, want 1", n)
	}
	if c.Len() != 0 {
		t.Fatal("an answer fetched across a flush must not be cached")
	}
}

func TestCacheBounded(t *testing.T) {
	valid := map[string]*Context{}
	for i := 0; i < 50; i++ {
		valid[string(rune('a'+i))] = &Context{UserID: "u"}
	}
	c := NewCache(&countingValidator{valid: valid}, time.Minute, 10)
	for tok := range valid {
		c.Validate(context.Background(), tok)
	}
	if c.Len() > 10 {
		t.Fatalf("cache grew to %d entries, cap 10", c.Len())
	}
}

func TestContextHelpers(t *testing.T) {
	a := &Context{Roles: []string{"Member", "reader"}, ProjectID: "p"}
	if !a.HasRole("member") || a.IsAdmin() || a.Scope() != "project" {
		t.Fatal("HasRole/IsAdmin/Scope")
	}
	if (&Context{System: "all"}).Scope() != "system" || (&Context{}).Scope() != "" {
		t.Fatal("Scope")
	}
	ctx := With(context.Background(), a)
	if From(ctx) != a || From(context.Background()) != nil {
		t.Fatal("With/From")
	}
}
