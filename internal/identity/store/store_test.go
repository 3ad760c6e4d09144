package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/identity/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

func open(t *testing.T, db *pstore.DB) *store.Store {
	t.Helper()
	if _, err := db.Migrate(context.Background(), store.Migrations); err != nil {
		t.Fatal(err)
	}
	return store.New(db)
}

func TestProjectsAndDomains(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		ctx := context.Background()
		st := open(t, db)
		dom := &store.Project{ID: "default", Name: "Default", Enabled: true, DomainID: store.RootDomain, IsDomain: true, Extra: store.Extra{}}
		if err := st.CreateProject(ctx, dom); err != nil {
			t.Fatal(err)
		}
		p := &store.Project{ID: "p1", Name: "alpha", Enabled: true, DomainID: "default", ParentID: "default",
			Extra: store.Extra{"color": "blue"}, Tags: []string{"b", "a", "a"}}
		if err := st.CreateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
		// Same name in the same domain: 409; differing only in case: allowed.
		err := st.CreateProject(ctx, &store.Project{ID: "p2", Name: "alpha", Enabled: true, DomainID: "default"})
		if !fault.IsConflict(err) {
			t.Fatalf("duplicate project: %v", err)
		}
		if err := st.CreateProject(ctx, &store.Project{ID: "p3", Name: "Alpha", Enabled: true, DomainID: "default"}); err != nil {
			t.Fatalf("case-differing name: %v", err)
		}
		got, err := st.GetProject(ctx, "p1")
		if err != nil || got.Extra["color"] != "blue" || len(got.Tags) != 2 || got.Tags[0] != "a" || got.ParentID != "default" {
			t.Fatalf("GetProject = %+v, %v", got, err)
		}
		if _, err := st.GetDomain(ctx, "p1"); !fault.IsNotFound(err) {
			t.Fatalf("a project is not a domain: %v", err)
		}
		if d, err := st.GetProjectByName(ctx, "Default", store.RootDomain); err != nil || d.ID != "default" {
			t.Fatalf("domain by name: %v %v", d, err)
		}
		got.Enabled, got.Tags = false, []string{"z"}
		if err := st.UpdateProject(ctx, got); err != nil {
			t.Fatal(err)
		}
		all, err := st.ListProjects(ctx)
		if err != nil || len(all) != 3 {
			t.Fatalf("ListProjects: %d %v", len(all), err)
		}
		for _, x := range all {
			if x.ID == "p1" && (x.Enabled || len(x.Tags) != 1 || x.Tags[0] != "z") {
				t.Fatalf("update lost: %+v", x)
			}
		}
		if err := st.DeleteProject(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteProject(ctx, "p1"); !fault.IsNotFound(err) {
			t.Fatalf("second delete: %v", err)
		}
	})
}

func TestUsersPasswordsGroups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		ctx := context.Background()
		st := open(t, db)
		u := &store.User{ID: "u1", DomainID: "default", Name: "alice", Enabled: true, Extra: store.Extra{"email": "a@x"}, Options: map[string]any{}}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, &store.User{ID: "u2", DomainID: "default", Name: "alice", Enabled: true}); !fault.IsConflict(err) {
			t.Fatalf("duplicate user: %v", err)
		}
		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
		for i, h := range []string{"h1", "h2", "h3"} {
			p := &store.Password{UserID: "u1", Hash: h, SelfService: i == 2}
			if i == 2 {
				p.ExpiresAt = exp
			}
			if err := st.AddPassword(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		ps, err := st.Passwords(ctx, "u1", 2)
		if err != nil || len(ps) != 2 || ps[0].Hash != "h3" || !ps[0].SelfService {
			t.Fatalf("Passwords = %v, %v", ps, err)
		}
		got, err := st.GetUserByName(ctx, "alice", "default")
		if err != nil || !got.PasswordExpiresAt.Equal(exp) || got.Extra["email"] != "a@x" || !got.HasPassword {
			t.Fatalf("GetUserByName = %+v, %v", got, err)
		}
		if err := st.PrunePasswords(ctx, "u1", 1); err != nil {
			t.Fatal(err)
		}
		if ps, _ := st.Passwords(ctx, "u1", 0); len(ps) != 1 {
			t.Fatalf("prune left %d", len(ps))
		}
		now := time.Now()
		st.RecordFailedAuth(ctx, "u1", now)
		st.RecordFailedAuth(ctx, "u1", now)
		if got, _ := st.GetUser(ctx, "u1"); got.FailedAuthCount != 2 || got.FailedAuthAt.IsZero() {
			t.Fatalf("failed auth: %+v", got)
		}
		st.RecordSuccessfulAuth(ctx, "u1", now)
		if got, _ := st.GetUser(ctx, "u1"); got.FailedAuthCount != 0 || got.LastActiveAt.IsZero() {
			t.Fatalf("successful auth: %+v", got)
		}

		g := &store.Group{ID: "g1", DomainID: "default", Name: "devs", Extra: store.Extra{}}
		if err := st.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := st.AddMember(ctx, "u1", "g1"); err != nil {
				t.Fatal(err)
			}
		}
		if ok, _ := st.IsMember(ctx, "u1", "g1"); !ok {
			t.Fatal("not a member")
		}
		if ids, _ := st.GroupIDsOfUser(ctx, "u1"); len(ids) != 1 {
			t.Fatalf("groups of user: %v", ids)
		}
		if err := st.DeleteUser(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if ids, _ := st.UserIDsOfGroup(ctx, "g1"); len(ids) != 0 {
			t.Fatalf("membership outlived the user: %v", ids)
		}
		if ps, _ := st.Passwords(ctx, "u1", 0); len(ps) != 0 {
			t.Fatal("passwords outlived the user")
		}
	})
}

