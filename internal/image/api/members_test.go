package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/members"
)

func listIDs(t *testing.T, h *harness, token, query string) []string {
	t.Helper()
	var ids []string
	for _, im := range h.must(200, "GET", "/v2/images"+query, token, nil).json(t)["images"].([]any) {
		ids = append(ids, im.(map[string]any)["id"].(string))
	}
	return ids
}

// TestSharing follows tempest's member tests: share, accept, reject,
// list, remove, and the rules around them.
func TestSharing(t *testing.T) {
	h := newHarness(t, nil)
	id := h.create("demo", nil)
	m := h.must(200, "POST", "/v2/images/"+id+"/members", "demo", map[string]any{"member": "p-alt"}).json(t)
	if m["member_id"] != "p-alt" || m["image_id"] != id || m["status"] != "pending" || m["schema"] != "/v2/schemas/member" {
		t.Fatalf("member %v", m)
	}
	// Pending: alt can see the image, but does not list it...
	h.must(200, "GET", "/v2/images/"+id, "alt", nil)
	if slices.Contains(listIDs(t, h, "alt", ""), id) {
		t.Fatal("pending share listed")
	}
	// ...unless asking for pending shares.
	if ids := listIDs(t, h, "alt", "?member_status=pending&visibility=shared"); !slices.Equal(ids, []string{id}) {
		t.Fatalf("pending shares: %v", ids)
	}
	// The owner cannot answer for the member.
	h.must(403, "PUT", "/v2/images/"+id+"/members/p-alt", "demo", map[string]any{"status": "accepted"})
	h.must(400, "PUT", "/v2/images/"+id+"/members/p-alt", "alt", map[string]any{"status": "notavalidstatus"})
	h.must(400, "PUT", "/v2/images/"+id+"/members/p-alt", "alt", map[string]any{})
	h.must(200, "PUT", "/v2/images/"+id+"/members/p-alt", "alt", map[string]any{"status": "accepted"})
	if !slices.Contains(listIDs(t, h, "alt", ""), id) {
		t.Fatal("accepted share not listed")
	}
	list := h.must(200, "GET", "/v2/images/"+id+"/members", "demo", nil).json(t)
	if list["schema"] != "/v2/schemas/members" || len(list["members"].([]any)) != 1 {
		t.Fatalf("members %v", list)
	}
	// The member lists the members too, and shows itself.
	h.must(200, "GET", "/v2/images/"+id+"/members", "alt", nil)
	if got := h.must(200, "GET", "/v2/images/"+id+"/members/p-alt", "alt", nil).json(t); got["status"] != "accepted" {
		t.Fatalf("show member %v", got)
	}
	// A member cannot share further, nor remove itself through the owner's rule.
	h.must(403, "POST", "/v2/images/"+id+"/members", "alt", map[string]any{"member": "p-other"})
	h.must(403, "DELETE", "/v2/images/"+id+"/members/p-alt", "alt", nil)
	h.must(200, "PUT", "/v2/images/"+id+"/members/p-alt", "alt", map[string]any{"status": "rejected"})
	if slices.Contains(listIDs(t, h, "alt", ""), id) {
		t.Fatal("rejected share listed")
	}
	h.must(409, "POST", "/v2/images/"+id+"/members", "demo", map[string]any{"member": "p-alt"})
	h.must(400, "POST", "/v2/images/"+id+"/members", "demo", map[string]any{})
	h.must(400, "POST", "/v2/images/"+id+"/members", "demo", map[string]any{"member": ""})
	h.must(404, "GET", "/v2/images/"+id+"/members/p-nobody", "demo", nil)
	h.must(204, "DELETE", "/v2/images/"+id+"/members/p-alt", "demo", nil)
	h.must(404, "GET", "/v2/images/"+id, "alt", nil)
	h.must(404, "DELETE", "/v2/images/"+id+"/members/p-alt", "demo", nil)

	// Only shared images have members.
	private := h.create("demo", map[string]any{"visibility": "private"})
	r := h.must(403, "POST", "/v2/images/"+private+"/members", "demo", map[string]any{"member": "p-alt"})
	if !strings.Contains(string(r.body), "Not allowed to create members for image") {
		t.Fatalf("%s", r.body)
	}
	r = h.must(403, "GET", "/v2/images/"+private+"/members", "demo", nil)
	if !strings.Contains(string(r.body), "Only shared images have members.") {
		t.Fatalf("%s", r.body)
	}
	h.must(404, "POST", "/v2/images/00000000-0000-0000-0000-000000000000/members", "demo", map[string]any{"member": "p-alt"})
}

func TestMemberQuota(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ImageMemberQuota = 1 })
	id := h.create("demo", nil)
	h.must(200, "POST", "/v2/images/"+id+"/members", "demo", map[string]any{"member": "p-alt"})
	r := h.must(413, "POST", "/v2/images/"+id+"/members", "demo", map[string]any{"member": "p-other"})
	if !strings.Contains(string(r.body), "Image member limit exceeded") {
		t.Fatalf("%s", r.body)
	}
}

// TestMembersWithGophercloud drives sharing with gophercloud's client.
func TestMembersWithGophercloud(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	id := h.create("demo", nil)
	m, err := members.Create(ctx, h.client("demo"), id, "p-alt").Extract()
	if err != nil || m.Status != "pending" || m.MemberID != "p-alt" {
		t.Fatalf("create: %+v %v", m, err)
	}
	m, err = members.Update(ctx, h.client("alt"), id, "p-alt", members.UpdateOpts{Status: "accepted"}).Extract()
	if err != nil || m.Status != "accepted" {
		t.Fatalf("accept: %+v %v", m, err)
	}
	pages, err := members.List(h.client("demo"), id).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err := members.ExtractMembers(pages)
	if err != nil || len(all) != 1 || fmt.Sprint(all[0].CreatedAt.IsZero()) != "false" {
		t.Fatalf("list: %+v %v", all, err)
	}
	if err := members.Delete(ctx, h.client("demo"), id, "p-alt").ExtractErr(); err != nil {
		t.Fatal(err)
	}
}
