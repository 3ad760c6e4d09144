package format

import (
	"fmt"
	"io"
	"os"
	"slices"
)

const (
	// MaxBuffer is the most memory, in bytes, an Inspector holds at any
	// time for image data, whatever the input.
	MaxBuffer = 4 << 20

	// defaultHead is how much of the stream's start every image keeps: the
	// ISO 9660 system area plus sixteen volume descriptors.
	defaultHead = 64 << 10
	// maxHead bounds the leading bytes a format may ask for (a qcow2
	// header cluster is at most 2 MiB).
	maxHead = 2 << 20
	// maxRegion bounds one captured region further on in the stream.
	maxRegion = 64 << 10
	// maxRegions bounds how many regions a stream may ask for.
	maxRegions = 16
	// tailSize is how many bytes of the stream's end are kept: a
	// stream-optimized VMDK's footer marker, footer and end-of-stream
	// marker (a fixed VHD's footer is the last 512 of them).
	tailSize = 1536
)

// An Inspector is an io.Writer that learns an image's format as the image
// streams through it. Write never fails before Finish and never holds more
// than MaxBuffer bytes; call Finish at the end of the stream to get the
// verdict. An Inspector is not safe for concurrent use.
type Inspector struct {
	pos      int64  // bytes seen, including skipped ones
	head     []byte // the stream's first len(head) bytes
	headWant int    // head grows until it has this many bytes
	regions  []*region
	tail     [tailSize]byte // a ring holding the stream's last bytes
	tailEnd  int            // where the next byte goes in tail
	tailLen  int            // how many of tail's bytes are valid

	cur   []byte // the chunk being written, while probes step
	curAt int64  // its offset in the stream

	probes []probe
	done   []bool
	active int
	epoch  int // bumped whenever the head or a region can gain data
	eof    bool
	info   *Info
}

// probe is one format's parser. step examines what the Inspector has
// captured, asking for more with need and capture, and reports true once
// it needs nothing more from the stream; verdict is called once, after the
// end of the stream (the tail is available then).
type probe interface {
	step(in *Inspector) bool
	verdict(in *Inspector) verdict
}

// verdict is a probe's conclusion.
type verdict struct {
	matched     bool
	format      Format
	virtualSize int64
	subformat   string
	encrypted   bool
	violations  violations
	// allowsPartition: a partition table at the stream's start is part
	// of this format's data (a hybrid ISO, a fixed VHD), not a second
	// format.
	allowsPartition bool
}

// New returns an Inspector ready for the first byte of an image.
func New() *Inspector {
	in := &Inspector{
		headWant: defaultHead,
		probes: []probe{
			&qcowProbe{}, &qedProbe{}, &vmdkProbe{}, &vhdProbe{}, &vhdxProbe{},
			&vdiProbe{}, &parallelsProbe{}, &luksProbe{}, &isoProbe{}, &mbrProbe{},
		},
	}
	in.done = make([]bool, len(in.probes))
	in.active = len(in.probes)
	return in
}

// Write feeds the next bytes of the image. It always consumes all of p and
// returns a nil error, unless Finish was already called (ErrFinished).
func (in *Inspector) Write(p []byte) (int, error) {
	if in.info != nil {
		return 0, ErrFinished
	}
	if len(p) == 0 {
		return 0, nil
	}
	in.cur, in.curAt = p, in.pos
	in.fillHead()
	for _, r := range in.regions {
		r.feed(p, in.pos)
	}
	in.pos += int64(len(p))
	in.pushTail(p)
	if in.active > 0 {
		in.step()
		if in.active == 0 {
			// Every probe has what it needs: from here on a Write only
			// counts bytes and keeps the tail.
			in.head = nil
		}
	}
	in.cur = nil
	in.regions = slices.DeleteFunc(in.regions, func(r *region) bool { return !r.pending() })
	return len(p), nil
}

// Finish marks the end of the stream and returns what the Inspector
// learned. It may be called more than once; later calls return the same
// Info.
func (in *Inspector) Finish() *Info {
	if in.info != nil {
		return in.info
	}
	in.eof = true
	for _, r := range in.regions {
		if r.pending() {
			r.lost = true
		}
	}
	in.regions = nil
	if in.active > 0 {
		in.step()
	}
	vs := make([]verdict, len(in.probes))
	for k, p := range in.probes {
		vs[k] = p.verdict(in)
	}
	in.info = decide(vs, in.pos)
	in.head = nil
	return in.info
}

// Inspect reads r to its end and returns what it holds. The error is r's,
// never the image's: ask the Info about that.
func Inspect(r io.Reader) (*Info, error) {
	in := New()
	buf := make([]byte, 1<<20)
	if _, err := io.CopyBuffer(writerOnly{in}, r, buf); err != nil {
		return nil, fmt.Errorf("inspect image: %w", err)
	}
	return in.Finish(), nil
}

