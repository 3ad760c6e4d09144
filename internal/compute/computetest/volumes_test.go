package computetest_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/tenku-cloud/tenku/internal/compute"
	"github.com/tenku-cloud/tenku/internal/compute/clients/fakes"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/compute/virt/fake"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/service"
	"github.com/tenku-cloud/tenku/internal/platform/store"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// flakyAttach is the fake driver with a hot-plug that fails on demand.
type flakyAttach struct {
	*fake.Driver
	fail atomic.Bool
}

func (f *flakyAttach) AttachVolume(ctx context.Context, ref virt.Ref, d virt.Disk) error {
	if f.fail.Load() {
		return errors.New("injected hot-plug failure")
	}
	return f.Driver.AttachVolume(ctx, ref, d)
}

// TestVolumeAttachments attaches a real Cinder volume to a server on the
// fake driver, lists and shows it, refuses the requests Nova refuses,
// rolls a failed hot-plug back, detaches it, and checks that deleting a
// server detaches its volumes.
func TestVolumeAttachments(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Keystone, Glance and Cinder")
	}
	ctx := context.Background()
	drv := &flakyAttach{Driver: fake.New(fake.Config{})}
	vc := startVolumeCloud(t, drv)
	demo, cinder, im := vc.demo, vc.cinder, vc.image

	boot := func(name string) string {
		s, err := servers.Create(ctx, demo, servers.CreateOpts{Name: name, ImageRef: im.ID, FlavorRef: "1", Networks: "none"}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 20*time.Second, func() bool {
			got, err := servers.Get(ctx, demo, s.ID).Extract()
			return err == nil && got.Status == "ACTIVE"
		}, "server %s to build", name)
		return s.ID
	}
	newVolume := func(name string) string {
		v, err := volumes.Create(ctx, cinder, volumes.CreateOpts{Size: 1, Name: name}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		waitVolume(t, cinder, v.ID, "available")
		return v.ID
	}
	code := func(err error) int {
		var e gophercloud.ErrUnexpectedResponseCode
		if errors.As(err, &e) {
			return e.Actual
		}
		return 0
	}
	vmID := boot("vm1")
	volID := newVolume("data")

	// Refusals: an unknown volume, a bad device, an unknown server.
	if _, err := volumeattach.Create(ctx, demo, vmID, volumeattach.CreateOpts{VolumeID: "0b1c6f8e-8a43-4b50-9d0c-000000000000"}).Extract(); code(err) != http.StatusNotFound {
		t.Fatalf("unknown volume: %v", err)
	}
	if _, err := volumeattach.Create(ctx, demo, vmID, volumeattach.CreateOpts{VolumeID: volID, Device: "sdb!"}).Extract(); code(err) != http.StatusBadRequest {
		t.Fatalf("bad device: %v", err)
	}
	if _, err := volumeattach.Create(ctx, demo, "0b1c6f8e-8a43-4b50-9d0c-000000000001", volumeattach.CreateOpts{VolumeID: volID}).Extract(); code(err) != http.StatusNotFound {
		t.Fatalf("unknown server: %v", err)
	}

	// A failed hot-plug leaves the volume available and no mapping.
	drv.fail.Store(true)
	if _, err := volumeattach.Create(ctx, demo, vmID, volumeattach.CreateOpts{VolumeID: volID}).Extract(); code(err) != http.StatusConflict {
		t.Fatalf("failed hot-plug: %v", err)
	}
	drv.fail.Store(false)
	waitVolume(t, cinder, volID, "available")
	if p, err := volumeattach.List(demo, vmID).AllPages(ctx); err != nil {
		t.Fatal(err)
	} else if l, _ := volumeattach.ExtractVolumeAttachments(p); len(l) != 0 {
		t.Fatalf("attachments after a failed attach: %+v", l)
	}

	at, err := volumeattach.Create(ctx, demo, vmID, volumeattach.CreateOpts{VolumeID: volID, Tag: "data", DeleteOnTermination: true}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if at.Device != "/dev/vdb" || at.VolumeID != volID || at.ServerID != vmID || at.Tag == nil || *at.Tag != "data" || at.DeleteOnTermination == nil || !*at.DeleteOnTermination {
		t.Fatalf("attachment %+v", at)
	}
	v := waitVolume(t, cinder, volID, "in-use")
	if len(v.Attachments) != 1 || v.Attachments[0].ServerID != vmID || v.Attachments[0].Device != "/dev/vdb" {
		t.Fatalf("cinder attachments %+v", v.Attachments)
	}
	if spec, _ := drv.Spec(vmID); !hasVolume(spec, volID) {
		t.Fatalf("guest has no disk for %s: %+v", volID, spec.Disks)
	}
	got, err := volumeattach.Get(ctx, demo, vmID, volID).Extract()
	if err != nil || got.Device != "/dev/vdb" {
		t.Fatalf("show %+v %v", got, err)
	}
	if _, err := volumeattach.Create(ctx, demo, vmID, volumeattach.CreateOpts{VolumeID: volID}).Extract(); code(err) != http.StatusBadRequest {
		t.Fatalf("second attach: %v", err)
	}
	other := boot("vm2")
	if _, err := volumeattach.Create(ctx, demo, other, volumeattach.CreateOpts{VolumeID: volID}).Extract(); code(err) != http.StatusBadRequest {
		t.Fatalf("attach of an in-use volume: %v", err)
	}
	if _, err := volumeattach.Get(ctx, demo, other, volID).Extract(); code(err) != http.StatusNotFound {
		t.Fatalf("show on another server: %v", err)
	}
	if err := volumeattach.Delete(ctx, demo, other, volID).ExtractErr(); code(err) != http.StatusNotFound {
		t.Fatalf("detach from another server: %v", err)
	}
	srvs, err := servers.Get(ctx, demo, vmID).Extract()
	if err != nil || len(srvs.AttachedVolumes) != 1 || srvs.AttachedVolumes[0].ID != volID {
		t.Fatalf("volumes_attached %+v %v", srvs, err)
	}

	if err := volumeattach.Delete(ctx, demo, vmID, volID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cinder, volID, "available")
	if spec, _ := drv.Spec(vmID); hasVolume(spec, volID) {
		t.Fatalf("guest still has %s", volID)
	}
	if _, err := volumeattach.Get(ctx, demo, vmID, volID).Extract(); code(err) != http.StatusNotFound {
		t.Fatalf("show after detach: %v", err)
	}

	// A shelved-offloaded server has no host: the volume is attached and
	// detached in Cinder only, with no device.
	if err := servers.Shelve(ctx, demo, vmID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, func() bool {
		got, err := servers.Get(ctx, demo, vmID).Extract()
		return err == nil && got.Status == "SHELVED_OFFLOADED"
	}, "server to be offloaded")
	off, err := volumeattach.Create(ctx, demo, vmID, volumeattach.CreateOpts{VolumeID: volID}).Extract()
	if err != nil || off.Device != "" {
		t.Fatalf("attach to an offloaded server %+v %v", off, err)
	}
	waitVolume(t, cinder, volID, "in-use")
	if err := volumeattach.Delete(ctx, demo, vmID, volID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cinder, volID, "available")

	// Attached while offloaded, a volume is connected when the server is
	// unshelved: it gets its device then and the guest has it; a rebuild
	// makes the guest again with it.
	if _, err := volumeattach.Create(ctx, demo, vmID, volumeattach.CreateOpts{VolumeID: volID}).Extract(); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cinder, volID, "in-use")
	if err := servers.Unshelve(ctx, demo, vmID, servers.UnshelveOpts{}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	active := func(what string) {
		testkit.Eventually(t, 20*time.Second, func() bool {
			got, err := servers.Get(ctx, demo, vmID).Extract()
			return err == nil && got.Status == "ACTIVE"
		}, "server to be ACTIVE after %s", what)
	}
	active("unshelve")
	if got, err := volumeattach.Get(ctx, demo, vmID, volID).Extract(); err != nil || got.Device != "/dev/vdb" {
		t.Fatalf("attachment after unshelve %+v %v, want device /dev/vdb", got, err)
	}
	if spec, _ := drv.Spec(vmID); !hasVolume(spec, volID) {
		t.Fatalf("unshelved guest has no disk for %s: %+v", volID, spec.Disks)
	}
	if _, err := servers.Rebuild(ctx, demo, vmID, servers.RebuildOpts{ImageRef: im.ID}).Extract(); err != nil {
		t.Fatal(err)
	}
	active("rebuild")
	if spec, _ := drv.Spec(vmID); !hasVolume(spec, volID) {
		t.Fatalf("rebuilt guest has no disk for %s: %+v", volID, spec.Disks)
	}
	if err := volumeattach.Delete(ctx, demo, vmID, volID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cinder, volID, "available")

	// Deleting a server detaches its volumes, and deletes those attached
	// with delete_on_termination.
	doomed := newVolume("doomed")
	if _, err := volumeattach.Create(ctx, demo, other, volumeattach.CreateOpts{VolumeID: volID}).Extract(); err != nil {
		t.Fatal(err)
	}
	if _, err := volumeattach.Create(ctx, demo, other, volumeattach.CreateOpts{VolumeID: doomed, DeleteOnTermination: true}).Extract(); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cinder, volID, "in-use")
	if err := servers.Delete(ctx, demo, other).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cinder, volID, "available")
	testkit.Eventually(t, 20*time.Second, func() bool {
		_, err := volumes.Get(ctx, cinder, doomed).Extract()
		return gophercloud.ResponseCodeIs(err, http.StatusNotFound)
	}, "delete_on_termination volume %s to be deleted", doomed)
}

