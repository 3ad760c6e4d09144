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
	// A copy goes to its source's pool, even when another has more room,
	// and only if that pool has room.
	h, err = Select(hosts, Request{Size: 1, AvailabilityZone: "nova", Backend: "a@file#file"})
	if err != nil || h.Name != "a@file" {
		t.Fatalf("the source's backend: %v %v", h.Name, err)
	}
	if _, err := Select(hosts, Request{Size: 3, Backend: "a@file#file"}); !errors.As(err, &nv) || !strings.Contains(err.Error(), "CapacityFilter") {
		t.Fatalf("the source's backend is full: %v", err)
	}
	if _, err := Select(hosts, Request{Size: 1, Backend: "gone@file#file"}); !errors.As(err, &nv) || !strings.Contains(err.Error(), "gone@file#file is not up") {
		t.Fatalf("the source's backend is down: %v", err)
	}
	if _, err := Select(nil, Request{Size: 1}); err == nil {
		t.Fatal("no hosts chose one")
	}
}