// writerOnly hides any ReadFrom of the destination so io.CopyBuffer uses
// the buffer it is given.
type writerOnly struct{ io.Writer }

// InspectFile inspects the image at path. For a regular file it reads only
// the regions the formats need and the file's last bytes, so it is cheap
// even for large images; anything else is read to its end.
func InspectFile(path string) (*Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("inspect image: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("inspect image: %w", err)
	}
	if !st.Mode().IsRegular() {
		return Inspect(f)
	}
	return inspectAt(f, st.Size())
}

// inspectAt inspects size bytes of r, skipping what no probe needs.
func inspectAt(r io.ReaderAt, size int64) (*Info, error) {
	in := New()
	buf := make([]byte, 1<<20)
	for in.pos < size {
		if next := in.nextNeeded(); next != in.pos {
			target := max(size-tailSize, in.pos)
			if next >= 0 && next < target {
				target = next
			}
			if target > in.pos {
				in.skip(target - in.pos)
			}
		}
		n := int(min(int64(len(buf)), size-in.pos))
		m, err := r.ReadAt(buf[:n], in.pos)
		if m > 0 {
			in.Write(buf[:m])
		}
		if err == io.EOF {
			break // the file shrank; inspect what there was
		}
		if err != nil {
			return nil, fmt.Errorf("inspect image: %w", err)
		}
	}
	return in.Finish(), nil
}

// nextNeeded returns the lowest stream offset any probe still needs, the
// current position when the probes need the bytes that come next, or -1
// when only the stream's size and last bytes matter.
func (in *Inspector) nextNeeded() int64 {
	if in.active == 0 {
		return -1
	}
	if len(in.head) < in.headWant && int64(len(in.head)) == in.pos {
		return in.pos
	}
	next := int64(-1)
	for _, r := range in.regions {
		if r.pending() && (next < 0 || r.next() < next) {
			next = r.next()
		}
	}
	if next < 0 {
		// A probe is still working but has asked for nothing specific:
		// read on rather than guess.
		return in.pos
	}
	return next
}

// skip advances the stream by n bytes nobody needs, as if they had been
// written.
func (in *Inspector) skip(n int64) {
	in.pos += n
	in.tailEnd, in.tailLen = 0, 0
	for _, r := range in.regions {
		if r.pending() && r.next() < in.pos {
			r.lost = true
		}
	}
}

// buffered reports the bytes of image data the Inspector holds.
func (in *Inspector) buffered() int {
	n := cap(in.head) + len(in.tail)
	for _, p := range in.probes {
		if h, ok := p.(interface{ held() int }); ok {
			n += h.held()
		}
	}
	return n
}

// step lets every working probe look at what has arrived, repeatedly,
// while any of them finishes or asks for data that is already here.
func (in *Inspector) step() {
	for range 1024 {
		progress := false
		for k, p := range in.probes {
			if in.done[k] {
				continue
			}
			before := in.epoch
			if p.step(in) {
				in.done[k] = true
				in.active--
				progress = true
			}
			if in.epoch != before {
				progress = true
			}
		}
		if !progress {
			return
		}
	}
}

// need returns the stream's first n bytes. A nil result with wait true
// means they have not arrived yet; with wait false, that they never will
// (the stream ended, the bytes went by unkept, or n is beyond maxHead).
func (in *Inspector) need(n int) (b []byte, wait bool) {
	if n <= len(in.head) {
		return in.head[:n], false
	}
	if n > maxHead {
		return nil, false
	}
	if n > in.headWant {
		in.headWant = n
		in.epoch++
		in.fillHead()
		if n <= len(in.head) {
			return in.head[:n], false
		}
	}
	if in.eof || int64(len(in.head)) < in.pos {
		return nil, false
	}
	return nil, true
}

// have returns the first n bytes of the stream or fewer when the stream
// cannot provide them, and whether the caller should wait for more.
func (in *Inspector) have(n int) (b []byte, wait bool) {
	b, wait = in.need(n)
	if b == nil && !wait {
		b = in.head[:min(n, len(in.head))]
	}
	return b, wait
}

// fillHead moves bytes of the current chunk into the head while it wants
// more and the chunk continues where it stops.
func (in *Inspector) fillHead() {
	h := int64(len(in.head))
	if h >= int64(in.headWant) || in.cur == nil || h < in.curAt || h >= in.curAt+int64(len(in.cur)) {
		return
	}
	take := min(int64(in.headWant)-h, in.curAt+int64(len(in.cur))-h)
	need := len(in.head) + int(take)
	if need > cap(in.head) {
		// Grow geometrically (within maxHead): qcow2 and VMDK raise
		// headWant a little at a time.
		grown := make([]byte, len(in.head), min(max(2*cap(in.head), need, 4096), maxHead))
		copy(grown, in.head)
		in.head = grown
	}
	in.head = append(in.head, in.cur[h-in.curAt:h-in.curAt+take]...)
	in.epoch++
}

