package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

type imageCase struct {
	name      string
	data      []byte
	format    Format
	size      int64 // -1: do not check
	partition Format
	unsafe    []error
	detail    string // a violation must mention this
}

// runImageCases inspects every case whole, in small chunks and skipping,
// and checks the verdict.
func runImageCases(t *testing.T, cases []imageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info := inspectBytes(tc.data, len(tc.data)+1)
			if info.Format != tc.format || (tc.size >= 0 && info.VirtualSize != tc.size) || info.PartitionTable != tc.partition {
				t.Fatalf("got %s partition=%q matches=%v; want %s virtual_size=%d partition=%q",
					info, info.PartitionTable, info.Matches, tc.format, tc.size, tc.partition)
			}
			err := info.Safety()
			checkKinds(t, err, tc.unsafe)
			if tc.detail != "" && (err == nil || !strings.Contains(err.Error(), tc.detail)) {
				t.Errorf("violation does not mention %q: %v", tc.detail, err)
			}
			for _, c := range []int{1, 7, 509, 4096} {
				if len(tc.data) > 1<<20 && c < 512 {
					continue
				}
				if got := inspectBytes(tc.data, c); !reflect.DeepEqual(got, info) {
					t.Errorf("chunks of %d: %s %v, whole: %s %v", c, got, got.Safety(), info, err)
				}
			}
			if got := inspectSkipping(tc.data); !reflect.DeepEqual(got, info) {
				t.Errorf("skipping: %s %v, whole: %s %v", got, got.Safety(), info, err)
			}
		})
	}
}

