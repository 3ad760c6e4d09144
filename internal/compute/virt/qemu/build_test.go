package qemu

import (
	"context"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// The command line a spec gives, without running QEMU: a direct kernel
// boot takes the image's os_command_line, and hw_rng_model=virtio adds a
// virtio RNG unless the flavor forbids it.
func TestBuildArgs(t *testing.T) {
	d := &Driver{cfg: DefaultConfig(), accel: "tcg"}
	spec := func(props, extra map[string]string) *virt.Spec {
		return &virt.Spec{Ref: virt.Ref{UUID: "u1", Name: "instance-1"}, Kernel: "/cache/k", Ramdisk: "/cache/r",
			Flavor:          virt.Flavor{Name: "tiny", VCPUs: 1, MemoryMB: 64, ExtraSpecs: extra},
			ImageProperties: props}
	}
	for _, c := range []struct {
		name        string
		props       map[string]string
		extra       map[string]string
		want, never []string
	}{
		{"defaults", nil, nil, []string{"-kernel /cache/k", "-initrd /cache/r", "-append " + defaultCmdline}, []string{"virtio-rng"}},
		{"command line and rng", map[string]string{"os_command_line": "root=/dev/vda1 quiet", "hw_rng_model": "virtio"}, nil,
			[]string{"-append root=/dev/vda1 quiet", "-object rng-random,id=rng0,filename=/dev/urandom", "-device virtio-rng-pci,rng=rng0"}, nil},
		{"rng forbidden by the flavor", map[string]string{"hw_rng_model": "virtio"}, map[string]string{"hw_rng:allowed": "False"}, nil, []string{"virtio-rng"}},
	} {
		rec, err := d.build(context.Background(), spec(c.props, c.extra), t.TempDir())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		line := strings.Join(rec.Args, " ")
		for _, w := range c.want {
			if !strings.Contains(line, w) {
				t.Errorf("%s: %q lacks %q", c.name, line, w)
			}
		}
		for _, n := range c.never {
			if strings.Contains(line, n) {
				t.Errorf("%s: %q has %q", c.name, line, n)
			}
		}
	}
}
