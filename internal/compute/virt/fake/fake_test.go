package fake_test

import (
	"os"
	"testing"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/compute/virt/fake"
	"github.com/tenku-cloud/tenku/internal/compute/virt/virttest"
)

func TestContract(t *testing.T) {
	virttest.Run(t, virttest.Harness{
		New: func(t *testing.T, stateDir string) virt.Driver {
			c := fake.DefaultConfig()
			c.StateDir = stateDir
			d, err := fake.Open(c)
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		StopBehindBack: func(t *testing.T, d virt.Driver, uuid string) { d.(*fake.Driver).Crash(uuid) },
		Volumes: func(t *testing.T, d virt.Driver, ref virt.Ref) []string {
			spec, _ := d.(*fake.Driver).Spec(ref.UUID)
			var out []string
			for _, dk := range spec.Disks {
				if dk.Kind == virt.DiskVolume {
					out = append(out, dk.Serial)
				}
			}
			return out
		},
		HotUnplug: true,
	})
}

func TestOpenRefusesACorruptState(t *testing.T) {
	dir := t.TempDir()
	c := fake.DefaultConfig()
	c.StateDir = dir
	d, err := fake.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	d.Adopt(virt.Spec{Ref: virt.Ref{UUID: "u1"}}, 1)
	if err := writeFile(dir+"/guests.json", "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.Open(c); err == nil {
		t.Fatal("corrupt state accepted")
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
