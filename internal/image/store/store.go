package store

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// chunkSize is the size of each buffer a Write reads into.
	chunkSize = 1 << 20
	// buffers is how many chunks a Write keeps in flight between the
	// reader and the two hashing goroutines: the whole memory a Write
	// holds for data, whatever the image size.
	buffers = 4
	// partSuffix marks files still being written.
	partSuffix = ".part"
	// staleAfter is how long a part file may go unwritten before Sweep
	// takes it for the leftover of a crashed upload.
	staleAfter = 10 * time.Minute
)

// ErrTooLarge is returned by Write when the data exceeds WriteOptions.Limit.
var ErrTooLarge = errors.New("image data exceeds the size limit")

// ErrNotFound is returned for a location with no data behind it.
var ErrNotFound = errors.New("image data not found")

// Store is a directory of image files named by image id.
type Store struct {
	dir string
}

// New opens (creating it if needed) the store in dir.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	return &Store{dir: abs}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Location returns the location an image's data has once committed.
func (s *Store) Location(id string) string {
	return "file://" + filepath.Join(s.dir, id)
}

// Path returns the file behind a location of this store, refusing
// locations elsewhere.
func (s *Store) Path(location string) (string, error) {
	p, ok := strings.CutPrefix(location, "file://")
	if !ok {
		return "", fmt.Errorf("image store: %q is not a file location", location)
	}
	p = filepath.Clean(p)
	if filepath.Dir(p) != s.dir || strings.HasPrefix(filepath.Base(p), ".") {
		return "", fmt.Errorf("image store: %q is outside %s", location, s.dir)
	}
	return p, nil
}

// WriteOptions tune a Write.
type WriteOptions struct {
	// Limit is the most bytes accepted; more is ErrTooLarge. 0 means no
	// limit.
	Limit int64
	// Tee receives every byte written, in order (the format inspector). An
	// error from it aborts the write.
	Tee io.Writer
}

// Pending is data written but not yet visible under the image's name.
type Pending struct {
	// Size is the number of bytes written.
	Size int64
	// MD5 is the hex md5 of the data (Glance's checksum).
	MD5 string
	// SHA512 is the hex sha512 of the data (os_hash_value).
	SHA512 string

	s     *Store
	id    string
	tmp   string
	final string
	done  bool
}

// Write streams r into a new part file for image id, hashing as it goes,
// and returns the pending result. Whatever happens, the caller must end a
// successful Write with Commit or Abort; on error nothing is left behind.
// Write stops early when ctx is done.
func (s *Store) Write(ctx context.Context, id string, r io.Reader, opt WriteOptions) (*Pending, error) {
	if id == "" || strings.ContainsAny(id, "/\\") || strings.HasPrefix(id, ".") {
		return nil, fmt.Errorf("image store: bad image id %q", id)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(s.dir, "."+id+"."+hex.EncodeToString(rnd[:])+partSuffix)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	p := &Pending{s: s, id: id, tmp: tmp, final: filepath.Join(s.dir, id)}
	size, sums, err := copyHashed(ctx, f, r, opt)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("image store: %w", cerr)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	p.Size, p.MD5, p.SHA512 = size, sums[0], sums[1]
	return p, nil
}

// copyHashed copies src to dst and opt.Tee, with md5 and sha512 computed
// on their own goroutines over a ring of buffers.
func copyHashed(ctx context.Context, dst io.Writer, src io.Reader, opt WriteOptions) (int64, [2]string, error) {
	hs := [2]hash.Hash{md5.New(), sha512.New()}
	var (
		in   [2]chan []byte
		ack  [2]chan struct{}
		sums [2]string
	)
	for k := range hs {
		in[k] = make(chan []byte, buffers)
		ack[k] = make(chan struct{}, buffers)
		go func(h hash.Hash, in <-chan []byte, ack chan<- struct{}) {
			for b := range in {
				h.Write(b)
				ack <- struct{}{}
			}
			close(ack)
		}(hs[k], in[k], ack[k])
	}
	ring := make([][]byte, buffers)
	inFlight := 0
	finish := func() {
		for k := range in {
			close(in[k])
			for range ack[k] {
			}
		}
	}
	var total int64
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			finish()
			return total, sums, err
		}
		slot := i % buffers
		if inFlight == buffers {
			// Both hashers are done with the oldest buffer before it is reused.
			<-ack[0]
			<-ack[1]
			inFlight--
		}
		if ring[slot] == nil {
			ring[slot] = make([]byte, chunkSize)
		}
		n, rerr := fill(src, ring[slot])
		if n > 0 {
			total += int64(n)
			if opt.Limit > 0 && total > opt.Limit {
				finish()
				return total, sums, ErrTooLarge
			}
			b := ring[slot][:n]
			for k := range in {
				in[k] <- b
			}
			inFlight++
			if _, err := dst.Write(b); err != nil {
				finish()
				return total, sums, fmt.Errorf("image store: %w", err)
			}
			if opt.Tee != nil {
				if _, err := opt.Tee.Write(b); err != nil {
					finish()
					return total, sums, err
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			finish()
			return total, sums, rerr
		}
	}
	finish()
	for k, h := range hs {
		sums[k] = hex.EncodeToString(h.Sum(nil))
	}
	return total, sums, nil
}

// fill reads into b until it is full or the reader ends (io.EOF, with
// whatever was read).
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 && n > 0 {
			// A reader that returns nothing without an error: hand on what we have.
			return n, nil
		}
	}
	return n, nil
}

// Commit makes the data visible under the image's id and returns its
// location. An image's earlier data, if any, is replaced.
func (p *Pending) Commit() (string, error) {
	if p.done {
		return "", errors.New("image store: pending data already committed or aborted")
	}
	p.done = true
	if err := os.Rename(p.tmp, p.final); err != nil {
		os.Remove(p.tmp)
		return "", fmt.Errorf("image store: %w", err)
	}
	return p.s.Location(p.id), nil
}

// Abort discards the data. It is safe to call after Commit (it then does
// nothing), so callers may defer it.
func (p *Pending) Abort() error {
	if p.done {
		return nil
	}
	p.done = true
	if err := os.Remove(p.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("image store: %w", err)
	}
	return nil
}

// Open opens the data at a location for reading, with its size.
func (s *Store) Open(location string) (*os.File, int64, error) {
	p, err := s.Path(location)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("image store: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("image store: %w", err)
	}
	return f, st.Size(), nil
}

// Delete removes the data at a location; data already gone is not an error.
func (s *Store) Delete(location string) error {
	p, err := s.Path(location)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("image store: %w", err)
	}
	return nil
}

// Sweep removes what no image refers to: part files left by a crashed
// write and data files whose location keep rejects. Only files untouched
// for a while go, so that a write in progress in another process sharing
// the directory, or data committed a moment before its image records it,
// survives. It returns the paths removed.
func (s *Store) Sweep(keep func(location string) bool) ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		p := filepath.Join(s.dir, name)
		if strings.HasPrefix(name, ".") {
			if !strings.HasSuffix(name, partSuffix) {
				continue
			}
		} else if keep(s.Location(name)) {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < staleAfter {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}
