package compute

import (
	"context"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

// DefaultFlavors are the flavors devstack creates (lib/nova's create_flavors,
// and lib/tempest's m1.nano and m1.micro).
var DefaultFlavors = []objects.Flavor{
	{FlavorID: "1", Name: "m1.tiny", MemoryMB: 512, RootGB: 1, VCPUs: 1},
	{FlavorID: "2", Name: "m1.small", MemoryMB: 2048, RootGB: 20, VCPUs: 1},
	{FlavorID: "3", Name: "m1.medium", MemoryMB: 4096, RootGB: 40, VCPUs: 2},
	{FlavorID: "4", Name: "m1.large", MemoryMB: 8192, RootGB: 80, VCPUs: 4},
	{FlavorID: "5", Name: "m1.xlarge", MemoryMB: 16384, RootGB: 160, VCPUs: 8},
	{FlavorID: "c1", Name: "cirros256", MemoryMB: 256, RootGB: 1, VCPUs: 1},
	{FlavorID: "d1", Name: "ds512M", MemoryMB: 512, RootGB: 5, VCPUs: 1},
	{FlavorID: "d2", Name: "ds1G", MemoryMB: 1024, RootGB: 10, VCPUs: 1},
	{FlavorID: "d3", Name: "ds2G", MemoryMB: 2048, RootGB: 10, VCPUs: 2},
	{FlavorID: "d4", Name: "ds4G", MemoryMB: 4096, RootGB: 20, VCPUs: 4},
	{FlavorID: "42", Name: "m1.nano", MemoryMB: 128, RootGB: 1, VCPUs: 1},
	{FlavorID: "84", Name: "m1.micro", MemoryMB: 192, RootGB: 1, VCPUs: 1},
}

// EnsureDefaultFlavors creates the default flavors that do not exist yet
// (by id or by name), so that running it again, or after an operator
// deleted or replaced one, changes nothing else.
func EnsureDefaultFlavors(ctx context.Context, db *store.DB) error {
	s := cstore.New(db)
	for _, f := range DefaultFlavors {
		f.IsPublic, f.RxtxFactor = true, 1
		if err := s.CreateFlavor(ctx, &f); err != nil && !fault.IsConflict(err) {
			return err
		}
	}
	return nil
}
