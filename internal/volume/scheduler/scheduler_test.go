package scheduler

import (
	"errors"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/volume/backend"
)

func TestSelect(t *testing.T) {
	hosts := []Host{
		{Name: "a@file", AvailabilityZone: "nova", Stats: backend.Stats{BackendName: "file", TotalCapacityGB: 10}, AllocatedGB: 8},
		{Name: "b@file", AvailabilityZone: "nova", Stats: backend.Stats{BackendName: "file", TotalCapacityGB: 10}, AllocatedGB: 2},
		{Name: "c@fast", AvailabilityZone: "az2", Stats: backend.Stats{BackendName: "fast", TotalCapacityGB: 100}},
	}
	h, err := Select(hosts, Request{Size: 1, AvailabilityZone: "nova"})
	if err != nil || h.Name != "b@file" || h.Pool() != "b@file#file" {
		t.Fatalf("most free in the zone: %v %v", h.Name, err)
	}
	h, err = Select(hosts, Request{Size: 1, ExtraSpecs: map[string]string{"volume_backend_name": "fast"}})
	if err != nil || h.Name != "c@fast" {
		t.Fatalf("by backend name: %v %v", h.Name, err)
	}
	_, err = Select(hosts, Request{Size: 9, AvailabilityZone: "nova"})
	var nv *NoValidHost
	if !errors.As(err, &nv) || !strings.Contains(err.Error(), "CapacityFilter returned 0 hosts (of 2)") {
		t.Fatalf("no space: %v", err)
	}
	if _, err := Select(nil, Request{Size: 1}); err == nil {
		t.Fatal("no hosts chose one")
	}
}
