package format

import (
	"errors"
	"reflect"
	"slices"
	"testing"
)

// FuzzInspect feeds arbitrary bytes through the Inspector: it must never
// panic, never hold more than MaxBuffer, reach the same verdict however
// the stream is cut up and whether or not it skips what no probe needs,
// and keep its verdict self-consistent.
func FuzzInspect(f *testing.F) {
	for _, tc := range fixtureCases {
		b := fixture(f, tc.name)
		f.Add(b[:min(len(b), 72<<10)]) // past the ISO descriptors; small keeps fuzzing fast
	}
	for _, b := range [][]byte{
		buildQCOW2(qcow2Opts{size: 1 << 30, backing: "/etc/passwd", exts: []qcowExt{{qcowExtDataFile, []byte("d")}}}),
		buildQCOW2(qcow2Opts{version: 2, size: 1 << 20, clusterBits: 9}),
		buildVMDK(vmdkDescText("streamOptimized", `RW 8 SPARSE "a.vmdk"`), vmdkOpts{capacity: 8, gdAtEnd: true}),
		[]byte(vmdkDescText("monolithicFlat", `RW 8 FLAT "/etc/passwd" 0`)),
		buildDynamicVHD(vhdOpts{creator: "win ", size: 1 << 20}),
		append(make([]byte, 4096), vhdFooter(vhdOpts{typ: vhdFixed, creator: "vpc ", cyls: 1, heads: 1, secs: 8})...),
		buildVHDX(vhdxOpts{size: 1 << 30, parentLocator: true}),
		buildVDI(1, 1<<20, true),
		buildISO(40),
		mbrSector(protective),
	} {
		f.Add(b)
	}
	known := []Format{Raw, QCOW2, QCOW, QED, VMDK, VHD, VHDX, VDI, ISO, Parallels, LUKS}
	f.Fuzz(func(t *testing.T, data []byte) {
		whole := inspectBytes(data, len(data)+1)

		chunk := 1 + len(data)%977
		in := New()
		for b := data; len(b) > 0; {
			n := min(chunk, len(b))
			in.Write(b[:n])
			b = b[n:]
			if in.buffered() > MaxBuffer {
				t.Fatalf("holding %d bytes", in.buffered())
			}
		}
		if got := in.Finish(); !reflect.DeepEqual(got, whole) {
			t.Fatalf("chunks of %d: %s, whole: %s", chunk, got, whole)
		}
		if got := inspectSkipping(data); !reflect.DeepEqual(got, whole) {
			t.Fatalf("skipping: %s, whole: %s", got, whole)
		}

		if whole.ActualSize != int64(len(data)) || whole.VirtualSize < 0 {
			t.Fatalf("sizes: %s", whole)
		}
		safety := whole.Safety()
		switch {
		case whole.Format == "":
			if !errors.Is(safety, ErrAmbiguous) || len(whole.Matches) < 2 {
				t.Fatalf("no format, but %v and matches %v", safety, whole.Matches)
			}
		case !slices.Contains(known, whole.Format):
			t.Fatalf("unknown format %q", whole.Format)
		}
		for _, d := range DiskFormats() {
			err := whole.Check(d)
			if err == nil && safety != nil && d != "aki" && d != "ari" {
				t.Fatalf("Check(%q) passed an image failing %v", d, safety)
			}
			if err == nil && !slices.Contains(diskFormats[d], whole.Format) {
				t.Fatalf("Check(%q) passed %s", d, whole)
			}
			_ = whole.String()
		}
	})
}
