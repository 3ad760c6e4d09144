package agent

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
)

// imageCache keeps base images on the host (Nova's instances/_base): each
// image is downloaded once, however many instances boot from it at once.
type imageCache struct {
	dir    string
	images clients.Images

	mu       sync.Mutex
	inflight map[string]*fetch
}

type fetch struct {
	done chan struct{}
	img  *virt.Image
	err  error
}

// get returns the cached image, downloading it first if needed.
func (c *imageCache) get(ctx context.Context, id string) (*virt.Image, error) {
	c.mu.Lock()
	if f, ok := c.inflight[id]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err != nil {
			return nil, f.err
		}
		img := *f.img
		return &img, nil
	}
	f := &fetch{done: make(chan struct{})}
	c.inflight[id] = f
	c.mu.Unlock()

	f.img, f.err = c.download(clients.AsService(context.WithoutCancel(ctx)), id)
	close(f.done)
	if f.err != nil {
		// A failed fetch is retried by the next build.
		c.mu.Lock()
		delete(c.inflight, id)
		c.mu.Unlock()
		return nil, f.err
	}
	img := *f.img
	return &img, nil
}

func (c *imageCache) download(ctx context.Context, id string) (*virt.Image, error) {
	meta, err := c.images.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum([]byte(id))
	path := filepath.Join(c.dir, hex.EncodeToString(sum[:]))
	img := &virt.Image{ID: id, Name: meta.Name, Path: path, Format: meta.DiskFormat, Size: meta.Size}
	if st, err := os.Stat(path); err == nil && (meta.Size == 0 || st.Size() == meta.Size) {
		img.Size = st.Size()
		return img, nil
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, err
	}
	rc, err := c.images.Download(ctx, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(c.dir, ".part-*")
	if err != nil {
		return nil, err
	}
	var h hash.Hash
	switch meta.HashAlgo {
	case "sha512":
		h = sha512.New()
	case "sha384":
		h = sha512.New384()
	case "sha256":
		h = sha256.New()
	case "":
	default:
		return nil, fmt.Errorf("image %s: os_hash_algo %q is not one this host checks", id, meta.HashAlgo)
	}
	var w io.Writer = tmp
	if h != nil {
		w = io.MultiWriter(tmp, h)
	}
	n, err := io.Copy(w, rc)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && meta.Size > 0 && n != meta.Size {
		err = fmt.Errorf("image %s: got %d bytes, Glance says %d", id, n, meta.Size)
	}
	if got := ""; err == nil && h != nil {
		if got = hex.EncodeToString(h.Sum(nil)); got != meta.HashValue {
			err = fmt.Errorf("image %s: the data's %s is %s, Glance's os_hash_value is %s", id, meta.HashAlgo, got, meta.HashValue)
		}
	}
	if err != nil {
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("download image %s: %w", id, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	img.Size = n
	return img, nil
}