func TestAssignmentsCatalogRevocations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		ctx := context.Background()
		st := open(t, db)
		for _, r := range []*store.Role{{ID: "r1", Name: "admin"}, {ID: "r2", Name: "member"}, {ID: "r3", Name: "member", DomainID: "d1"}} {
			if err := st.CreateRole(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.CreateRole(ctx, &store.Role{ID: "r4", Name: "admin"}); !fault.IsConflict(err) {
			t.Fatalf("duplicate global role: %v", err)
		}
		if r, _ := st.GetRole(ctx, "r3"); r.DomainID != "d1" {
			t.Fatalf("domain role: %+v", r)
		}
		st.CreateImpliedRole(ctx, store.ImpliedRole{PriorID: "r1", ImpliedID: "r2"})
		st.CreateImpliedRole(ctx, store.ImpliedRole{PriorID: "r1", ImpliedID: "r2"})
		if ims, _ := st.ListImpliedRoles(ctx); len(ims) != 1 {
			t.Fatalf("implied: %v", ims)
		}
		a := store.Assignment{Kind: store.UserProject, ActorID: "u1", TargetID: "p1", RoleID: "r1"}
		for range 2 {
			if err := st.Grant(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		st.Grant(ctx, store.Assignment{Kind: store.GroupDomain, ActorID: "g1", TargetID: "d1", RoleID: "r2", Inherited: true})
		yes := true
		as, err := st.Assignments(ctx, store.AssignmentFilter{Inherited: &yes})
		if err != nil || len(as) != 1 || !as[0].IsGroup() {
			t.Fatalf("inherited: %v %v", as, err)
		}
		if as, _ := st.Assignments(ctx, store.AssignmentFilter{ActorIDs: []string{"u1", "g1"}}); len(as) != 2 {
			t.Fatalf("by actors: %v", as)
		}
		if ok, _ := st.Revoke(ctx, a); !ok {
			t.Fatal("revoke")
		}
		if err := st.DeleteRole(ctx, "r2"); err != nil {
			t.Fatal(err)
		}
		if as, _ := st.Assignments(ctx, store.AssignmentFilter{}); len(as) != 0 {
			t.Fatalf("assignments of a deleted role: %v", as)
		}

		st.CreateRegion(ctx, &store.Region{ID: "RegionOne"})
		svc := &store.Service{ID: "s1", Type: "identity", Name: "keystone", Enabled: true}
		if err := st.CreateService(ctx, svc); err != nil {
			t.Fatal(err)
		}
		ep := &store.Endpoint{ID: "e1", ServiceID: "s1", Interface: "public", RegionID: "RegionOne", URL: "http://x/v3", Enabled: true}
		if err := st.CreateEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
		st.AddProjectEndpoint(ctx, store.ProjectEndpoint{EndpointID: "e1", ProjectID: "p1"})
		if err := st.DeleteService(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		if eps, _ := st.ListEndpoints(ctx); len(eps) != 0 {
			t.Fatalf("endpoints outlived their service: %v", eps)
		}
		if pes, _ := st.ListProjectEndpoints(ctx); len(pes) != 0 {
			t.Fatalf("associations outlived the endpoint: %v", pes)
		}

		old := time.Now().Add(-time.Hour)
		st.AddRevocationEvent(ctx, &store.RevocationEvent{UserID: "u1", RevokedAt: old})
		st.AddRevocationEvent(ctx, &store.RevocationEvent{AuditID: "abc"})
		evs, err := st.RevocationEvents(ctx, time.Now().Add(-time.Minute))
		if err != nil || len(evs) != 1 || evs[0].AuditID != "abc" || evs[0].IssuedBefore.IsZero() {
			t.Fatalf("events: %v %v", evs, err)
		}
		if n, _ := st.PruneRevocationEvents(ctx, time.Now().Add(-time.Minute)); n != 1 {
			t.Fatalf("pruned %d", n)
		}

		e0, _ := st.Epoch(ctx)
		st.BumpEpoch(ctx)
		if e1, _ := st.Epoch(ctx); e1 != e0+1 {
			t.Fatalf("epoch %d → %d", e0, e1)
		}
		if err := st.Tx(ctx, func(tx *store.Store) error { return tx.SetFernetKeys(ctx, map[int]string{0: "a", 1: "b"}) }); err != nil {
			t.Fatal(err)
		}
		if keys, _ := st.FernetKeys(ctx); len(keys) != 2 || keys[1] != "b" {
			t.Fatalf("keys %v", keys)
		}
	})
}

func TestConfigConsumersLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		ctx := context.Background()
		st := open(t, db)
		if _, err := st.GetDomainConfig(ctx, "d1"); !fault.IsNotFound(err) {
			t.Fatalf("missing config: %v", err)
		}
		cfg := store.DomainConfig{"ldap": {"url": "ldap://x", "page_size": float64(5)}}
		for range 2 {
			if err := st.PutDomainConfig(ctx, "d1", cfg); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.GetDomainConfig(ctx, "d1")
		if err != nil || got["ldap"]["url"] != "ldap://x" {
			t.Fatalf("config: %v %v", got, err)
		}
		if err := st.DeleteDomainConfig(ctx, "d1"); err != nil {
			t.Fatal(err)
		}

		if err := st.CreateConsumer(ctx, &store.Consumer{ID: "c1", Description: "d", Secret: "s"}); err != nil {
			t.Fatal(err)
		}
		c, err := st.GetConsumer(ctx, "c1")
		if err != nil || c.Secret != "s" {
			t.Fatalf("consumer: %v %v", c, err)
		}
		if err := st.DeleteConsumer(ctx, "c1"); err != nil {
			t.Fatal(err)
		}

		rl := &store.RegisteredLimit{ID: "r1", ServiceID: "s1", ResourceName: "cores", DefaultLimit: 10}
		if err := st.CreateRegisteredLimit(ctx, rl); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateRegisteredLimit(ctx, &store.RegisteredLimit{ID: "r2", ServiceID: "s1", ResourceName: "cores", DefaultLimit: 3}); !fault.IsConflict(err) {
			t.Fatalf("duplicate registered limit (no region): %v", err)
		}
		l := &store.Limit{ID: "l1", ProjectID: "p1", ServiceID: "s1", ResourceName: "cores", ResourceLimit: 4}
		if err := st.CreateLimit(ctx, l); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateLimit(ctx, &store.Limit{ID: "l2", ProjectID: "p1", ServiceID: "s1", ResourceName: "cores", ResourceLimit: 5}); !fault.IsConflict(err) {
			t.Fatalf("duplicate limit: %v", err)
		}
		l.ResourceLimit = 7
		if err := st.UpdateLimit(ctx, l); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetLimit(ctx, "l1"); got.ResourceLimit != 7 {
			t.Fatalf("limit: %+v", got)
		}
		if err := st.DeleteLimitsOf(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if ls, _ := st.ListLimits(ctx); len(ls) != 0 {
			t.Fatalf("limits of a deleted project: %v", ls)
		}
	})
}

func TestIDMapping(t *testing.T) {
	// Keystone's sha256 generator over domain_id, entity_type, local_id
	if got := store.PublicID("d", "alice", "user"); got != "7383357de46da793d8a927f799924013d3653efcfb86d62ca1e31e9ad6b60817" {
		t.Fatalf("public id %q", got)
	}
	storetest.Each(t, func(t *testing.T, db *pstore.DB) {
		ctx := context.Background()
		s := open(t, db)
		m := store.IDMapping{PublicID: store.PublicID("d1", "alice", "user"), DomainID: "d1", LocalID: "alice", EntityType: "user"}
		for i := 0; i < 2; i++ { // idempotent: replicas race to record the same mapping
			if err := s.PutIDMapping(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		got, ok, err := s.GetIDMapping(ctx, m.PublicID)
		if err != nil || !ok || got != m {
			t.Fatalf("mapping %+v %v %v", got, ok, err)
		}
		if _, ok, err := s.GetIDMapping(ctx, "nope"); ok || err != nil {
			t.Fatalf("missing mapping: %v %v", ok, err)
		}
		if err := s.DeleteIDMappings(ctx, "d1"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.GetIDMapping(ctx, m.PublicID); ok {
			t.Fatal("mapping survived its domain")
		}
	})
}
