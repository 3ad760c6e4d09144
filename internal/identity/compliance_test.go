package identity

import (
	"context"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/identity/password"
	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

func TestSecurityCompliance(t *testing.T) {
	cfg := testConfig()
	sc := &cfg.SecurityCompliance
	sc.LockoutFailureAttempts = 2
	sc.LockoutDuration = 2 * time.Second
	sc.UniqueLastPasswordCount = 2
	sc.PasswordRegex = `^.{6,}$`
	sc.PasswordRegexDescription = "at least six characters"
	c := newCloud(t, nil, cfg)
	admin := c.login("admin", adminPW, adminScope())
	st, _, body := c.call("POST", "/v3/users", admin, `{"user":{"name":"carol","password":"short"}}`)
	if st != 400 {
		t.Fatalf("regex not applied: %d %v", st, body)
	}
	st, _, body = c.call("POST", "/v3/users", admin, `{"user":{"name":"carol","password":"first-pw"}}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, body)
	}
	uid := body["user"].(map[string]any)["id"].(string)
	auth := func(pw string) int {
		st, _, _ := c.call("POST", "/v3/auth/tokens", "", `{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"`+uid+`","password":"`+pw+`"}}},"scope":"unscoped"}}`)
		return st
	}
	change := func(from, to string) int {
		st, _, _ := c.call("POST", "/v3/users/"+uid+"/password", "", `{"user":{"original_password":"`+from+`","password":"`+to+`"}}`)
		return st
	}
	if s := auth("first-pw"); s != 201 {
		t.Fatalf("login: %d", s)
	}
	// Lockout after two failures, even with the right password, until it passes.
	auth("wrong-1")
	auth("wrong-2")
	if s := auth("first-pw"); s != 401 {
		t.Fatalf("locked account let in: %d", s)
	}
	time.Sleep(2100 * time.Millisecond)
	if s := auth("first-pw"); s != 201 {
		t.Fatalf("lockout did not end: %d", s)
	}
	// History: the last two passwords cannot be reused by the user.
	if s := change("first-pw", "second-pw"); s != 204 {
		t.Fatalf("change: %d", s)
	}
	for _, again := range []string{"second-pw", "first-pw"} {
		if s := change("second-pw", again); s != 400 {
			t.Errorf("reuse of %s: %d", again, s)
		}
	}
	if s := change("second-pw", "sh"); s != 400 {
		t.Errorf("regex on change: %d", s)
	}
	if s := change("wrong", "third-pw"); s != 401 {
		t.Errorf("wrong original: %d", s)
	}
	if s := change("second-pw", "third-pw"); s != 204 {
		t.Fatalf("third: %d", s)
	}
	// An administrator's reset is not held to the history.
	if st, _, b := c.call("PATCH", "/v3/users/"+uid, admin, `{"user":{"password":"third-pw"}}`); st != 200 {
		t.Fatalf("admin reset: %d %v", st, b)
	}
	time.Sleep(1100 * time.Millisecond)
	if s := auth("third-pw"); s != 201 {
		t.Fatalf("after reset: %d", s)
	}
}

func TestPasswordExpiryAndFirstUse(t *testing.T) {
	cfg := testConfig()
	cfg.SecurityCompliance.ChangePasswordUponFirstUse = true
	cfg.SecurityCompliance.MinimumPasswordAge = 1
	c := newCloud(t, nil, cfg)
	admin := c.login("admin", adminPW, adminScope())
	_, _, body := c.call("POST", "/v3/users", admin, `{"user":{"name":"dave","password":"set-by-admin"}}`)
	u := body["user"].(map[string]any)
	if u["password_expires_at"] == nil {
		t.Fatalf("first-use password does not expire: %v", u)
	}
	uid := u["id"].(string)
	st, _, b := c.call("POST", "/v3/auth/tokens", "", `{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"`+uid+`","password":"set-by-admin"}}}}}`)
	if st != 401 || !contains(b, "expired") {
		t.Fatalf("expired password let in: %d %v", st, b)
	}
	// The user may still change it (the expired password is accepted there).
	if st, _, b := c.call("POST", "/v3/users/"+uid+"/password", "", `{"user":{"original_password":"set-by-admin","password":"mine-now"}}`); st != 204 {
		t.Fatalf("change: %d %v", st, b)
	}
	// ...but not again the same day (minimum_password_age).
	if st, _, _ := c.call("POST", "/v3/users/"+uid+"/password", "", `{"user":{"original_password":"mine-now","password":"again-pw"}}`); st != 400 {
		t.Fatalf("minimum age not enforced: %d", st)
	}
	time.Sleep(1100 * time.Millisecond)
	if st, _, b := c.call("POST", "/v3/auth/tokens", "", `{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"`+uid+`","password":"mine-now"}}}}}`); st != 201 {
		t.Fatalf("own password: %d %v", st, b)
	}
}

func contains(body map[string]any, s string) bool {
	e, _ := body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return len(m) > 0 && (s == "" || containsFold(m, s))
}

func containsFold(a, b string) bool {
	for i := 0; i+len(b) <= len(a); i++ {
		if equalFold(a[i:i+len(b)], b) {
			return true
		}
	}
	return false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// TestImportedHashes: passwords migrated from another Keystone verify.
func TestImportedHashes(t *testing.T) {
	c := newCloud(t, nil, testConfig())
	ctx := context.Background()
	for i, h := range []string{
		password.SHA512Crypt("old-secret", "saltsalt", 5000, false),
		"$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg$vgFvU7zWIDgDAUi7d8ayt.cfRiPWVVWfv8iQRsGZaZviWzsSNgWYXEE5PmvI/VELMsOmEbqLz0PKuePNjOk41A",
	} {
		pw := []string{"old-secret", "secret"}[i]
		u := &store.User{ID: hexID(), DomainID: "default", Name: "imported" + string(rune('a'+i)), Enabled: true}
		if err := c.svc.st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := c.svc.st.AddPassword(ctx, &store.Password{UserID: u.ID, Hash: h}); err != nil {
			t.Fatal(err)
		}
		st, _, b := c.call("POST", "/v3/auth/tokens", "", `{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"`+u.ID+`","password":"`+pw+`"}}}}}`)
		if st != 201 {
			t.Errorf("imported hash %d: %d %v", i, st, b)
		}
	}
}

// TestTwoProcesses: Keystone processes sharing a database see each other's
// writes (through the cache epoch) and each other's Fernet keys.
func TestTwoProcesses(t *testing.T) {
	db := storetest.Open(t, pstore.SQLite)
	cfg := testConfig()
	cfg.Cache.EpochPollInterval = 50 * time.Millisecond
	a := newCloud(t, db, cfg)
	b, err := New(cfg, service.Deps{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown(context.Background())
	ctx := context.Background()
	tok := a.login("demo", demoPW, "")
	if _, err := b.Validator().Validate(ctx, tok); err != nil {
		t.Fatalf("second process rejects the first's token: %v", err)
	}
	// Revoke in A; B stops accepting within the poll interval.
	admin := a.login("admin", adminPW, adminScope())
	a.call("DELETE", "/v3/auth/tokens", admin, "", "X-Subject-Token", tok)
	eventually(t, func() bool { _, err := b.Validator().Validate(ctx, tok); return err != nil })
	// Rotate keys (tenku manage fernet rotate): both keep validating old
	// tokens and the new primary's tokens.
	old := a.login("demo", demoPW, "")
	idx, err := RotateFernetKeys(ctx, db, cfg.FernetTokens.MaxActiveKeys)
	if err != nil || len(idx) != 3 {
		t.Fatalf("rotate: %v %v", idx, err)
	}
	eventually(t, func() bool {
		fresh := a.login("demo", demoPW, "")
		_, e1 := b.Validator().Validate(ctx, fresh)
		_, e2 := b.Validator().Validate(ctx, old)
		return e1 == nil && e2 == nil
	})
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition not met in time")
}

// TestBootstrapIdempotent: a second run creates nothing twice, keeps ids,
// follows new endpoint URLs and passwords.
func TestBootstrapIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		ctx := context.Background()
		cfg := testConfig()
		opts := BootstrapOptions{AdminPassword: "a1", ServicePassword: "s1", ServiceUsers: []string{"nova"}, Config: &cfg,
			Services: []CatalogService{{Name: "keystone", Type: "identity", PublicURL: "http://one/v3"}}}
		if err := Bootstrap(ctx, db, opts); err != nil {
			t.Fatal(err)
		}
		st := store.New(db)
		count := func() map[string]int {
			out := map[string]int{}
			for _, tbl := range []string{"project", "users", "role", "implied_role", "assignment", "region", "service", "endpoint", "fernet_key", "password"} {
				var n int
				db.QueryRow(ctx, "SELECT COUNT(*) FROM "+tbl).Scan(&n)
				out[tbl] = n
			}
			return out
		}
		before := count()
		admin1, _ := st.GetUserByName(ctx, "admin", "default")
		opts.Services[0].PublicURL = "http://two/v3"
		opts.AdminPassword = "a2"
		if err := Bootstrap(ctx, db, opts); err != nil {
			t.Fatal(err)
		}
		after := count()
		before["password"] += 2 // admin's and demo's (which follows admin's) new passwords, nothing else
		for k, v := range before {
			if after[k] != v {
				t.Errorf("%s: %d rows, want %d", k, after[k], v)
			}
		}
		admin2, _ := st.GetUserByName(ctx, "admin", "default")
		if admin1.ID != admin2.ID {
			t.Error("admin's id changed")
		}
		eps, _ := st.ListEndpoints(ctx)
		if len(eps) != 1 || eps[0].URL != "http://two/v3" {
			t.Errorf("endpoint not updated: %+v", eps[0])
		}
		ps, _ := st.Passwords(ctx, admin2.ID, 1)
		if ok, _ := password.Check("a2", ps[0].Hash); !ok {
			t.Error("admin password not updated")
		}
		// The same passwords again change nothing at all.
		if err := Bootstrap(ctx, db, opts); err != nil {
			t.Fatal(err)
		}
		if again := count(); again["password"] != after["password"] {
			t.Errorf("unchanged password re-hashed: %d → %d", after["password"], again["password"])
		}
		// KeepPasswords: existing users keep theirs, a new service user gets the given one.
		keep := opts
		keep.AdminPassword, keep.KeepPasswords = "a3", true
		keep.ServiceUsers = []string{"nova", "glance"}
		if err := Bootstrap(ctx, db, keep); err != nil {
			t.Fatal(err)
		}
		ps, _ = st.Passwords(ctx, admin2.ID, 1)
		if ok, _ := password.Check("a2", ps[0].Hash); !ok {
			t.Error("KeepPasswords changed admin's password")
		}
		glance, err := st.GetUserByName(ctx, "glance", "default")
		if err != nil {
			t.Fatal(err)
		}
		ps, _ = st.Passwords(ctx, glance.ID, 1)
		if ok, _ := password.Check("s1", ps[0].Hash); len(ps) == 0 || !ok {
			t.Error("a user created under KeepPasswords must get the given password")
		}
	})
}
