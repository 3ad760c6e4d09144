package api

import (
	"bytes"
	"context"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

func TestListFilters(t *testing.T) {
	h := newHarness(t, nil)
	mk := func(token string, body map[string]any, data []byte) string {
		id := h.create(token, body)
		if data != nil {
			h.must(204, "PUT", "/v2/images/"+id+"/file", token, data)
		}
		return id
	}
	small := mk("demo", map[string]any{"name": "small", "tags": []string{"t1"}, "os_distro": "debian"}, randomBytes(100))
	big := mk("demo", map[string]any{"name": "big", "tags": []string{"t1", "t2"}}, randomBytes(5000))
	queued := mk("demo", map[string]any{"name": "queued", "disk_format": "qcow2"}, nil)
	hidden := mk("demo", map[string]any{"name": "hidden", "os_hidden": true}, nil)
	community := mk("alt", map[string]any{"name": "community", "visibility": "community"}, nil)
	public := mk("admin", map[string]any{"name": "public", "visibility": "public"}, nil)
	private := mk("alt", map[string]any{"name": "alt-private", "visibility": "private"}, nil)

	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{public, queued, big, small}},
		{"?status=active", []string{big, small}},
		{"?name=big", []string{big}},
		{"?name=in:big,small", []string{big, small}},
		{"?disk_format=qcow2", []string{queued}},
		{"?size_min=200&size_max=6000", []string{big}},
		{"?size=100", []string{small}},
		{"?tag=t1", []string{big, small}},
		{"?tag=t1&tag=t2", []string{big}},
		{"?os_distro=debian", []string{small}},
		{"?os_hidden=true", []string{hidden}},
		{"?visibility=community", []string{community}},
		{"?visibility=public", []string{public}},
		{"?owner=p-admin", []string{public}},
		{"?sort=name:asc", []string{big, public, queued, small}},
		{"?sort_key=name&sort_dir=asc", []string{big, public, queued, small}},
		{"?sort=size:desc&status=active", []string{big, small}},
		{"?protected=false&name=small", []string{small}},
	}
	for _, c := range cases {
		if got := listIDs(t, h, "demo", c.query); !slices.Equal(got, c.want) {
			t.Errorf("%q: got %v, want %v", c.query, got, c.want)
		}
	}
	// The admin lists every project's images, community ones aside.
	if got := listIDs(t, h, "admin", ""); len(got) != 5 || slices.Contains(got, community) || slices.Contains(got, hidden) || !slices.Contains(got, private) {
		t.Errorf("admin sees %v", got)
	}
	// A reader lists too.
	if got := listIDs(t, h, "reader", "?name=small"); !slices.Equal(got, []string{small}) {
		t.Errorf("reader sees %v", got)
	}
}

func TestListPages(t *testing.T) {
	h := newHarness(t, nil)
	var all []string
	for i := 0; i < 7; i++ {
		all = append(all, h.create("demo", nil))
	}
	slices.Reverse(all) // newest first
	var walked []string
	next := "/v2/images?limit=3"
	for next != "" {
		page := h.must(200, "GET", next, "demo", nil).json(t)
		for _, im := range page["images"].([]any) {
			walked = append(walked, im.(map[string]any)["id"].(string))
		}
		if page["schema"] != "/v2/schemas/images" || !strings.HasPrefix(page["first"].(string), "/v2/images?limit=3") {
			t.Fatalf("page %v", page)
		}
		next, _ = page["next"].(string)
		if strings.Contains(next, "marker=") && !strings.Contains(next, "limit=3") {
			t.Fatalf("next %q loses the query", next)
		}
	}
	if !slices.Equal(walked, all) {
		t.Fatalf("walked %v, want %v", walked, all)
	}
	// The default page is 25, the largest api_limit_max.
	h2 := newHarness(t, func(o *Options) { o.LimitParamDefault, o.APILimitMax = 2, 4 })
	for i := 0; i < 5; i++ {
		h2.create("demo", nil)
	}
	if n := len(listIDs(t, h2, "demo", "")); n != 2 {
		t.Fatalf("default page %d", n)
	}
	if n := len(listIDs(t, h2, "demo", "?limit=100")); n != 4 {
		t.Fatalf("capped page %d", n)
	}
	if n := len(listIDs(t, h2, "demo", "?limit=0")); n != 0 {
		t.Fatalf("empty page %d", n)
	}
}

// TestImagesWithGophercloud drives the image API with gophercloud, as
// Nova's driver and other Go clients do.
func TestImagesWithGophercloud(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	c := h.client("demo")
	im, err := images.Create(ctx, c, images.CreateOpts{Name: "gc", DiskFormat: "raw", ContainerFormat: "bare",
		Tags: []string{"x"}, Properties: map[string]string{"os_distro": "debian"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if im.Status != images.ImageStatusQueued || im.Properties["os_distro"] != "debian" || im.Visibility != images.ImageVisibilityShared {
		t.Fatalf("created %+v", im)
	}
	data := randomBytes(2 << 20)
	if err := imagedata.Upload(ctx, c, im.ID, bytes.NewReader(data)).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	im, err = images.Update(ctx, c, im.ID, images.UpdateOpts{images.ReplaceImageName{NewName: "gc2"},
		images.UpdateImageProperty{Op: images.AddOp, Name: "hw_disk_bus", Value: "virtio"}}).Extract()
	if err != nil || im.Name != "gc2" || im.Status != images.ImageStatusActive || im.SizeBytes != int64(len(data)) {
		t.Fatalf("updated %+v %v", im, err)
	}
	rc, err := imagedata.Download(ctx, c, im.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("download differs")
	}
	for i := 0; i < 4; i++ {
		images.Create(ctx, c, images.CreateOpts{Name: "more", DiskFormat: "raw", ContainerFormat: "bare"})
	}
	pages, err := images.List(c, images.ListOpts{Limit: 2}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err := images.ExtractImages(pages)
	if err != nil || len(all) != 5 {
		t.Fatalf("listed %d images: %v", len(all), err)
	}
	ids := []string{}
	for _, x := range all {
		ids = append(ids, x.ID)
	}
	sort.Strings(ids)
	if len(slices.Compact(ids)) != 5 {
		t.Fatal("pagination repeated images")
	}
	if err := images.Delete(ctx, c, im.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}
