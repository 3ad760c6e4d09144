package lease

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/metrics"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

//go:embed migrations/*.sql
var files embed.FS

// Migrations create the lease table; the assembly applies them to every
// service's database, so any service's periodic job can take a lease.
var Migrations = store.Migrations{Service: "lease", FS: files, Dir: "migrations"}

// Holder names this process as a lease holder: host, pid and a random
// suffix, so a restarted process (same pid in a container) is another
// holder.
func Holder() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%s", h, os.Getpid(), hex.EncodeToString(b[:]))
}

// Lease is one named lease as seen by one holder.
type Lease struct {
	db     *store.DB
	name   string
	holder string
	ttl    time.Duration
	// Now is the clock (tests move it).
	Now func() time.Time
}

// New returns the lease name in db for holder, held for ttl after each
// Acquire.
func New(db *store.DB, name, holder string, ttl time.Duration) *Lease {
	return &Lease{db: db, name: name, holder: holder, ttl: ttl, Now: time.Now}
}

// Name is the lease's name.
func (l *Lease) Name() string { return l.name }

// Acquire takes the lease or renews it for another ttl, reporting whether
// this holder has it now.
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	now := l.Now().UnixMicro()
	exp := l.Now().Add(l.ttl).UnixMicro()
	res, err := l.db.Exec(ctx, `UPDATE tenku_leases SET holder = ?, expires_at = ?,
		acquired_at = CASE WHEN holder = ? THEN acquired_at ELSE ? END
		WHERE name = ? AND (holder = ? OR expires_at <= ?)`,
		l.holder, exp, l.holder, now, l.name, l.holder, now)
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", l.name, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	res, err = l.db.Exec(ctx, l.db.InsertIgnore("tenku_leases", []string{"name", "holder", "acquired_at", "expires_at"}),
		l.name, l.holder, now, exp)
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", l.name, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Release gives the lease up when this holder has it, so another replica
// takes it at its next try rather than at expiry.
func (l *Lease) Release(ctx context.Context) error {
	if _, err := l.db.Exec(ctx, `UPDATE tenku_leases SET expires_at = 0 WHERE name = ? AND holder = ?`, l.name, l.holder); err != nil {
		return fmt.Errorf("release lease %s: %w", l.name, err)
	}
	return nil
}

// Holder returns who holds the lease and until when ("" when nobody ever
// took it).
func (l *Lease) Holder(ctx context.Context) (string, time.Time, error) {
	var holder string
	var exp int64
	err := l.db.QueryRow(ctx, `SELECT holder, expires_at FROM tenku_leases WHERE name = ?`, l.name).Scan(&holder, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("lease %s: %w", l.name, err)
	}
	return holder, time.UnixMicro(exp), nil
}

// Job is a periodic job run under a lease.
type Job struct {
	// Name names the lease and the job in logs and metrics
	// ("compute.stranded_sweep").
	Name string
	// Every is the period.
	Every time.Duration
	// TTL is how long the lease outlives its holder's last renewal; zero
	// means two periods plus a second, so a living holder always renews in
	// time and a dead one is replaced within TTL plus a period.
	TTL time.Duration
	// Run is the job.
	Run func(ctx context.Context) error
}

// Every runs job.Run each period while this holder has the job's lease,
// until ctx ends; the lease is then released. The first try is at once.
func Every(ctx context.Context, db *store.DB, holder string, job Job, met *metrics.Registry, log *slog.Logger) {
	if log == nil {
		log = logging.Discard()
	}
	ttl := job.TTL
	if ttl <= 0 {
		ttl = 2*job.Every + time.Second
	}
	l := New(db, job.Name, holder, ttl)
	held, migrated := false, false
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if held {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_ = l.Release(rctx)
				cancel()
			}
			return
		case <-t.C:
		}
		t.Reset(job.Every)
		if !migrated {
			// The assembly migrates every service's database; a service
			// built on its own (tests, tools) gets the table here.
			if _, err := db.Migrate(ctx, Migrations); err != nil {
				if ctx.Err() == nil {
					log.WarnContext(ctx, "cannot create the lease table", "job", job.Name, "err", err)
				}
				continue
			}
			migrated = true
		}
		ok, err := l.Acquire(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.WarnContext(ctx, "cannot take periodic job's lease", "job", job.Name, "err", err)
			}
			continue
		}
		if ok != held {
			if ok {
				log.InfoContext(ctx, "periodic job's lease taken", "job", job.Name, "holder", holder)
			} else {
				log.InfoContext(ctx, "periodic job's lease lost", "job", job.Name, "holder", holder)
			}
			held = ok
		}
		if !ok {
			continue
		}
		err = job.Run(ctx)
		met.PeriodicRun(job.Name, err)
		if err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "periodic job failed", "job", job.Name, "err", err)
		}
	}
}