func hasVolume(s virt.Spec, id string) bool {
	for _, d := range s.Disks {
		if d.Kind == virt.DiskVolume && d.Serial == id && d.Path != "" {
			return true
		}
	}
	return false
}

func waitVolume(t *testing.T, c *gophercloud.ServiceClient, id, want string) *volumes.Volume {
	t.Helper()
	var v *volumes.Volume
	testkit.Eventually(t, 20*time.Second, func() bool {
		var err error
		v, err = volumes.Get(context.Background(), c, id).Extract()
		return err == nil && v.Status == want
	}, "volume %s to be %s", id, want)
	return v
}

// volumeCloud is Keystone, Glance and Cinder from testkit with a compute
// service on a driver of the test's, and a small public image.
type volumeCloud struct {
	demo, cinder, admin *gophercloud.ServiceClient
	image               *images.Image
}

func startVolumeCloud(t *testing.T, drv virt.Driver) volumeCloud {
	t.Helper()
	ctx := context.Background()
	c := testkit.Start(t, "glance", "cinder", "cinder-volume")
	img := c.Client(t, "admin", "admin", "image")
	pub := images.ImageVisibilityPublic
	im, err := images.Create(ctx, img, images.CreateOpts{Name: "tiny", DiskFormat: "raw", ContainerFormat: "bare", Visibility: &pub}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := imagedata.Upload(ctx, img, im.ID, bytes.NewReader(bytes.Repeat([]byte("x"), 4096))).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "nova.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx, compute.Migrations); err != nil {
		t.Fatal(err)
	}
	creds := authn.ServiceCredentials{AuthURL: c.AuthURL, Username: "admin", Password: testkit.Password, UserDomainName: "Default",
		ProjectName: "admin", ProjectDomainName: "Default"}
	cfg := compute.DefaultConfig()
	cfg.Default.ReportInterval, cfg.Default.VIFPluggingTimeout = time.Second, 0
	deps := service.Deps{DB: db, Bus: c.Bus, Auth: authn.NewRemote(creds, nil), AuthURL: c.AuthURL, Credentials: creds,
		Region: c.Region, Host: "allinone", DataDir: t.TempDir()}
	svc, err := compute.New(cfg, deps, compute.WithClients(nil, fakes.NewNetwork()), compute.WithAgent(drv), compute.WithDefaultFlavors())
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Shutdown(context.Background()) })
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	demo := &gophercloud.ServiceClient{ProviderClient: c.Provider(t, "demo", "demo"), Endpoint: srv.URL + "/v2.1/",
		ResourceBase: srv.URL + "/v2.1/", Type: "compute", Microversion: "2.79"}
	cinder := c.Client(t, "demo", "demo", "volumev3")

	admin := &gophercloud.ServiceClient{ProviderClient: c.Provider(t, "admin", "admin"), Endpoint: srv.URL + "/v2.1/",
		ResourceBase: srv.URL + "/v2.1/", Type: "compute", Microversion: "2.79"}
	return volumeCloud{demo: demo, cinder: cinder, admin: admin, image: im}
}