// pushTail keeps the stream's last tailSize bytes.
func (in *Inspector) pushTail(p []byte) {
	if len(p) >= tailSize {
		copy(in.tail[:], p[len(p)-tailSize:])
		in.tailEnd, in.tailLen = 0, tailSize
		return
	}
	n := copy(in.tail[in.tailEnd:], p)
	copy(in.tail[:], p[n:])
	in.tailEnd = (in.tailEnd + len(p)) % tailSize
	in.tailLen = min(in.tailLen+len(p), tailSize)
}

// tailBytes returns a copy of the stream's last n bytes, or nil when they
// are not all known.
func (in *Inspector) tailBytes(n int) []byte {
	if n > in.tailLen || int64(n) > in.pos {
		return nil
	}
	out := make([]byte, n)
	start := (in.tailEnd - n + tailSize) % tailSize
	k := copy(out, in.tail[start:])
	copy(out[k:], in.tail[:])
	return out
}

// capture asks for n bytes at stream offset off. The region fills from
// the head, the chunk being written and later chunks; it is lost when
// some of its bytes already went by unkept.
func (in *Inspector) capture(off int64, n int) *region {
	r := &region{off: off, n: n}
	in.epoch++
	if off < 0 || n < 0 || n > maxRegion || len(in.regions) >= maxRegions {
		r.lost = true
		return r
	}
	r.buf = make([]byte, 0, n)
	if off < int64(len(in.head)) {
		r.feed(in.head, 0)
	}
	if in.cur != nil {
		r.feed(in.cur, in.curAt)
	}
	if r.pending() && (in.eof || r.next() < in.pos) {
		r.lost = true
	}
	if r.pending() {
		in.regions = append(in.regions, r)
	}
	return r
}

// region is a stretch of the stream a probe asked for.
type region struct {
	off  int64
	n    int
	buf  []byte
	lost bool
}

func (r *region) next() int64    { return r.off + int64(len(r.buf)) }
func (r *region) complete() bool { return r != nil && len(r.buf) == r.n && !r.lost }
func (r *region) pending() bool  { return r != nil && len(r.buf) < r.n && !r.lost }

// release drops the region's bytes once they have been read.
func (r *region) release() {
	if r != nil {
		r.buf, r.n = nil, 0
	}
}

// held reports the bytes the region holds.
func (r *region) held() int {
	if r == nil {
		return 0
	}
	return cap(r.buf)
}

// feed copies what the region still needs from p, which starts at stream
// offset at.
func (r *region) feed(p []byte, at int64) {
	if !r.pending() {
		return
	}
	nx := r.next()
	if at > nx {
		r.lost = true
		return
	}
	end := at + int64(len(p))
	if end <= nx {
		return
	}
	stop := min(end, r.off+int64(r.n))
	r.buf = append(r.buf, p[nx-at:stop-at]...)
}

// decide turns the probes' verdicts into an Info.
func decide(vs []verdict, size int64) *Info {
	info := &Info{ActualSize: size}
	var containers []verdict
	var part *verdict
	for k := range vs {
		v := &vs[k]
		if !v.matched {
			continue
		}
		if v.format == MBR || v.format == GPT {
			part = v
			continue
		}
		containers = append(containers, *v)
	}
	for _, c := range containers {
		info.Matches = append(info.Matches, c.format)
	}
	if part != nil {
		info.Matches = append(info.Matches, part.format)
	}
	switch {
	case len(containers) == 0 && part == nil:
		info.Format, info.VirtualSize = Raw, size
	case len(containers) == 0:
		// A whole-disk image: raw to QEMU, with the MBR checks Glance
		// applies to what its inspector calls gpt.
		info.Format, info.VirtualSize = Raw, size
		info.PartitionTable = part.format
		info.violations = part.violations
	case len(containers) == 1 && (part == nil || containers[0].allowsPartition):
		c := containers[0]
		info.Format, info.VirtualSize = c.format, c.virtualSize
		info.Subformat, info.Encrypted = c.subformat, c.encrypted
		info.violations = c.violations
		if part != nil {
			info.PartitionTable = part.format
		}
	default:
		// Two formats claim the same bytes: whichever QEMU picks, the
		// other one's checks were not the ones that ran. Glance refuses
		// these; so do we.
		var v violations
		v.add("format", ErrAmbiguous, "content matches %s", joinFormats(info.Matches))
		info.violations = v
	}
	return info
}
