package format

import (
	"crypto/md5"
	"crypto/sha512"
	"io"
	"testing"
)

// BenchmarkWrite measures the per-MiB cost of the Inspector once the image
// is past its headers, which is nearly the whole of any upload.
func BenchmarkWrite(b *testing.B) {
	chunk := randomBytes(1 << 20)
	in := New()
	in.Write(chunk)
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		in.Write(chunk)
	}
}

// BenchmarkHeaders measures a whole small inspection: a qcow2 image's
// header cluster and the first 64 KiB every image is examined over.
func BenchmarkHeaders(b *testing.B) {
	data := fixture(b, "qcow2-v3.qcow2")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		inspectBytes(data, 64<<10)
	}
}

// BenchmarkUpload compares the upload path's hashing alone with hashing
// plus inspection, streaming 64 KiB chunks as an HTTP body arrives.
func BenchmarkUpload(b *testing.B) {
	data := randomBytes(64 << 20)
	run := func(b *testing.B, inspect bool) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			ws := []io.Writer{md5.New(), sha512.New()}
			var in *Inspector
			if inspect {
				in = New()
				ws = append(ws, in)
			}
			w := io.MultiWriter(ws...)
			for p := data; len(p) > 0; p = p[64<<10:] {
				w.Write(p[:64<<10])
			}
			if in != nil {
				in.Finish()
			}
		}
	}
	b.Run("md5+sha512", func(b *testing.B) { run(b, false) })
	b.Run("md5+sha512+inspect", func(b *testing.B) { run(b, true) })
}
