package lease_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/platform/lease"
	"github.com/tenku-cloud/tenku/internal/platform/metrics"
	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

func migrated(t *testing.T, db *store.DB) *store.DB {
	t.Helper()
	if _, err := db.Migrate(context.Background(), lease.Migrations); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestAcquire: one holder at a time; the holder renews; another takes it
// only once it expires or is released.
func TestAcquire(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		migrated(t, db)
		ctx := context.Background()
		now := time.Unix(1_000_000, 0)
		clock := func() time.Time { return now }
		a := lease.New(db, "job", "a", 10*time.Second)
		b := lease.New(db, "job", "b", 10*time.Second)
		other := lease.New(db, "other-job", "b", 10*time.Second)
		a.Now, b.Now, other.Now = clock, clock, clock
		steps := []struct {
			what string
			l    *lease.Lease
			want bool
			move time.Duration
		}{
			{"a takes a new lease", a, true, 0},
			{"b is refused while a holds it", b, false, 0},
			{"another lease is independent", other, true, 0},
			{"a renews", a, true, 0},
			{"a renews again, 8 s later", a, true, 8 * time.Second},
			{"b is still refused (a renewed)", b, false, 9 * time.Second},
			{"b refused just before expiry", b, false, 900 * time.Millisecond},
			{"b takes the lease at its expiry", b, true, 100 * time.Millisecond},
			{"a is refused now", a, false, 0},
		}
		for _, s := range steps {
			now = now.Add(s.move)
			got, err := s.l.Acquire(ctx)
			if err != nil {
				t.Fatalf("%s: %v", s.what, err)
			}
			if got != s.want {
				t.Fatalf("%s: got %v", s.what, got)
			}
		}
		if h, _, err := a.Holder(ctx); err != nil || h != "b" {
			t.Fatalf("holder %q, %v", h, err)
		}
		if err := b.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := a.Release(ctx); err != nil { // not the holder: no effect
			t.Fatal(err)
		}
		if got, _ := a.Acquire(ctx); !got {
			t.Fatal("a could not take a released lease")
		}
	})
}

// TestAcquireRace: holders racing for a new lease, all at once: exactly one
// wins.
func TestAcquireRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		migrated(t, db)
		for round := 0; round < 5; round++ {
			var wins atomic.Int32
			var wg sync.WaitGroup
			gate := make(chan struct{})
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-gate
					l := lease.New(db, "race"+string(rune('a'+round)), string(rune('A'+i)), time.Minute)
					ok, err := l.Acquire(context.Background())
					if err != nil {
						t.Error(err)
					}
					if ok {
						wins.Add(1)
					}
				}(i)
			}
			close(gate)
			wg.Wait()
			if n := wins.Load(); n != 1 {
				t.Fatalf("round %d: %d holders", round, n)
			}
		}
	})
}

// TestEveryOnceAcrossReplicas runs one job in two replicas (two pools on
// one database, as two processes): it runs once per period, never in both;
// when the holder dies without releasing, the other takes over within the
// lease's time to live and the job goes on once per period.
func TestEveryOnceAcrossReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for seconds")
	}
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			// Each replica its own pool, as separate processes have.
			base := migrated(t, storetest.Open(t, d))
			pool := func() *store.DB {
				db, err := store.Open(context.Background(), base.URL)
				if err != nil {
					t.Fatal(err)
				}
				return db
			}
			db1, db2 := pool(), pool()
			t.Cleanup(func() { db2.Close() })
			const period = 100 * time.Millisecond
			var mu sync.Mutex
			var runs []string // holder of each run, in order
			var at []time.Time
			job := func(name string) lease.Job {
				return lease.Job{Name: "test.job", Every: period, TTL: 500 * time.Millisecond, Run: func(context.Context) error {
					mu.Lock()
					runs = append(runs, name)
					at = append(at, time.Now())
					mu.Unlock()
					return nil
				}}
			}
			reg := metrics.New()
			ctx1, kill1 := context.WithCancel(context.Background())
			ctx2, stop2 := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); lease.Every(ctx1, db1, "r1", job("r1"), reg, nil) }()
			time.Sleep(20 * time.Millisecond) // r1 first, so the test knows whom to kill
			go func() { defer wg.Done(); lease.Every(ctx2, db2, "r2", job("r2"), reg, nil) }()
			t.Cleanup(func() { kill1(); stop2(); wg.Wait() })

			time.Sleep(2 * time.Second)
			mu.Lock()
			before := len(runs)
			holder := runs[len(runs)-1]
			mu.Unlock()
			if holder != "r1" {
				t.Fatalf("the first replica does not hold the job: runs %v", runs)
			}
			for _, h := range runs[:before] {
				if h != "r1" {
					t.Fatalf("both replicas ran the job: %v", runs)
				}
			}
			// 2 s at 100 ms: 20 runs, give or take scheduling on a busy machine.
			if before < 15 || before > 22 {
				t.Fatalf("%d runs in 2 s at a period of 100 ms", before)
			}
			died := time.Now()
			// The holder dies: its database connections go first, so it
			// cannot release the lease, as a killed process does not.
			db1.Close()
			kill1()
			time.Sleep(2 * time.Second)
			mu.Lock()
			defer mu.Unlock()
			var first time.Time
			for i, h := range runs[before:] {
				if h != "r2" {
					t.Fatalf("the dead holder ran after its death: %v", runs[before:])
				}
				if i == 0 {
					first = at[before]
				}
			}
			if first.IsZero() {
				t.Fatal("nobody took over the job")
			}
			// TTL 500 ms after the last renewal, plus a period to notice.
			if gap := first.Sub(died); gap > 700*time.Millisecond {
				t.Fatalf("the job moved after %v", gap)
			}
			after := len(runs) - before
			if after < 10 || after > 21 {
				t.Fatalf("%d runs by the survivor in the 2 s after the death", after)
			}
			if n := reg.Sum("tenku_periodic_runs_total", map[string]string{"job": "test.job", "outcome": "ok"}); int(n) != len(runs) {
				t.Fatalf("metrics count %v runs, the job %d", n, len(runs))
			}
		})
	}
}
