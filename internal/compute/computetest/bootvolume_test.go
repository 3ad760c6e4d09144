package computetest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/compute/virt/fake"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// TestBootFromVolume boots servers whose root disk is a Cinder volume on
// the fake driver: one from a volume the user made, one from a volume Nova
// makes of an image (source image, destination volume). Each is ACTIVE
// with no image of its own, its root volume in-use on it and the guest's
// first disk; the requests Nova refuses are refused; deleting the servers
// deletes the volumes marked delete_on_termination and leaves the other.
func TestBootFromVolume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Keystone, Glance and Cinder")
	}
	ctx := context.Background()
	drv := fake.New(fake.Config{})
	vc := startVolumeCloud(t, drv)
	demo, cinder := vc.demo, vc.cinder

	mine, err := volumes.Create(ctx, cinder, volumes.CreateOpts{Size: 1, Name: "root", ImageID: vc.image.ID}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitVolume(t, cinder, mine.ID, "available")
	create := func(name string, bd servers.BlockDevice, count int) (*servers.Server, error) {
		opts := servers.CreateOpts{Name: name, FlavorRef: "1", Networks: "none", BlockDevice: []servers.BlockDevice{bd}}
		if count > 1 {
			opts.Min, opts.Max = count, count
		}
		return servers.Create(ctx, demo, opts, nil).Extract()
	}
	active := func(s *servers.Server) *servers.Server {
		var got *servers.Server
		testkit.Eventually(t, 30*time.Second, func() bool {
			var err error
			got, err = servers.Get(ctx, demo, s.ID).Extract()
			return err == nil && (got.Status == "ACTIVE" || got.Status == "ERROR")
		}, "server %s to build", s.ID)
		if got.Status != "ACTIVE" {
			t.Fatalf("server %s is %s: %v", s.ID, got.Status, got.Fault)
		}
		return got
	}

	// Refused: a volume mapping without a source, an image one without a
	// size, one volume for two servers, a volume that is not available.
	for _, bad := range []struct {
		name  string
		bd    servers.BlockDevice
		count int
	}{
		{"no uuid", servers.BlockDevice{SourceType: servers.SourceVolume, DestinationType: servers.DestinationVolume}, 1},
		{"no size", servers.BlockDevice{SourceType: servers.SourceImage, DestinationType: servers.DestinationVolume, UUID: vc.image.ID}, 1},
		{"two servers", servers.BlockDevice{SourceType: servers.SourceVolume, DestinationType: servers.DestinationVolume, UUID: mine.ID}, 2},
		{"unknown volume", servers.BlockDevice{SourceType: servers.SourceVolume, DestinationType: servers.DestinationVolume, UUID: "0b1c6f8e-8a43-4b50-9d0c-000000000000"}, 1},
	} {
		if _, err := create("bad", bad.bd, bad.count); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Errorf("%s: %v, want a 400", bad.name, err)
		}
	}

	fromVolume, err := create("from-volume", servers.BlockDevice{SourceType: servers.SourceVolume,
		DestinationType: servers.DestinationVolume, UUID: mine.ID, BootIndex: 0}, 1)
	if err != nil {
		t.Fatal(err)
	}
	fromImage, err := create("from-image", servers.BlockDevice{SourceType: servers.SourceImage,
		DestinationType: servers.DestinationVolume, UUID: vc.image.ID, BootIndex: 0, VolumeSize: 1, DeleteOnTermination: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]string{} // server → its root volume
	for _, s := range []*servers.Server{fromVolume, fromImage} {
		got := active(s)
		if id, _ := got.Image["id"].(string); id != "" || len(got.Image) > 0 {
			t.Errorf("%s: image %v, want none for a volume-backed server", got.Name, got.Image)
		}
		if len(got.AttachedVolumes) != 1 {
			t.Fatalf("%s: attached volumes %v, want its root", got.Name, got.AttachedVolumes)
		}
		vol := got.AttachedVolumes[0].ID
		made[s.ID] = vol
		v := waitVolume(t, cinder, vol, "in-use")
		if len(v.Attachments) != 1 || v.Attachments[0].ServerID != s.ID || v.Attachments[0].Device != "/dev/vda" {
			t.Errorf("%s: volume %s attachments %+v, want /dev/vda of the server", got.Name, vol, v.Attachments)
		}
		spec, _ := drv.Spec(s.ID)
		if len(spec.Disks) == 0 || spec.Disks[0].Kind != virt.DiskVolume || spec.Disks[0].Serial != vol || spec.Disks[0].BootIndex != 0 {
			t.Errorf("%s: guest disks %+v, want the volume first with boot index 0", got.Name, spec.Disks)
		}
	}
	if made[fromVolume.ID] != mine.ID {
		t.Errorf("from-volume boots volume %s, want %s", made[fromVolume.ID], mine.ID)
	}
	if made[fromImage.ID] == mine.ID {
		t.Error("from-image boots the user's volume, want one of its own")
	}
	if v := waitVolume(t, cinder, made[fromImage.ID], "in-use"); v.Size != 1 || v.Bootable != "true" {
		t.Errorf("volume made of the image: size %d, bootable %s", v.Size, v.Bootable)
	}
	// In use now: a second server may not boot from it.
	if _, err := create("again", servers.BlockDevice{SourceType: servers.SourceVolume,
		DestinationType: servers.DestinationVolume, UUID: mine.ID, BootIndex: 0}, 1); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Errorf("booting an in-use volume: %v, want a 400", err)
	}

	for _, s := range []*servers.Server{fromVolume, fromImage} {
		if err := servers.Delete(ctx, demo, s.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	waitVolume(t, cinder, mine.ID, "available")
	testkit.Eventually(t, 20*time.Second, func() bool {
		_, err := volumes.Get(ctx, cinder, made[fromImage.ID]).Extract()
		return gophercloud.ResponseCodeIs(err, http.StatusNotFound)
	}, "the delete_on_termination root volume to be deleted")
}
