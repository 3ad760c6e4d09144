package format

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgainstQemuImg creates images of every format qemu-img writes, at
// awkward sizes, and checks that the Inspector names the format and the
// virtual size exactly as `qemu-img info` does. It needs qemu-img, which
// CI installs; without it the committed fixtures still cover each format.
func TestAgainstQemuImg(t *testing.T) {
	qemuImg, err := exec.LookPath("qemu-img")
	if err != nil {
		t.Skip("qemu-img is not on PATH")
	}
	if testing.Short() {
		t.Skip("runs qemu-img about a hundred times")
	}
	type variant struct {
		format string   // qemu-img's name
		opts   []string // create arguments before the file name
		info   []string // info arguments before the file name
		want   Format
	}
	secret := []string{"--object", "secret,id=s0,data=pw", "-o", "key-secret=s0,iter-time=200"}
	variants := []variant{
		{"raw", nil, nil, Raw},
		{"qcow2", nil, nil, QCOW2},
		{"qcow2", []string{"-o", "compat=0.10"}, nil, QCOW2},
		{"qcow2", []string{"-o", "cluster_size=2M"}, nil, QCOW2},
		{"qcow2", []string{"-o", "cluster_size=512"}, nil, QCOW2},
		{"qcow2", []string{"-o", "extended_l2=on,cluster_size=128K"}, nil, QCOW2},
		{"qcow", nil, nil, QCOW},
		{"qed", nil, nil, QED},
		{"vmdk", nil, nil, VMDK},
		{"vmdk", []string{"-o", "subformat=streamOptimized"}, nil, VMDK},
		{"vmdk", []string{"-o", "subformat=monolithicFlat"}, nil, VMDK},
		{"vmdk", []string{"-o", "subformat=twoGbMaxExtentSparse"}, nil, VMDK},
		{"vmdk", []string{"-o", "subformat=twoGbMaxExtentFlat"}, nil, VMDK},
		{"vpc", nil, nil, VHD},
		{"vpc", []string{"-o", "force_size=on"}, nil, VHD},
		// qemu-img's probe calls a fixed VHD raw; it is a VHD to -f vpc.
		{"vpc", []string{"-o", "subformat=fixed"}, []string{"-f", "vpc"}, VHD},
		{"vpc", []string{"-o", "subformat=fixed,force_size=on"}, []string{"-f", "vpc"}, VHD},
		{"vhdx", nil, nil, VHDX},
		{"vhdx", []string{"-o", "subformat=fixed"}, nil, VHDX},
		{"vdi", nil, nil, VDI},
		{"parallels", nil, nil, Parallels},
		{"luks", secret, nil, LUKS},
	}
	sizes := []string{"1M", "7340544", "129M", "1G", "5G"}
	for _, v := range variants {
		for _, size := range sizes {
			name := v.format
			if len(v.opts) > 0 && v.format != "luks" {
				name += "," + v.opts[len(v.opts)-1]
			}
			t.Run(name+","+size, func(t *testing.T) {
				if v.format == "luks" && !strings.HasSuffix(size, "M") {
					t.Skip("key derivation makes large LUKS volumes slow to create")
				}
				sub := t.TempDir()
				path := filepath.Join(sub, "image")
				args := append([]string{"create", "-q", "-f", v.format}, v.opts...)
				for try := 1; ; try++ {
					out, err := exec.Command(qemuImg, append(args, path, size)...).CombinedOutput()
					if err == nil {
						break
					}
					// LUKS key derivation times itself and sometimes
					// cannot; that is qemu-img's trouble, not ours.
					if try == 5 || !strings.Contains(string(out), "accurate CPU usage") {
						t.Fatalf("qemu-img create: %v\n%s", err, out)
					}
				}
				var q struct {
					VirtualSize int64  `json:"virtual-size"`
					Format      string `json:"format"`
				}
				out, err := exec.Command(qemuImg, append(append([]string{"info", "--output=json"}, v.info...), path)...).Output()
				if err != nil {
					t.Fatalf("qemu-img info: %v", err)
				}
				if err := json.Unmarshal(out, &q); err != nil {
					t.Fatal(err)
				}
				info, err := InspectFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if info.Format != v.want || info.Format.Qemu() != q.Format || info.VirtualSize != q.VirtualSize {
					t.Fatalf("inspector says %s (qemu name %s); qemu-img says %s, virtual size %d",
						info, info.Format.Qemu(), q.Format, q.VirtualSize)
				}
				if st, err := os.Stat(path); err == nil && st.Size() <= 16<<20 {
					data, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					for _, c := range []int{17, 4096, 1 << 20} {
						if got := inspectBytes(data, c); got.Format != info.Format || got.VirtualSize != info.VirtualSize {
							t.Errorf("chunks of %d: %s, InspectFile: %s", c, got, info)
						}
					}
				}
			})
		}
	}

	// Glance's ISO virtual size is the volume's; for xorriso's ISOs that is
	// the file, which is what qemu-img (calling it raw) reports.
	t.Run("iso", func(t *testing.T) {
		xorriso, err := exec.LookPath("xorriso")
		if err != nil {
			t.Skip("xorriso is not on PATH")
		}
		sub := t.TempDir()
		if err := os.WriteFile(filepath.Join(sub, "f"), make([]byte, 3<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		iso := filepath.Join(t.TempDir(), "x.iso")
		if out, err := exec.Command(xorriso, "-as", "mkisofs", "-quiet", "-o", iso, sub).CombinedOutput(); err != nil {
			t.Fatalf("xorriso: %v\n%s", err, out)
		}
		out, err := exec.Command(qemuImg, "info", "--output=json", iso).Output()
		if err != nil {
			t.Fatal(err)
		}
		var q struct {
			VirtualSize int64  `json:"virtual-size"`
			Format      string `json:"format"`
		}
		if err := json.Unmarshal(out, &q); err != nil {
			t.Fatal(err)
		}
		info, err := InspectFile(iso)
		if err != nil || info.Format != ISO || info.Format.Qemu() != q.Format || info.VirtualSize != q.VirtualSize {
			t.Fatalf("inspector: %s, %v; qemu-img: %+v", info, err, q)
		}
	})
}
