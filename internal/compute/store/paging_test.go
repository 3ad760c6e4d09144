package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/platform/store/storetest"
)

// TestInstancesKeysetPaging checks that walking a list page by page with
// Marker and Limit gives exactly the rows of the whole list in its order,
// for the default sort and for several keys with ties and mixed
// directions, on every engine; a marker outside the filter is refused and
// one with a NULL sort column is ErrMarkerNull (the API then pages in Go).
func TestInstancesKeysetPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := open(t, db)
		var news []cstore.NewInstance
		for i := range 23 {
			inst := newInstance("p1")
			inst.DisplayName = fmt.Sprintf("vm-%d", i%4) // ties on the name
			inst.Host = fmt.Sprintf("h%d", i%3)
			d := "d"
			inst.Description = &d
			news = append(news, cstore.NewInstance{Instance: inst})
		}
		other := newInstance("p2")
		news = append(news, cstore.NewInstance{Instance: other})
		if err := s.CreateInstances(ctx, news, nil, cstore.ActionStart{Action: "create", RequestID: "req-1", UserID: "u1", ProjectID: "p1"}); err != nil {
			t.Fatal(err)
		}
		nulled := newInstance("p1") // no description: NULL in a sort column
		if err := s.CreateInstances(ctx, []cstore.NewInstance{{Instance: nulled}}, nil, cstore.ActionStart{Action: "create", RequestID: "req-2", UserID: "u1", ProjectID: "p1"}); err != nil {
			t.Fatal(err)
		}
		ids := func(f cstore.InstanceFilter) []string {
			t.Helper()
			l, err := s.Instances(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, i := range l {
				out = append(out, i.UUID)
			}
			return out
		}
		for _, sort := range []struct{ keys, dirs []string }{
			{nil, nil},
			{[]string{"display_name"}, []string{"asc"}},
			{[]string{"display_name", "host"}, []string{"desc", "asc"}},
			{[]string{"host", "display_name"}, nil},
		} {
			f := cstore.InstanceFilter{ProjectID: "p1", SortKeys: sort.keys, SortDirs: sort.dirs}
			want := ids(f)
			if len(want) != 24 {
				t.Fatalf("%v: whole list has %d, want 24", sort.keys, len(want))
			}
			var walked []string
			marker := ""
			for range 30 {
				p := f
				p.Marker, p.Limit = marker, 5
				page, err := s.Instances(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				for _, i := range page {
					walked = append(walked, i.UUID)
				}
				marker = page[len(page)-1].UUID
			}
			if !slices.Equal(walked, want) {
				t.Errorf("%v %v: pages walk\n%v\nwant\n%v", sort.keys, sort.dirs, walked, want)
			}
		}
		_, err := s.Instances(ctx, cstore.InstanceFilter{ProjectID: "p1", Marker: other.UUID, Limit: 5})
		if f, ok := err.(*fault.Error); !ok || f.Status != 400 {
			t.Errorf("marker of another project: %v, want a 400", err)
		}
		_, err = s.Instances(ctx, cstore.InstanceFilter{ProjectID: "p1", Marker: nulled.UUID, SortKeys: []string{"display_description"}, Limit: 5})
		if !errors.Is(err, cstore.ErrMarkerNull) {
			t.Errorf("marker with a NULL sort column: %v, want ErrMarkerNull", err)
		}
	})
}
