package format

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fixtureCases are the real images in testdata, with what qemu-img said
// about each (see testdata/README.md).
var fixtureCases = []struct {
	name      string
	format    Format
	size      int64
	subformat string
	partition Format
	declared  string // the disk_format an honest upload would declare
	unsafe    []error
}{
	{"qcow2-v3.qcow2", QCOW2, 10 << 20, "", "", "qcow2", nil},
	{"qcow2-v2.qcow2", QCOW2, 10 << 20, "", "", "qcow2", nil},
	{"qcow2-extl2.qcow2", QCOW2, 10 << 20, "", "", "qcow2", nil},
	{"qcow2-backing.qcow2", QCOW2, 10 << 20, "", "", "qcow2", []error{ErrBackingFile}},
	{"qcow2-datafile.qcow2", QCOW2, 10 << 20, "", "", "qcow2", []error{ErrDataFile}},
	{"qcow1.qcow", QCOW, 10 << 20, "", "", "qcow2", []error{ErrForbidden}},
	{"qed.qed", QED, 10 << 20, "", "", "raw", []error{ErrForbidden}},
	{"vmdk-sparse.vmdk", VMDK, 10 << 20, "monolithicSparse", "", "vmdk", nil},
	{"vmdk-stream.vmdk", VMDK, 10 << 20, "streamOptimized", "", "vmdk", nil},
	{"vmdk-flat.vmdk", VMDK, 10 << 20, "monolithicFlat", "", "vmdk", []error{ErrCreateType, ErrExternalExtent}},
	{"vmdk-2gb.vmdk", VMDK, 10 << 20, "twoGbMaxExtentSparse", "", "vmdk", []error{ErrCreateType, ErrExternalExtent}},
	{"vhd-dynamic.vhd", VHD, 10514432, "dynamic", "", "vhd", nil},
	{"vhd-forcesize.vhd", VHD, 10 << 20, "dynamic", "", "vhd", nil},
	{"vhd-fixed.vhd", VHD, 1079296, "fixed", "", "vhd", nil},
	{"vhdx.vhdx", VHDX, 10 << 20, "", "", "vhdx", nil},
	{"vdi.vdi", VDI, 10 << 20, "dynamic", "", "vdi", nil},
	{"vdi-static.vdi", VDI, 1 << 20, "fixed", "", "vdi", nil},
	{"ploop.hds", Parallels, 10 << 20, "", "", "ploop", nil},
	{"mbr.raw", Raw, 2 << 20, "", MBR, "raw", nil},
	{"gpt.raw", Raw, 2 << 20, "", GPT, "raw", nil},
	{"iso9660.iso", ISO, 376832, "", "", "iso", nil},
	{"iso-mbr.iso", ISO, 376832, "", MBR, "iso", nil},
}

func TestFixtures(t *testing.T) {
	for _, tc := range fixtureCases {
		t.Run(tc.name, func(t *testing.T) {
			data := fixture(t, tc.name)
			want := inspectBytes(data, len(data))
			if want.Format != tc.format || want.VirtualSize != tc.size || want.Subformat != tc.subformat || want.PartitionTable != tc.partition {
				t.Fatalf("got %s subformat=%q partition=%q; want %s/%s virtual_size=%d partition=%q",
					want, want.Subformat, want.PartitionTable, tc.format, tc.subformat, tc.size, tc.partition)
			}
			if want.ActualSize != int64(len(data)) {
				t.Errorf("actual size %d, want %d", want.ActualSize, len(data))
			}
			checkKinds(t, want.Safety(), tc.unsafe)
			err := want.Check(tc.declared)
			if len(tc.unsafe) == 0 && err != nil {
				t.Errorf("Check(%q) = %v", tc.declared, err)
			}
			if len(tc.unsafe) > 0 && err == nil {
				t.Errorf("Check(%q) passed an unsafe image", tc.declared)
			}

			// The verdict must not depend on how the stream is cut up,
			// nor on InspectFile skipping what nobody needs.
			chunks := []int{512, 4096, 65537}
			if len(data) <= 2<<20 {
				chunks = append(chunks, 13)
			}
			for _, c := range chunks {
				if got := inspectBytes(data, c); !reflect.DeepEqual(got, want) {
					t.Errorf("chunks of %d: %s, whole: %s", c, got, want)
				}
			}
			if got := inspectSkipping(data); !reflect.DeepEqual(got, want) {
				t.Errorf("skipping: %s, whole: %s", got, want)
			}
			path := filepath.Join(t.TempDir(), tc.name)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := InspectFile(path)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("InspectFile: %s, %v; want %s", got, err, want)
			}
		})
	}
}

// checkKinds asserts that err carries exactly the given kinds of
// violation (nil wants a nil error).
func checkKinds(t *testing.T, err error, kinds []error) {
	t.Helper()
	if len(kinds) == 0 {
		if err != nil {
			t.Errorf("unexpected safety failure: %v", err)
		}
		return
	}
	var se *SafetyError
	if !errors.As(err, &se) {
		t.Fatalf("want a *SafetyError with %v, got %v", kinds, err)
	}
	for _, k := range kinds {
		if !errors.Is(err, k) {
			t.Errorf("%v does not report %v", err, k)
		}
	}
	for _, v := range se.Violations {
		found := false
		for _, k := range kinds {
			found = found || v.Kind == k
		}
		if !found {
			t.Errorf("unexpected violation %v", v)
		}
	}
}

func ExampleInfo_Check() {
	in := New()
	in.Write(buildQCOW2(qcow2Opts{size: 1 << 30, backing: "/etc/passwd"}))
	info := in.Finish()
	fmt.Println(info.Format, info.VirtualSize)
	fmt.Println(info.Check("qcow2"))
	// Output:
	// qcow2 1073741824
	// qcow2 failed safety checks: backing_file: image references a backing file: backing file "/etc/passwd"
}
