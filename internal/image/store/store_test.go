package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func sums(b []byte) (string, string) {
	m := md5.Sum(b)
	s := sha512.Sum512(b)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteHashesAndCommits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, buffers*chunkSize + 12345}
	for _, size := range sizes {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(r.IntN(256))
		}
		for _, name := range []string{"whole", "onebyte", "halves"} {
			s, err := New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			var src io.Reader = bytes.NewReader(data)
			switch name {
			case "onebyte":
				if size > 3*chunkSize {
					continue
				}
				src = iotest.OneByteReader(src)
			case "halves":
				src = iotest.HalfReader(src)
			}
			var tee bytes.Buffer
			p, err := s.Write(context.Background(), "img", src, WriteOptions{Tee: &tee})
			if err != nil {
				t.Fatal(err)
			}
			wantMD5, wantSHA := sums(data)
			if p.Size != int64(size) || p.MD5 != wantMD5 || p.SHA512 != wantSHA || !bytes.Equal(tee.Bytes(), data) {
				t.Fatalf("%d/%s: size %d md5 %s sha %.16s", size, name, p.Size, p.MD5, p.SHA512)
			}
			if got := files(t, s.Dir()); len(got) != 1 || !strings.HasSuffix(got[0], partSuffix) {
				t.Fatalf("before commit: %v", got)
			}
			loc, err := p.Commit()
			if err != nil || loc != "file://"+filepath.Join(s.Dir(), "img") {
				t.Fatalf("commit: %s %v", loc, err)
			}
			if err := p.Abort(); err != nil {
				t.Fatalf("abort after commit: %v", err)
			}
			f, n, err := s.Open(loc)
			if err != nil || n != int64(size) {
				t.Fatalf("open: %d %v", n, err)
			}
			got, _ := io.ReadAll(f)
			f.Close()
			if !bytes.Equal(got, data) {
				t.Fatalf("%d/%s: data differs", size, name)
			}
		}
	}
}

type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	m := min(len(p), f.n)
	f.n -= m
	return m, nil
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("inspector refuses") }

func TestWriteFailuresLeaveNothing(t *testing.T) {
	cut := errors.New("connection reset")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		src  io.Reader
		opt  WriteOptions
		want error
	}{
		{"client disconnects", context.Background(), &failAfter{n: 3*chunkSize + 7, err: cut}, WriteOptions{}, cut},
		{"too large", context.Background(), &failAfter{n: 5 * chunkSize, err: io.EOF}, WriteOptions{Limit: 2*chunkSize + 1}, ErrTooLarge},
		{"exactly the limit is fine", context.Background(), &failAfter{n: 2 * chunkSize, err: io.EOF}, WriteOptions{Limit: 2 * chunkSize}, nil},
		{"tee fails", context.Background(), &failAfter{n: 10, err: io.EOF}, WriteOptions{Tee: errWriter{}}, errors.New("inspector refuses")},
		{"canceled", ctx, &failAfter{n: 10, err: io.EOF}, WriteOptions{}, context.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := New(t.TempDir())
			p, err := s.Write(c.ctx, "img", c.src, c.opt)
			switch {
			case c.want == nil:
				if err != nil {
					t.Fatal(err)
				}
				p.Abort()
			case err == nil:
				t.Fatalf("want %v", c.want)
			case !errors.Is(err, c.want) && err.Error() != c.want.Error():
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if got := files(t, s.Dir()); len(got) != 0 {
				t.Fatalf("left behind: %v", got)
			}
		})
	}
}

func TestPathRefusesOtherPlaces(t *testing.T) {
	s, _ := New(t.TempDir())
	for _, loc := range []string{"http://x/y", "file:///etc/passwd", "file://" + s.Dir() + "/../x", "file://" + s.Dir() + "/.x.part", "file://" + s.Dir()} {
		if _, err := s.Path(loc); err == nil {
			t.Errorf("Path(%q) accepted", loc)
		}
	}
	if _, err := s.Write(context.Background(), "../x", strings.NewReader("x"), WriteOptions{}); err == nil {
		t.Fatal("Write accepted a path as id")
	}
	if _, _, err := s.Open(s.Location("missing")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open missing: %v", err)
	}
	if err := s.Delete(s.Location("missing")); err != nil {
		t.Fatalf("Delete missing: %v", err)
	}
}

func TestSweep(t *testing.T) {
	s, _ := New(t.TempDir())
	for _, id := range []string{"keep", "orphan"} {
		p, err := s.Write(context.Background(), id, strings.NewReader(id), WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Commit()
	}
	fresh, _ := s.Write(context.Background(), "inflight", strings.NewReader("x"), WriteOptions{})
	stale, _ := s.Write(context.Background(), "crashed", strings.NewReader("x"), WriteOptions{})
	old := time.Now().Add(-time.Hour)
	os.Chtimes(stale.tmp, old, old)
	for _, id := range []string{"keep", "orphan"} {
		os.Chtimes(filepath.Join(s.Dir(), id), old, old)
	}
	// A file just committed whose image does not record it yet survives.
	young, _ := s.Write(context.Background(), "young", strings.NewReader("x"), WriteOptions{})
	young.Commit()
	removed, err := s.Sweep(func(loc string) bool { return loc == s.Location("keep") })
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 {
		t.Fatalf("removed %v", removed)
	}
	left := files(t, s.Dir())
	if len(left) != 3 || left[1] != "keep" || left[2] != "young" || !strings.HasPrefix(left[0], ".inflight.") {
		t.Fatalf("left %v", left)
	}
	fresh.Abort()
}

// zeros is an endless source that costs nothing to read.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func BenchmarkWrite(b *testing.B) {
	s, _ := New(b.TempDir())
	const size = 256 << 20
	b.SetBytes(size)
	for b.Loop() {
		p, err := s.Write(context.Background(), "img", io.LimitReader(zeros{}, size), WriteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		p.Abort()
	}
}
