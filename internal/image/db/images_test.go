package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/api/image"
	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

func open(t *testing.T, s *store.DB) *DB {
	t.Helper()
	if _, err := s.Migrate(context.Background(), Migrations); err != nil {
		t.Fatal(err)
	}
	return New(s)
}

func ptr[T any](v T) *T { return &v }

func mk(id, owner string, vis image.Visibility, props map[string]string, tags ...string) *Image {
	if props == nil {
		props = map[string]string{}
	}
	return &Image{ID: id, Name: ptr("img-" + id), Owner: owner, Visibility: vis, Status: image.StatusQueued,
		DiskFormat: "raw", ContainerFormat: "bare", Properties: props, Tags: tags}
}

func ids(ims []*Image) []string {
	var out []string
	for _, im := range ims {
		out = append(out, im.ID)
	}
	return out
}

func TestImagesCRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.DB) {
		ctx := context.Background()
		d := open(t, s)
		im := mk("00000000-0000-0000-0000-000000000001", "p1", image.VisibilityPrivate, map[string]string{"os_distro": "debian", "k": "v"}, "b", "a", "a")
		im.Name = nil
		if err := d.CreateImage(ctx, im); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateImage(ctx, mk(im.ID, "p1", image.VisibilityPrivate, nil)); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("duplicate id: %v", err)
		}
		got, err := d.GetImage(ctx, im.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != nil || got.Size != nil || got.Checksum != "" || got.Owner != "p1" || !slices.Equal(got.Tags, []string{"a", "b"}) ||
			got.Properties["os_distro"] != "debian" || len(got.Properties) != 2 {
			t.Fatalf("got %+v", got)
		}

		// UpdateImage is a CAS: fn's refusal leaves the row untouched.
		boom := errors.New("refused")
		if _, err := d.UpdateImage(ctx, im.ID, func(x *Image) error { x.Status = image.StatusActive; return boom }); !errors.Is(err, boom) {
			t.Fatalf("refusal: %v", err)
		}
		up, err := d.UpdateImage(ctx, im.ID, func(x *Image) error {
			if x.Status != image.StatusQueued {
				return boom
			}
			x.Status = image.StatusActive
			x.Size = ptr(int64(42))
			x.Name = ptr("named")
			delete(x.Properties, "k")
			x.Properties["os_distro"] = "ubuntu"
			x.Properties["new"] = "1"
			x.RemoveTag("a")
			x.AddTag("c")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ = d.GetImage(ctx, im.ID)
		if got.Status != image.StatusActive || *got.Size != 42 || *got.Name != "named" || !got.UpdatedAt.After(got.CreatedAt) ||
			!slices.Equal(got.Tags, []string{"b", "c"}) || got.Properties["os_distro"] != "ubuntu" || got.Properties["new"] != "1" || len(got.Properties) != 2 {
			t.Fatalf("after update %+v", got)
		}
		if !up.UpdatedAt.Equal(got.UpdatedAt) {
			t.Fatalf("returned %v, stored %v", up.UpdatedAt, got.UpdatedAt)
		}

		if _, err := d.AddMember(ctx, im.ID, "p2", 1); err != nil {
			t.Fatal(err)
		}
		if _, err := d.AddMember(ctx, im.ID, "p3", 1); !errors.Is(err, ErrLimit) {
			t.Fatalf("member limit: %v", err)
		}
		if _, err := d.AddMember(ctx, im.ID, "p2", -1); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("duplicate member: %v", err)
		}
		if m, err := d.SetMemberStatus(ctx, im.ID, "p2", image.MemberAccepted); err != nil || m.Status != image.MemberAccepted {
			t.Fatalf("accept: %+v %v", m, err)
		}

		u, err := d.Usage(ctx, "p1")
		if err != nil || u.Images != 1 || u.Size != 42 || u.Uploading != 0 {
			t.Fatalf("usage %+v %v", u, err)
		}

		if _, err := d.DeleteImage(ctx, im.ID, func(x *Image) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("refused delete: %v", err)
		}
		old, err := d.DeleteImage(ctx, im.ID, nil)
		if err != nil || old.ID != im.ID {
			t.Fatal(err)
		}
		if _, err := d.GetImage(ctx, im.ID); !IsNotFound(err) {
			t.Fatalf("deleted image: %v", err)
		}
		if _, err := d.GetMember(ctx, im.ID, "p2"); !IsNotFound(err) {
			t.Fatalf("members of a deleted image: %v", err)
		}
		// A deleted image's id is never reused.
		if err := d.CreateImage(ctx, mk(im.ID, "p1", image.VisibilityPrivate, nil)); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("reuse of a deleted id: %v", err)
		}
	})
}

func TestListVisibilityFiltersAndPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.DB) {
		ctx := context.Background()
		d := open(t, s)
		base := store.Now().Add(-time.Hour)
		seed := []*Image{
			mk("a1", "pa", image.VisibilityPrivate, map[string]string{"os_distro": "debian"}, "x"),
			mk("a2", "pa", image.VisibilityShared, nil, "x", "y"),
			mk("a3", "pa", image.VisibilityCommunity, nil),
			mk("a4", "pa", image.VisibilityPublic, map[string]string{"os_distro": "ubuntu"}),
			mk("b1", "pb", image.VisibilityPrivate, nil),
			mk("b2", "pb", image.VisibilityShared, nil),
			mk("b3", "pb", image.VisibilityShared, nil),
			mk("b4", "pb", image.VisibilityCommunity, nil),
		}
		for n, im := range seed {
			im.CreatedAt = base.Add(time.Duration(n) * time.Second)
			im.Size = ptr(int64(100 * (n + 1)))
			if err := d.CreateImage(ctx, im); err != nil {
				t.Fatal(err)
			}
		}
		mustAdd := func(img, member string, st image.MemberStatus) {
			if _, err := d.AddMember(ctx, img, member, -1); err != nil {
				t.Fatal(err)
			}
			if _, err := d.SetMemberStatus(ctx, img, member, st); err != nil {
				t.Fatal(err)
			}
		}
		mustAdd("b2", "pa", image.MemberAccepted)
		mustAdd("b3", "pa", image.MemberPending)

		pa := Caller{ProjectID: "pa"}
		cases := []struct {
			name string
			q    Query
			want []string
		}{
			{"default: own, public, accepted shares; no foreign community", Query{Caller: pa}, []string{"b2", "a4", "a3", "a2", "a1"}},
			{"admin sees all but foreign community", Query{Caller: Caller{ProjectID: "admin", Admin: true}}, []string{"b3", "b2", "b1", "a4", "a2", "a1"}},
			{"community on request", Query{Caller: pa, Visibility: "community"}, []string{"b4", "a3"}},
			{"pending shares", Query{Caller: pa, Visibility: "shared", MemberStatus: "pending"}, []string{"b3", "a2"}},
			{"all member statuses", Query{Caller: pa, MemberStatus: "all"}, []string{"b3", "b2", "a4", "a3", "a2", "a1"}},
			{"other project", Query{Caller: Caller{ProjectID: "pc"}}, []string{"a4"}},
			{"property filter", Query{Caller: pa, Properties: map[string]string{"os_distro": "debian"}}, []string{"a1"}},
			{"tags all required", Query{Caller: pa, Tags: []string{"x", "y"}}, []string{"a2"}},
			{"size range", Query{Caller: pa, Conds: []Cond{{Column: "size", Op: "gte", Values: []any{200}}, {Column: "size", Op: "lte", Values: []any{300}}}}, []string{"a3", "a2"}},
			{"in operator", Query{Caller: pa, Conds: []Cond{{Column: "id", Op: "in", Values: []any{"a1", "a4", "b1"}}}}, []string{"a4", "a1"}},
			{"sort size asc", Query{Caller: pa, Sort: []Sort{{Key: "size"}}}, []string{"a1", "a2", "a3", "a4", "b2"}},
			{"limit", Query{Caller: pa, Limit: 2}, []string{"b2", "a4"}},
			{"marker", Query{Caller: pa, Marker: "a4", Limit: 2}, []string{"a3", "a2"}},
			{"marker with sort", Query{Caller: pa, Marker: "a2", Sort: []Sort{{Key: "size"}}}, []string{"a3", "a4", "b2"}},
			{"created_at filter", Query{Caller: pa, Conds: []Cond{TimeCond("created_at", "lt", base.Add(2*time.Second))}}, []string{"a2", "a1"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := d.ListImages(ctx, c.q)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(got), c.want) {
					t.Fatalf("got %v, want %v", ids(got), c.want)
				}
			})
		}
		if _, err := d.ListImages(ctx, Query{Caller: Caller{ProjectID: "pc"}, Marker: "a1"}); !IsNotFound(err) {
			t.Fatalf("invisible marker: %v", err)
		}
		// Pagination walks every image exactly once, whatever the page size.
		for _, size := range []int{1, 2, 3} {
			var all []string
			marker := ""
			for {
				page, err := d.ListImages(ctx, Query{Caller: pa, Limit: size, Marker: marker, Sort: []Sort{{Key: "name", Desc: true}}})
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, ids(page)...)
				if len(page) < size {
					break
				}
				marker = page[len(page)-1].ID
			}
			if fmt.Sprint(all) != "[b2 a4 a3 a2 a1]" {
				t.Fatalf("page size %d walked %v", size, all)
			}
		}
	})
}