func TestQCOW2(t *testing.T) {
	dataFileExt := qcowExt{qcowExtDataFile, []byte("/etc/shadow")}
	backingFmt := qcowExt{qcowExtBackingFmt, []byte("raw")}
	unknownExt := qcowExt{0x12345678, bytes.Repeat([]byte{0xab}, 13)}
	withLen := func(b []byte, n int) []byte { return b[:n] }
	set := func(b []byte, off int, v uint32) []byte {
		binary.BigEndian.PutUint32(b[off:], v)
		return b
	}
	runImageCases(t, []imageCase{
		{"clean v3", buildQCOW2(qcow2Opts{size: 1 << 30}), QCOW2, 1 << 30, "", nil, ""},
		{"clean v2", buildQCOW2(qcow2Opts{version: 2, size: 5 << 20}), QCOW2, 5 << 20, "", nil, ""},
		{"known extensions", buildQCOW2(qcow2Opts{size: 1 << 20, exts: []qcowExt{backingFmt, unknownExt}}), QCOW2, 1 << 20, "", nil, ""},
		{"known incompatible bits", buildQCOW2(qcow2Opts{size: 1 << 20, clusterBits: 14, incompat: 0b11011}), QCOW2, 1 << 20, "", nil, ""},
		{"backing file", buildQCOW2(qcow2Opts{size: 1 << 20, backing: "/etc/passwd"}), QCOW2, 1 << 20, "", []error{ErrBackingFile}, `"/etc/passwd"`},
		{"v2 backing file", buildQCOW2(qcow2Opts{version: 2, size: 1 << 20, backing: "base.img"}), QCOW2, 1 << 20, "", []error{ErrBackingFile}, `"base.img"`},
		{"backing file name beyond the cluster", set(buildQCOW2(qcow2Opts{size: 1 << 20}), 12, 70000), QCOW2, 1 << 20, "", []error{ErrBackingFile}, "offset"},
		{"data file bit", buildQCOW2(qcow2Opts{size: 1 << 20, incompat: qcowIncompatData}), QCOW2, 1 << 20, "", []error{ErrDataFile}, "bit 2"},
		{"data file extension without the bit", buildQCOW2(qcow2Opts{size: 1 << 20, exts: []qcowExt{dataFileExt}}), QCOW2, 1 << 20, "", []error{ErrDataFile}, "/etc/shadow"},
		{"data file extension after others", buildQCOW2(qcow2Opts{size: 1 << 20, incompat: qcowIncompatData, exts: []qcowExt{unknownExt, backingFmt, dataFileExt}}), QCOW2, 1 << 20, "", []error{ErrDataFile}, "/etc/shadow"},
		{"unknown incompatible bit 5", buildQCOW2(qcow2Opts{size: 1 << 20, incompat: 1 << 5}), QCOW2, 1 << 20, "", []error{ErrUnknownFeatures}, "bits 5"},
		{"unknown incompatible bits 9 and 63", buildQCOW2(qcow2Opts{size: 1 << 20, incompat: 1<<9 | 1<<63 | 1}), QCOW2, 1 << 20, "", []error{ErrUnknownFeatures}, "bits 9,63"},
		{"data file and unknown bits", buildQCOW2(qcow2Opts{size: 1 << 20, incompat: 1<<2 | 1<<40, backing: "x"}), QCOW2, 1 << 20, "", []error{ErrDataFile, ErrUnknownFeatures, ErrBackingFile}, ""},
		{"version 4", buildQCOW2(qcow2Opts{version: 4, size: 1 << 20}), QCOW2, 1 << 20, "", []error{ErrMalformed}, "version 4"},
		{"cluster bits too small", buildQCOW2(qcow2Opts{size: 1 << 20, clusterBits: 8}), QCOW2, 1 << 20, "", []error{ErrMalformed}, "cluster_bits"},
		{"cluster bits too large", buildQCOW2(qcow2Opts{size: 1 << 20, clusterBits: 22, backing: "b"}), QCOW2, 1 << 20, "", []error{ErrMalformed, ErrBackingFile}, "cluster_bits"},
		{"header length short", buildQCOW2(qcow2Opts{size: 1 << 20, headerLen: 96}), QCOW2, 1 << 20, "", []error{ErrMalformed}, "header_length"},
		{"header length unaligned", buildQCOW2(qcow2Opts{size: 1 << 20, headerLen: 108}), QCOW2, 1 << 20, "", []error{ErrMalformed}, "header_length"},
		{"extension overruns the cluster", set(buildQCOW2(qcow2Opts{size: 1 << 20, clusterBits: 12, exts: []qcowExt{unknownExt}}), 108, 5000), QCOW2, 1 << 20, "", []error{ErrMalformed}, "runs past"},
		{"extensions never end", bytes.Repeat([]byte{0xee}, 4096)[:0], Raw, 0, "", nil, ""},
		{"encrypted luks", buildQCOW2(qcow2Opts{size: 1 << 20, crypt: 2}), QCOW2, 1 << 20, "", nil, ""},
		{"unknown encryption", buildQCOW2(qcow2Opts{size: 1 << 20, crypt: 3}), QCOW2, 1 << 20, "", []error{ErrMalformed}, "encryption"},
		{"size beyond int64", set(set(buildQCOW2(qcow2Opts{}), 24, 0x80000000), 28, 0), QCOW2, 0, "", []error{ErrMalformed}, "out of range"},
		{"magic only", []byte(qcowMagic), QCOW2, 0, "", []error{ErrMalformed}, "truncated"},
		{"v3 header truncated", withLen(buildQCOW2(qcow2Opts{size: 1 << 20}), 90), QCOW2, 1 << 20, "", []error{ErrMalformed}, "truncated"},
		{"extensions truncated", withLen(buildQCOW2(qcow2Opts{size: 1 << 20, exts: []qcowExt{unknownExt}}), 110), QCOW2, 1 << 20, "", []error{ErrMalformed}, "truncated"},
		{"version 1", append(set(set([]byte(qcowMagic+"\x00\x00\x00\x01"+strings.Repeat("\x00", 40)), 28, 4096), 12, 200), make([]byte, 512)...), QCOW, 4096, "", []error{ErrForbidden, ErrBackingFile}, ""},
	})
	t.Run("encrypted flag", func(t *testing.T) {
		if info := inspectBytes(buildQCOW2(qcow2Opts{size: 1 << 20, crypt: 2}), 1<<20); !info.Encrypted {
			t.Error("encrypted qcow2 not reported")
		}
		if info := inspectBytes(buildQCOW2(qcow2Opts{size: 1 << 20}), 1<<20); info.Encrypted {
			t.Error("plain qcow2 reported encrypted")
		}
	})
}

func TestVMDK(t *testing.T) {
	sparse := func(desc string) []byte { return buildVMDK(desc, vmdkOpts{capacity: 2048}) }
	extent := `RW 2048 SPARSE "disk.vmdk"`
	spill := buildVMDK(vmdkDescText("monolithicSparse", extent), vmdkOpts{capacity: 2048, descNum: 1})
	// Fill the declared one-sector descriptor with comment text so that it
	// runs, without a NUL, into the next sector, where QEMU still looks.
	copy(spill[512+len(vmdkDescText("monolithicSparse", extent)):], strings.Repeat("#", 512-len(vmdkDescText("monolithicSparse", extent))-1)+"\n"+`parentFileNameHint="/etc/passwd"`+"\n")

	good := vmdkOpts{capacity: 2048, gdAtEnd: true}
	footer := func(mut func(f []byte)) []byte {
		o := good
		o.footer = make([]byte, 1536)
		binary.LittleEndian.PutUint32(o.footer[12:], vmdkMarkerFooter)
		copy(o.footer[512:], vmdkHeader(vmdkOpts{version: 1, capacity: 4096, descSec: 1, descNum: 20}, 30))
		if mut != nil {
			mut(o.footer)
		}
		return buildVMDK(vmdkDescText("streamOptimized", extent), o)
	}
	header := func(b []byte, off int, v uint64) []byte {
		binary.LittleEndian.PutUint64(b[off:], v)
		return b
	}
	cowd := append([]byte(vmdk3Magic), make([]byte, 508)...)
	binary.LittleEndian.PutUint32(cowd[12:], 100)

	runImageCases(t, []imageCase{
		{"monolithic sparse", sparse(vmdkDescText("monolithicSparse", extent)), VMDK, 2048 * 512, "", nil, ""},
		{"stream optimized", sparse(vmdkDescText("streamOptimized", extent)), VMDK, 2048 * 512, "", nil, ""},
		{"extent names /etc/passwd", sparse(vmdkDescText("monolithicSparse", `RW 2048 SPARSE "/etc/passwd"`)), VMDK, 2048 * 512, "", []error{ErrExternalExtent}, "/etc/passwd"},
		{"flat extent", sparse(vmdkDescText("monolithicSparse", `RW 2048 FLAT "/etc/passwd" 0`)), VMDK, 2048 * 512, "", []error{ErrExternalExtent}, "FLAT"},
		{"two extents", sparse(vmdkDescText("monolithicSparse", extent, `RW 2048 SPARSE "disk-2.vmdk"`)), VMDK, 2048 * 512, "", []error{ErrExternalExtent}, "2"},
		{"no extents", sparse(vmdkDescText("monolithicSparse")), VMDK, 2048 * 512, "", []error{ErrExternalExtent}, "0"},
		{"flat create type", sparse(vmdkDescText("monolithicFlat", extent)), VMDK, 2048 * 512, "", []error{ErrCreateType}, "monolithicFlat"},
		{"no create type", sparse("version=1\n" + extent + "\n"), VMDK, 2048 * 512, "", []error{ErrCreateType}, "no createType"},
		{"parent hint", sparse(vmdkDescText("monolithicSparse", extent, `parentFileNameHint="/etc/passwd"`)), VMDK, 2048 * 512, "", []error{ErrBackingFile}, "/etc/passwd"},
		{"parent hint past the descriptor", spill, VMDK, 2048 * 512, "", []error{ErrBackingFile}, "beyond"},
		{"unknown line", sparse(vmdkDescText("monolithicSparse", extent, "rm -rf /")), VMDK, 2048 * 512, "", []error{ErrMalformed}, "rm -rf"},
		{"not ascii", sparse(vmdkDescText("monolithicSparse", extent, "# caf\xc3\xa9")), VMDK, 2048 * 512, "", []error{ErrMalformed}, "ASCII"},
		{"version 4", buildVMDK(vmdkDescText("monolithicSparse", extent), vmdkOpts{version: 4}), VMDK, 0, "", []error{ErrMalformed}, "version 4"},
		{"descriptor elsewhere", buildVMDK(vmdkDescText("monolithicSparse", extent), vmdkOpts{descSec: 5}), VMDK, 0, "", []error{ErrMalformed}, "sector 5"},
		{"empty descriptor", buildVMDK("", vmdkOpts{capacity: 8}), VMDK, 8 * 512, "", []error{ErrMalformed}, "no embedded descriptor"},
		{"huge capacity", header(sparse(vmdkDescText("monolithicSparse", extent)), 12, 1<<62), VMDK, 0, "", []error{ErrMalformed}, "capacity"},
		{"header truncated", []byte(vmdkMagic + "\x01\x00\x00\x00"), VMDK, 0, "", []error{ErrMalformed}, "truncated"},
		{"footer", footer(nil), VMDK, 4096 * 512, "", nil, ""},
		{"footer marker invalid", footer(func(f []byte) { f[12] = 7 }), VMDK, 2048 * 512, "", []error{ErrMalformed}, "footer marker"},
		{"end of stream marker invalid", footer(func(f []byte) { f[1100] = 1 }), VMDK, 2048 * 512, "", []error{ErrMalformed}, "end-of-stream"},
		{"footer points at a footer", footer(func(f []byte) { header(f, 512+56, vmdkGDAtEnd) }), VMDK, 2048 * 512, "", []error{ErrMalformed}, "another footer"},
		{"footer names another descriptor", footer(func(f []byte) { header(f, 512+36, 3) }), VMDK, 2048 * 512, "", []error{ErrMalformed}, "different descriptor"},
		{"footer signature", footer(func(f []byte) { f[512] = 'X' }), VMDK, 2048 * 512, "", []error{ErrMalformed}, "signature"},
		{"vmfs sparse", cowd, VMDK, 100 * 512, "", []error{ErrForbidden}, "COWD"},
		{"descriptor file naming /etc/passwd", []byte(vmdkDescText("monolithicFlat", `RW 2048 FLAT "/etc/passwd" 0`)), VMDK, 2048 * 512, "", []error{ErrCreateType, ErrExternalExtent}, "/etc/passwd"},
		{"descriptor file of a sparse type", []byte(vmdkDescText("monolithicSparse", `RW 4096 SPARSE "disk-s001.vmdk"`, `RDONLY 99 SPARSE "x"`)), VMDK, 4096 * 512, "", []error{ErrExternalExtent}, "disk-s001.vmdk"},
		{"descriptor file with a parent", []byte(vmdkDescText("monolithicSparse", `parentFileNameHint="../../etc/passwd"`)), VMDK, 0, "", []error{ErrExternalExtent, ErrBackingFile}, "../../etc/passwd"},
		{"descriptor file found by createType", []byte("# notes\nCID=fffffffe\ncreateType=\"vmfs\"\nRW 10 VMFS \"/dev/sda\"\n"), VMDK, 10 * 512, "", []error{ErrCreateType, ErrExternalExtent}, "/dev/sda"},
		{"descriptor file crlf", []byte("# Disk DescriptorFile\r\n  \r\nversion=1\r\ncreateType=\"vmfs\"\r\n"), VMDK, 0, "", []error{ErrCreateType, ErrExternalExtent}, ""},
		{"plain text", []byte("just some notes\nversion 2 of them\n"), Raw, 34, "", nil, ""},
		{"text without version or createType", []byte("version=4\nhello\n"), Raw, 16, "", nil, ""},
	})
}

func TestVHD(t *testing.T) {
	raw := make([]byte, 4<<20)
	fixedWin := append(bytes.Clone(raw), vhdFooter(vhdOpts{typ: vhdFixed, creator: "win ", size: 4 << 20, cyls: 10, heads: 4, secs: 17})...)
	partitioned := bytes.Clone(fixedWin)
	copy(partitioned, mbrSector(pte{typ: 0x83, startLBA: 2048, sectors: 4096}))
	dynNoCookie := buildDynamicVHD(vhdOpts{creator: "win ", size: 1 << 20})
	copy(dynNoCookie[512:], "notthere")
	differencing := buildDynamicVHD(vhdOpts{creator: "win ", size: 1 << 20})
	copy(differencing[:512], vhdFooter(vhdOpts{typ: vhdDifferencing, creator: "win ", size: 1 << 20, dataOffset: 512}))
	farHeader := vhdFooter(vhdOpts{typ: vhdDynamic, creator: "win ", size: 1 << 20, dataOffset: 1 << 30})

	runImageCases(t, []imageCase{
		{"dynamic hyper-v size", buildDynamicVHD(vhdOpts{creator: "win ", size: 5 << 20, cyls: 1, heads: 1, secs: 1}), VHD, 5 << 20, "", nil, ""},
		{"dynamic virtual pc geometry", buildDynamicVHD(vhdOpts{creator: "vpc ", size: 5 << 20, cyls: 100, heads: 16, secs: 63}), VHD, 100 * 16 * 63 * 512, "", nil, ""},
		{"dynamic qemu geometry", buildDynamicVHD(vhdOpts{creator: "qemu", size: 5 << 20, cyls: 10, heads: 16, secs: 63}), VHD, 10 * 16 * 63 * 512, "", nil, ""},
		{"dynamic qemu maximum geometry", buildDynamicVHD(vhdOpts{creator: "qemu", size: 3 << 40, cyls: 65535, heads: 16, secs: 255}), VHD, 0, "", []error{ErrMalformed}, "2040 GiB"},
		{"dynamic qemu maximum geometry in range", buildDynamicVHD(vhdOpts{creator: "qemu", size: 200 << 30, cyls: 65535, heads: 16, secs: 255}), VHD, 200 << 30, "", nil, ""},
		{"dynamic header cookie missing", dynNoCookie, VHD, 1 << 20, "", []error{ErrMalformed}, "cxsparse"},
		{"dynamic header beyond the end", farHeader, VHD, 1 << 20, "", []error{ErrMalformed}, "missing"},
		{"dynamic header inside the footer", vhdFooter(vhdOpts{typ: vhdDynamic, creator: "win ", size: 1 << 20, dataOffset: 100}), VHD, 1 << 20, "", []error{ErrMalformed}, "offset 100"},
		{"differencing", differencing, VHD, 1 << 20, "", []error{ErrBackingFile}, "parent"},
		{"unknown disk type", vhdFooter(vhdOpts{typ: 9, creator: "win ", size: 1 << 20}), VHD, 1 << 20, "", []error{ErrMalformed}, "type 9"},
		{"footer truncated", []byte(vhdCookie + "\x00\x00"), VHD, 0, "", []error{ErrMalformed}, "truncated"},
		{"fixed", fixedWin, VHD, 4 << 20, "", nil, ""},
		{"fixed with a partition table", partitioned, VHD, 4 << 20, MBR, nil, ""},
		{"fixed footer only", vhdFooter(vhdOpts{typ: vhdFixed, creator: "win ", size: 0}), VHD, 0, "", nil, ""},
		{"dynamic footer at the end only", append(bytes.Clone(raw), vhdFooter(vhdOpts{typ: vhdDynamic, creator: "win ", size: 4 << 20})...), Raw, 4<<20 + 512, "", nil, ""},
		{"qcow2 with a vhd footer", append(buildQCOW2(qcow2Opts{size: 1 << 20}), vhdFooter(vhdOpts{typ: vhdFixed, creator: "win ", size: 4096})...), "", 0, "", []error{ErrAmbiguous}, "qcow2,vhd"},
	})
}

func TestVHDX(t *testing.T) {
	clean := buildVHDX(vhdxOpts{size: 3 << 30})
	truncated := clean[:1<<20+1000]
	badSig := buildVHDX(vhdxOpts{size: 1 << 20})
	copy(badSig[vhdxRegionTable:], "rega")
	noMeta := buildVHDX(vhdxOpts{size: 1 << 20})
	copy(noMeta[1<<20:], "notmeta!")
	runImageCases(t, []imageCase{
		{"clean", clean, VHDX, 3 << 30, "", nil, ""},
		{"metadata further on", buildVHDX(vhdxOpts{size: 1<<20 + 700, metaOffset: 5 << 20}), VHDX, 1<<20 + 512, "", nil, ""},
		{"metadata inside the header section", buildVHDX(vhdxOpts{size: 1 << 20, metaOffset: 256 << 10}), VHDX, 0, "", []error{ErrMalformed}, "offset 262144"},
		{"metadata unaligned", buildVHDX(vhdxOpts{size: 1 << 20, metaOffset: 1<<20 + 4096}), VHDX, 0, "", []error{ErrMalformed}, "offset 1052672"},
		{"has parent", buildVHDX(vhdxOpts{size: 1 << 20, hasParent: true}), VHDX, 1 << 20, "", []error{ErrBackingFile}, "parent"},
		{"parent locator", buildVHDX(vhdxOpts{size: 1 << 20, parentLocator: true}), VHDX, 1 << 20, "", []error{ErrBackingFile}, "parent locator"},
		{"unknown required item", buildVHDX(vhdxOpts{size: 1 << 20, unknownRequired: true}), VHDX, 0, "", []error{ErrMalformed}, "01234567-89AB-CDEF-0123-456789ABCDEF"},
		{"region table checksum", buildVHDX(vhdxOpts{size: 1 << 20, badChecksum: true}), VHDX, 0, "", []error{ErrMalformed}, "checksum"},
		{"region table signature", badSig, VHDX, 0, "", []error{ErrMalformed}, "signature"},
		{"metadata signature", noMeta, VHDX, 0, "", []error{ErrMalformed}, "metadata table signature"},
		{"truncated in the metadata table", truncated, VHDX, 0, "", []error{ErrMalformed}, "missing"},
		{"truncated before the region table", clean[:100<<10], VHDX, 0, "", []error{ErrMalformed}, "region table"},
	})
}

func TestVDIAndOthers(t *testing.T) {
	parallels := make([]byte, 4096)
	copy(parallels, "WithoutFreeSpace")
	binary.LittleEndian.PutUint32(parallels[16:], 2)
	binary.LittleEndian.PutUint32(parallels[28:], 2048)
	binary.LittleEndian.PutUint64(parallels[36:], 1<<32|100)
	luks := make([]byte, 8192)
	copy(luks, "LUKS\xba\xbe\x00\x01")
	binary.BigEndian.PutUint32(luks[104:], 4)
	luks2 := bytes.Clone(luks)
	luks2[7] = 2
	qed := make([]byte, 4096)
	copy(qed, "QED\x00")
	binary.LittleEndian.PutUint64(qed[48:], 1<<30)
	qedBacking := bytes.Clone(qed)
	qedBacking[56] = 100
	runImageCases(t, []imageCase{
		{"vdi dynamic", buildVDI(1, 10<<20+100, false), VDI, 10 << 20, "", nil, ""},
		{"vdi fixed", buildVDI(2, 1<<20, false), VDI, 1 << 20, "", nil, ""},
		{"vdi with a parent", buildVDI(1, 1<<20, true), VDI, 1 << 20, "", []error{ErrBackingFile}, "parent"},
		{"vdi differencing", buildVDI(4, 1<<20, true), VDI, 1 << 20, "", []error{ErrBackingFile}, "differencing"},
		{"vdi undo", buildVDI(3, 1<<20, false), VDI, 1 << 20, "", []error{ErrMalformed}, "type 3"},
		{"vdi truncated", buildVDI(1, 1<<20, false)[:100], VDI, 0, "", []error{ErrMalformed}, "truncated"},
		{"parallels old magic", parallels, Parallels, 100 * 512, "", nil, ""},
		{"luks", luks, LUKS, 8192 - 4*512, "", nil, ""},
		{"luks2", luks2, LUKS, 0, "", []error{ErrMalformed}, "version 2"},
		{"qed", qed, QED, 1 << 30, "", []error{ErrForbidden}, ""},
		{"qed backing", qedBacking, QED, 1 << 30, "", []error{ErrForbidden, ErrBackingFile}, ""},
	})
}

func TestISOAndPartitions(t *testing.T) {
	iso := buildISO(64)
	isoGPT := bytes.Clone(iso)
	copy(isoGPT, mbrSector(protective))
	isoQCOW := bytes.Clone(iso)
	copy(isoQCOW, buildQCOW2(qcow2Opts{size: 1 << 30}))
	isoVMDK := bytes.Clone(iso)
	copy(isoVMDK, vmdkDescText("monolithicFlat", `RW 10 FLAT "/etc/passwd" 0`))
	realISO := fixture(t, "iso9660.iso")
	realQCOW := fixture(t, "qcow2-v3.qcow2")
	spliced := bytes.Clone(realISO)
	copy(spliced[:isoFirstDesc], realQCOW[:isoFirstDesc])
	udf := make([]byte, 40*isoSector)
	for i, id := range []string{"BEA01", "NSR02", "TEA01"} {
		copy(udf[isoFirstDesc+i*isoSector+1:], id)
	}
	fat := mbrSector()
	fat[0x10], fat[0x15] = 2, 0xf8
	kernel := append(mbrSector(), make([]byte, 1024)...)
	copy(kernel[446:], "Use a boot loader.\r\n")
	copy(kernel[0x202:], "HdrS")
	qcowMBR := buildQCOW2(qcow2Opts{size: 1 << 20})
	qcowMBR[510], qcowMBR[511] = 0x55, 0xaa

	runImageCases(t, []imageCase{
		{"iso", iso, ISO, 64 * isoSector, "", nil, ""},
		{"iso with a gpt", isoGPT, ISO, 64 * isoSector, GPT, nil, ""},
		{"iso with a qcow2 header", isoQCOW, "", 0, "", []error{ErrAmbiguous}, "qcow2,iso"},
		{"real iso with a real qcow2 header", spliced, "", 0, "", []error{ErrAmbiguous}, "qcow2,iso"},
		{"iso with a vmdk descriptor", isoVMDK, "", 0, "", []error{ErrAmbiguous}, "vmdk,iso"},
		{"udf", udf, ISO, 40 * isoSector, "", nil, ""},
		{"iso truncated in its descriptor", iso[:isoFirstDesc+100], ISO, isoFirstDesc + 100, "", nil, ""},
		{"gpt", append(mbrSector(protective), make([]byte, 4096)...), Raw, 4608, GPT, nil, ""},
		{"mbr", mbrSector(pte{boot: 0x80, typ: 0x83, startLBA: 2048, sectors: 100}, pte{typ: 0x82, startLBA: 4096, sectors: 100}), Raw, 512, MBR, nil, ""},
		{"mbr boot flag", mbrSector(pte{boot: 0x01, typ: 0x83, startLBA: 2048}), Raw, 512, MBR, []error{ErrPartitionTable}, "boot flag"},
		{"mbr without partitions", mbrSector(), Raw, 512, MBR, []error{ErrPartitionTable}, "no partitions"},
		{"protective start chs", mbrSector(pte{chs: [3]byte{0, 1, 0}, typ: 0xee, startLBA: 1}), Raw, 512, GPT, []error{ErrPartitionTable}, "CHS"},
		{"protective start lba", mbrSector(pte{chs: [3]byte{0, 2, 0}, typ: 0xee, startLBA: 2}), Raw, 512, GPT, []error{ErrPartitionTable}, "LBA 2"},
		{"protective and another partition", mbrSector(protective, pte{typ: 0x83, startLBA: 2048}), Raw, 512, GPT, []error{ErrPartitionTable}, "other partitions"},
		{"protective in the second slot", mbrSector(pte{}, protective), Raw, 512, GPT, []error{ErrPartitionTable}, "other partitions"},
		{"fat boot sector", fat, Raw, 512, "", nil, ""},
		{"kernel boot sector", kernel, Raw, 1536, "", nil, ""},
		{"qcow2 with a boot signature", qcowMBR, "", 0, "", []error{ErrAmbiguous}, "qcow2,mbr"},
		{"short", []byte("hi"), Raw, 2, "", nil, ""},
		{"empty", nil, Raw, 0, "", nil, ""},
	})
}

func TestCheck(t *testing.T) {
	kernel := append(mbrSector(pte{boot: 0x4c, typ: 0x83}), make([]byte, 512)...)
	cases := []struct {
		name     string
		data     []byte
		declared string
		want     error
	}{
		{"raw", []byte("zeros"), "raw", nil},
		{"raw as ami", []byte("zeros"), "ami", nil},
		{"raw as ploop", []byte("zeros"), "ploop", nil},
		{"raw as qcow2", []byte("zeros"), "qcow2", ErrFormatMismatch},
		{"raw as iso", []byte("zeros"), "iso", ErrFormatMismatch},
		{"qcow2 as raw", buildQCOW2(qcow2Opts{size: 1}), "raw", ErrFormatMismatch},
		{"qcow2 as ami", buildQCOW2(qcow2Opts{size: 1}), "ami", ErrFormatMismatch},
		{"qcow2 as vmdk", buildQCOW2(qcow2Opts{size: 1}), "vmdk", ErrFormatMismatch},
		{"qcow2 with backing as raw", buildQCOW2(qcow2Opts{size: 1, backing: "/etc/passwd"}), "raw", ErrBackingFile},
		{"qcow2", buildQCOW2(qcow2Opts{size: 1}), "qcow2", nil},
		{"qcow v1 as qcow2", fixture(t, "qcow1.qcow"), "qcow2", ErrForbidden},
		{"vmdk", buildVMDK(vmdkDescText("monolithicSparse", `RW 1 SPARSE "a.vmdk"`), vmdkOpts{capacity: 1}), "vmdk", nil},
		{"fixed vhd as raw", fixture(t, "vhd-fixed.vhd"), "raw", ErrFormatMismatch},
		{"fixed vhd", fixture(t, "vhd-fixed.vhd"), "vhd", nil},
		{"vhdx as vhd", fixture(t, "vhdx.vhdx"), "vhd", ErrFormatMismatch},
		{"vdi", fixture(t, "vdi.vdi"), "vdi", nil},
		{"parallels as ploop", fixture(t, "ploop.hds"), "ploop", nil},
		{"parallels as raw", fixture(t, "ploop.hds"), "raw", ErrFormatMismatch},
		{"qcow2 as ploop", buildQCOW2(qcow2Opts{size: 1}), "ploop", ErrFormatMismatch},
		{"iso", fixture(t, "iso9660.iso"), "iso", nil},
		{"hybrid iso", fixture(t, "iso-mbr.iso"), "iso", nil},
		{"iso as raw", fixture(t, "iso9660.iso"), "raw", ErrFormatMismatch},
		{"gpt disk", fixture(t, "gpt.raw"), "raw", nil},
		{"gpt disk as iso", fixture(t, "gpt.raw"), "iso", ErrFormatMismatch},
		{"bad mbr as raw", kernel, "raw", ErrPartitionTable},
		{"bad mbr as ami", kernel, "ami", ErrPartitionTable},
		{"bad mbr as aki", kernel, "aki", nil},
		{"bad mbr as ari", kernel, "ari", nil},
		{"luks as raw", append([]byte("LUKS\xba\xbe\x00\x01"), make([]byte, 600)...), "raw", ErrFormatMismatch},
		{"ambiguous as iso", func() []byte { b := buildISO(20); copy(b, buildQCOW2(qcow2Opts{})); return b }(), "iso", ErrAmbiguous},
		{"gpt is not a disk format", fixture(t, "gpt.raw"), "gpt", ErrUnknownDiskFormat},
		{"upper case", []byte("x"), "RAW", ErrUnknownDiskFormat},
		{"empty disk format", []byte("x"), "", ErrUnknownDiskFormat},
		{"docker", []byte("x"), "docker", ErrUnknownDiskFormat},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := inspectBytes(tc.data, 4096).Check(tc.declared)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check(%q) = %v", tc.declared, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check(%q) = %v, want %v", tc.declared, err, tc.want)
			}
		})
	}
	t.Run("mismatch error", func(t *testing.T) {
		err := inspectBytes(buildQCOW2(qcow2Opts{size: 1}), 4096).Check("raw")
		var me *MismatchError
		if !errors.As(err, &me) || me.Declared != "raw" || me.Detected != QCOW2 {
			t.Fatalf("got %#v", err)
		}
		if !strings.Contains(err.Error(), "raw") || !strings.Contains(err.Error(), "qcow2") {
			t.Errorf("message %q names neither format", err)
		}
	})
	t.Run("disk formats", func(t *testing.T) {
		want := []string{"aki", "ami", "ari", "iso", "ploop", "qcow2", "raw", "vdi", "vhd", "vhdx", "vmdk"}
		if got := DiskFormats(); !reflect.DeepEqual(got, want) {
			t.Errorf("DiskFormats() = %v", got)
		}
	})
}

func TestQemuNames(t *testing.T) {
	for f, want := range map[Format]string{VHD: "vpc", ISO: "raw", Raw: "raw", QCOW2: "qcow2", VMDK: "vmdk", VHDX: "vhdx", VDI: "vdi", GPT: "raw", Parallels: "parallels"} {
		if got := f.Qemu(); got != want {
			t.Errorf("%s.Qemu() = %q, want %q", f, got, want)
		}
	}
}

func TestGUID(t *testing.T) {
	for _, s := range []string{"8B7CA206-4790-4B9A-B8FE-575F050F886E", "00000000-0000-0000-0000-000000000001"} {
		if got := guidString(guid(s)); got != s {
			t.Errorf("round trip of %s gave %s", s, got)
		}
	}
	g := guid("8B7CA206-4790-4B9A-B8FE-575F050F886E")
	if g[0] != 0x06 || g[3] != 0x8b || g[4] != 0x90 || g[6] != 0x9a || g[8] != 0xb8 {
		t.Errorf("mixed-endian layout wrong: % x", g)
	}
}
