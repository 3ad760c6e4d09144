package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// identitySuite measures the foundation issue's targets.
func identitySuite(e *env) error {
	ctx := context.Background()
	first, err := e.start()
	if err != nil {
		return err
	}
	report("first stack start (to banner)", ms(first), "ms", "-")
	e.stop()

	// Resume: from exec to the first password token.
	t0 := time.Now()
	if _, err := e.start(); err != nil {
		return err
	}
	var tok string
	for {
		if tok, err = e.passwordToken(ctx); err == nil {
			break
		}
		if time.Since(t0) > time.Minute {
			return err
		}
		time.Sleep(time.Millisecond)
	}
	report("resumed start to first token", ms(time.Since(t0)), "ms", "< 500 ms")
	time.Sleep(5 * time.Second)
	runtime.GC()
	report("idle RSS of tenku stack", e.rssMB(), "MiB", "< 60 MiB")

	// Token validation at concurrency 32.
	validate := func() error { return e.validate(tok, tok) }
	load(32, time.Second, validate) // warm up
	lat, errs, el := load(32, 10*time.Second, validate)
	report("token validation, concurrency 32", float64(len(lat))/el.Seconds(), "req/s", ">= 20000/s")
	report("token validation p50", ms(pct(lat, 0.50)), "ms", "-")
	report("token validation p99", ms(pct(lat, 0.99)), "ms", "< 5 ms")
	if errs > 0 {
		report("token validation errors", float64(errs), "", "0")
	}
	report("RSS after validation load", e.rssMB(), "MiB", "-")

	// Password tokens, bcrypt-bound: compare with what bcrypt allows on this machine.
	hash, _ := bcrypt.GenerateFromPassword([]byte("x"), 12)
	b0 := time.Now()
	const n = 4
	for i := 0; i < n; i++ {
		bcrypt.CompareHashAndPassword(hash, []byte("x"))
	}
	perHash := time.Since(b0) / n
	bound := float64(runtime.NumCPU()) / perHash.Seconds()
	issue := func() error { _, err := e.passwordToken(ctx); return err }
	lat, errs, el = load(8, 10*time.Second, issue)
	rate := float64(len(lat)) / el.Seconds()
	report("password token issue, concurrency 8", rate, "tok/s", fmt.Sprintf(">= 90%% of %.1f/s (bcrypt 12 on %d cores)", bound, runtime.NumCPU()))
	report("  ... as a share of the bcrypt bound", 100*rate/bound, "%", ">= 90%")
	if errs > 0 {
		report("password token errors", float64(errs), "", "0")
	}
	return nil
}
