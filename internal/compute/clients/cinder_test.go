package clients_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/testkit"
)

// TestCinderAttachSteps drives a real Cinder through the steps Nova takes
// to attach and detach a volume, as the service user, and reads the volume
// as its owner, and a missing one (the cinder service user stands in
// for nova, which this cloud does not run).
func TestCinderAttachSteps(t *testing.T) {
	c := testkit.Start(t, "cinder", "cinder-volume")
	ctx := context.Background()
	demo := c.Client(t, "demo", "demo", "volumev3")
	v, err := volumes.Create(ctx, demo, volumes.CreateOpts{Size: 1, Name: "nova-att"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	cv := &clients.CinderVolumes{S: clients.NewSession(c.ServiceCredentials("cinder"), c.Region, nil)}
	user := func(name, project string) context.Context {
		p := c.Provider(t, name, project)
		res, ok := p.GetAuthResult().(tokens.CreateResult)
		if !ok {
			t.Fatalf("auth result %T", p.GetAuthResult())
		}
		tok, err := res.ExtractTokenID()
		if err != nil {
			t.Fatal(err)
		}
		pr, err := res.ExtractProject()
		if err != nil {
			t.Fatal(err)
		}
		return authn.With(ctx, &authn.Context{Token: tok, ProjectID: pr.ID})
	}
	owner := user("demo", "demo")
	if _, err := cv.Get(owner, v.ID); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool {
		got, err := cv.Get(owner, v.ID)
		return err == nil && got.Status == "available"
	}, "volume %s never available", v.ID)
	var fe *fault.Error
	if _, err := cv.Get(user("admin", "admin"), "0b1c6f8e-8a43-4b50-9d0c-000000000000"); !errors.As(err, &fe) || fe.Status != http.StatusNotFound || fe.Type != "VolumeNotFound" {
		t.Fatalf("missing volume: %v", err)
	}

	svc := clients.AsService(ctx)
	server := "6c2f0d4e-3b1a-4c5d-8e9f-0a1b2c3d4e5f"
	if err := cv.Reserve(svc, v.ID); err != nil {
		t.Fatal(err)
	}
	if err := cv.Reserve(svc, v.ID); !errors.As(err, &fe) || fe.Status != http.StatusBadRequest {
		t.Fatalf("second reserve: %v", err)
	}
	conn, err := cv.InitializeConnection(svc, v.ID, map[string]any{"host": "h1", "ip": "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	path, _ := conn.Data["path"].(string)
	if conn.DriverVolumeType != "file" {
		t.Fatalf("connection %+v", conn)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("connection path: %v", err)
	}
	if err := cv.Attach(svc, v.ID, server, "/dev/vdb"); err != nil {
		t.Fatal(err)
	}
	got, err := cv.Get(owner, v.ID)
	if err != nil || got.Status != "in-use" || len(got.Attachments) != 1 || *got.Attachments[0].ServerID != server {
		t.Fatalf("after attach %+v %v", got, err)
	}
	if err := cv.BeginDetaching(svc, v.ID); err != nil {
		t.Fatal(err)
	}
	if err := cv.RollDetaching(svc, v.ID); err != nil {
		t.Fatal(err)
	}
	if err := cv.BeginDetaching(svc, v.ID); err != nil {
		t.Fatal(err)
	}
	if err := cv.TerminateConnection(svc, v.ID, map[string]any{"host": "h1"}); err != nil {
		t.Fatal(err)
	}
	if err := cv.Detach(svc, v.ID, got.Attachments[0].AttachmentID); err != nil {
		t.Fatal(err)
	}
	if got, err := cv.Get(owner, v.ID); err != nil || got.Status != "available" || len(got.Attachments) != 0 {
		t.Fatalf("after detach %+v %v", got, err)
	}
	if err := cv.Reserve(svc, v.ID); err != nil {
		t.Fatal(err)
	}
	if err := cv.Unreserve(svc, v.ID); err != nil {
		t.Fatal(err)
	}
}
