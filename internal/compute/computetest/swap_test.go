package computetest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"

	"github.com/tenku-cloud/tenku/internal/compute/virt/fake"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// TestVolumeSwapAndRemoteConsoles swaps a server's volume through Nova's
// PUT os-volume_attachments on the fake driver: the refusals Nova answers
// (not admin, a new volume in the body that does not exist, a smaller or an
// attached new volume), then a swap that leaves the old volume available,
// the new one in-use and the mapping on the new one; and POST
// remote-consoles, which tenku answers as Nova does when a console type is
// not enabled.
func TestVolumeSwapAndRemoteConsoles(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Keystone, Glance and Cinder")
	}
	ctx := context.Background()
	vc := startVolumeCloud(t, fake.New(fake.Config{}))
	s, err := servers.Create(ctx, vc.demo, servers.CreateOpts{Name: "swap", ImageRef: vc.image.ID, FlavorRef: "1", Networks: "none"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, func() bool {
		got, err := servers.Get(ctx, vc.demo, s.ID).Extract()
		return err == nil && got.Status == "ACTIVE"
	}, "server to build")
	newVolume := func(name string, size int) string {
		v, err := volumes.Create(ctx, vc.cinder, volumes.CreateOpts{Size: size, Name: name}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		waitVolume(t, vc.cinder, v.ID, "available")
		return v.ID
	}
	v1, v2, small := newVolume("v1", 2), newVolume("v2", 3), newVolume("small", 1)
	if _, err := volumeattach.Create(ctx, vc.demo, s.ID, volumeattach.CreateOpts{VolumeID: v1}).Extract(); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, vc.cinder, v1, "in-use")
	swap := func(c *gophercloud.ServiceClient, old, nv string) error {
		_, err := c.Put(ctx, c.ServiceURL("servers", s.ID, "os-volume_attachments", old),
			map[string]any{"volumeAttachment": map[string]any{"volumeId": nv}}, nil, &gophercloud.RequestOpts{OkCodes: []int{202}})
		return err
	}
	wantCode := func(err error, code int, what string) {
		t.Helper()
		var e gophercloud.ErrUnexpectedResponseCode
		if !errors.As(err, &e) || e.Actual != code {
			t.Fatalf("%s: %v, want %d", what, err, code)
		}
	}
	wantCode(swap(vc.demo, v1, v2), 403, "swap as a project member")
	wantCode(swap(vc.admin, v1, "9d2b1c6e-0000-4000-8000-000000000000"), 400, "swap to a volume that does not exist")
	wantCode(swap(vc.admin, "9d2b1c6e-0000-4000-8000-000000000000", v2), 404, "swap of a volume that does not exist")
	wantCode(swap(vc.admin, v1, small), 400, "swap to a smaller volume")
	wantCode(swap(vc.admin, v2, small), 400, "swap of a volume the server does not have (Nova: attached to a different instance)")
	if err := swap(vc.admin, v1, v2); err != nil {
		t.Fatalf("swap: %v", err)
	}
	waitVolume(t, vc.cinder, v1, "available")
	waitVolume(t, vc.cinder, v2, "in-use")
	testkit.Eventually(t, 20*time.Second, func() bool {
		pages, err := volumeattach.List(vc.demo, s.ID).AllPages(ctx)
		if err != nil {
			return false
		}
		atts, _ := volumeattach.ExtractVolumeAttachments(pages)
		return len(atts) == 1 && atts[0].VolumeID == v2
	}, "the server's only attachment to be the new volume")
	if err := volumeattach.Delete(ctx, vc.demo, s.ID, v2).ExtractErr(); err != nil {
		t.Fatalf("detach of the swapped-in volume: %v", err)
	}
	waitVolume(t, vc.cinder, v2, "available")

	console := func(version string, body string) (int, string) {
		c := *vc.demo
		c.Microversion = version
		resp, err := c.Post(ctx, c.ServiceURL("servers", s.ID, "remote-consoles"), rawJSON(body), nil, &gophercloud.RequestOpts{OkCodes: []int{200}})
		var e gophercloud.ErrUnexpectedResponseCode
		if errors.As(err, &e) {
			return e.Actual, string(e.Body)
		}
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, ""
	}
	for _, tc := range []struct {
		version, body string
		code          int
		has           string
	}{
		{"2.6", `{"remote_console": {"protocol": "serial", "type": "serial"}}`, 400, "Unavailable console type serial."},
		{"2.6", `{"remote_console": {"protocol": "vnc", "type": "novnc"}}`, 400, "Unavailable console type novnc."},
		{"2.6", `{"remote_console": {"protocol": "vnc", "type": "serial"}}`, 400, "Invalid console type serial"},
		{"2.6", `{"remote_console": {"protocol": "mks", "type": "webmks"}}`, 400, "is not one of"},
		{"2.6", `{"remote_console": {"protocol": "serial"}}`, 400, "'type' is a required property"},
		{"2.6", `{}`, 400, "'remote_console' is a required property"},
		{"2.5", `{"remote_console": {"protocol": "serial", "type": "serial"}}`, 404, ""},
	} {
		code, body := console(tc.version, tc.body)
		if code != tc.code || !strings.Contains(body, tc.has) {
			t.Errorf("%s %s: %d %s, want %d with %q", tc.version, tc.body, code, body, tc.code, tc.has)
		}
	}
}

// rawJSON is a request body sent as it is.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }
