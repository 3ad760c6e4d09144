package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAfterFinish(t *testing.T) {
	in := New()
	if n, err := in.Write([]byte("abc")); n != 3 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	info := in.Finish()
	if in.Finish() != info {
		t.Error("a second Finish returned a different Info")
	}
	if _, err := in.Write([]byte("d")); !errors.Is(err, ErrFinished) {
		t.Errorf("Write after Finish = %v", err)
	}
	if info.Format != Raw || info.VirtualSize != 3 || info.ActualSize != 3 {
		t.Errorf("got %s", info)
	}
	if n, err := New().Write(nil); n != 0 || err != nil {
		t.Errorf("empty Write = %d, %v", n, err)
	}
}

func TestTailRing(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		in := New()
		var all []byte
		for range r.IntN(20) {
			p := make([]byte, r.IntN(2*tailSize))
			for k := range p {
				p[k] = byte(r.Uint32())
			}
			all = append(all, p...)
			in.Write(p)
		}
		n := min(len(all), tailSize)
		if got := in.tailBytes(n); !bytes.Equal(got, all[len(all)-n:]) {
			t.Fatalf("tail of %d bytes wrong", len(all))
		}
		if len(all) < tailSize && in.tailBytes(len(all)+1) != nil {
			t.Fatal("tail claims bytes the stream never had")
		}
	}
}

// zeroReaderAt is an image of zeros with some pieces of data placed in
// it, that counts the bytes read from it.
type zeroReaderAt struct {
	pieces map[int64][]byte
	read   int64
}

func (z *zeroReaderAt) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	for at, d := range z.pieces {
		lo, hi := max(at, off), min(at+int64(len(d)), off+int64(len(p)))
		if lo < hi {
			copy(p[lo-off:hi-off], d[lo-at:hi-at])
		}
	}
	z.read += int64(len(p))
	return len(p), nil
}

func TestInspectAtReadsLittle(t *testing.T) {
	const size = 64 << 30
	// A VHDX whose metadata region sits 16 GiB into the file.
	vhdx := buildVHDX(vhdxOpts{size: size})
	rt := vhdx[vhdxRegionTable:]
	binary.LittleEndian.PutUint64(rt[64:], 16<<30)
	binary.LittleEndian.PutUint32(rt[4:], crc32cZeroed(rt[:vhdxTableSize], 4))
	cases := []struct {
		name   string
		pieces map[int64][]byte
		want   Format
		size   int64
	}{
		{"raw", nil, Raw, size},
		{"qcow2", map[int64][]byte{0: buildQCOW2(qcow2Opts{size: size})}, QCOW2, size},
		{"vhdx", map[int64][]byte{0: vhdx[:1<<20], 16 << 30: vhdx[1<<20:]}, VHDX, size},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			z := &zeroReaderAt{pieces: tc.pieces}
			info, err := inspectAt(z, size)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != tc.want || info.ActualSize != size || info.VirtualSize != tc.size {
				t.Fatalf("got %s", info)
			}
			if z.read > 4<<20 {
				t.Errorf("read %d bytes of a %d-byte image", z.read, int64(size))
			}
		})
	}
	t.Run("fixed vhd", func(t *testing.T) {
		footer := vhdFooter(vhdOpts{typ: vhdFixed, creator: "win ", size: 1 << 30})
		r := &tailReaderAt{size: 1<<30 + 512, tail: footer}
		info, err := inspectAt(r, r.size)
		if err != nil || info.Format != VHD || info.VirtualSize != 1<<30 {
			t.Fatalf("got %s, %v", info, err)
		}
	})
}

// tailReaderAt is zeros followed by a given tail.
type tailReaderAt struct {
	size int64
	tail []byte
}

func (r *tailReaderAt) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	n := min(int64(len(p)), r.size-off)
	start := r.size - int64(len(r.tail))
	for k := int64(0); k < n; k++ {
		if off+k >= start {
			p[k] = r.tail[off+k-start]
		}
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

func TestInspectReaders(t *testing.T) {
	data := fixture(t, "vmdk-sparse.vmdk")
	info, err := Inspect(bytes.NewReader(data))
	if err != nil || info.Format != VMDK || info.VirtualSize != 10<<20 {
		t.Fatalf("Inspect = %s, %v", info, err)
	}
	boom := errors.New("disk on fire")
	if _, err := Inspect(io.MultiReader(bytes.NewReader(data[:1000]), errReader{boom})); !errors.Is(err, boom) {
		t.Errorf("Inspect of a failing reader = %v", err)
	}
	if _, err := InspectFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("InspectFile of a missing file = %v", err)
	}
	// A file that is not regular is read as a stream.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		pw.Write(data)
		pw.Close()
	}()
	info, err = InspectFile("/dev/fd/" + itoa(int(pr.Fd())))
	pr.Close()
	if err != nil || info.Format != VMDK {
		t.Errorf("InspectFile of a pipe = %s, %v", info, err)
	}
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestMemoryBound streams the images that make an Inspector keep the most
// and checks it never holds more than MaxBuffer, and that it lets go of
// the head once every probe is done.
func TestMemoryBound(t *testing.T) {
	// A qcow2 image with 2 MiB clusters whose header extensions fill the
	// whole first cluster: the largest head any format can ask for.
	var exts []qcowExt
	for range 2000 {
		exts = append(exts, qcowExt{0x11111111, make([]byte, 1024)})
	}
	bigQCOW := buildQCOW2(qcow2Opts{size: 1 << 40, clusterBits: 21, exts: exts, length: 3 << 20})
	bigVMDK := buildVMDK(vmdkDescText("monolithicSparse", `RW 8 SPARSE "a.vmdk"`)+strings.Repeat("# padding\n", 100000), vmdkOpts{capacity: 8, descNum: 4000})
	cases := []struct {
		name    string
		data    []byte
		chunk   int
		atLeast int // the case must really make the inspector hold this much
	}{
		{"qcow2 with 2 MiB clusters", bigQCOW, 100_003, 1900 << 10},
		{"vmdk with a 1 MiB descriptor", bigVMDK, 100_003, 900 << 10},
		{"vhdx", buildVHDX(vhdxOpts{size: 1 << 30}), 100_003, 256 << 10},
		{"raw", make([]byte, 8<<20), 4099, 60 << 10},
		{"random", randomBytes(8 << 20), 4099, 60 << 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := New()
			peak := 0
			for b := tc.data; len(b) > 0; {
				n := min(len(b), tc.chunk)
				in.Write(b[:n])
				b = b[n:]
				peak = max(peak, in.buffered())
			}
			if peak > MaxBuffer {
				t.Errorf("held %d bytes, more than MaxBuffer", peak)
			}
			if peak < tc.atLeast {
				t.Errorf("held at most %d bytes; the case is meant to need %d", peak, tc.atLeast)
			}
			if in.active == 0 && in.buffered() > tailSize {
				t.Errorf("still holding %d bytes after every probe finished", in.buffered())
			}
			if info := in.Finish(); info.Safety() != nil && tc.name != "random" {
				t.Errorf("%s: %v", info, info.Safety())
			}
		})
	}
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, n)
	for k := range b {
		b[k] = byte(r.Uint32())
	}
	b[510], b[511] = 0, 0 // not a boot sector
	return b
}

// TestRegionsAcrossChunks asks for regions that start inside the chunk
// being written, end in later ones, or lie in bytes already gone.
func TestRegionsAcrossChunks(t *testing.T) {
	data := make([]byte, 300<<10)
	for k := range data {
		data[k] = byte(k * 7)
	}
	// The state of an Inspector in the middle of writing the chunk at
	// 100..200 KiB, having kept a 64 KiB head.
	in := New()
	in.head = bytes.Clone(data[:64<<10])
	in.cur, in.curAt = data[100<<10:200<<10], 100<<10
	in.pos = 200 << 10
	inside := in.capture(150<<10, 4096)
	across := in.capture(190<<10, 20<<10)
	ahead := in.capture(250<<10, 1000)
	fromHead := in.capture(1000, 500)
	gone := in.capture(99<<10, 2<<10)
	in.cur = nil
	in.Write(data[200<<10:])
	for name, c := range map[string]struct {
		r   *region
		off int
	}{"inside": {inside, 150 << 10}, "across": {across, 190 << 10}, "ahead": {ahead, 250 << 10}, "head": {fromHead, 1000}} {
		if !c.r.complete() || !bytes.Equal(c.r.buf, data[c.off:c.off+c.r.n]) {
			t.Errorf("%s region wrong: complete=%v", name, c.r.complete())
		}
	}
	if !gone.lost {
		t.Error("a region in bytes that went by unkept is not lost")
	}
	if r := in.capture(0, maxRegion+1); !r.lost {
		t.Error("an oversized region was accepted")
	}
}
