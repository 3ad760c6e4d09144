package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ChunkSize is the size of the chunks a volume is cut into.
const ChunkSize = 8 << 20

// Chunk is one chunk of a backed-up volume.
type Chunk struct {
	SHA256 string `json:"sha256"`
	// Zero chunks hold only zeros and have no file.
	Zero bool `json:"zero,omitempty"`
	// In names the backup whose directory holds the chunk's file.
	In string `json:"in,omitempty"`
}

// Manifest describes a backup.
type Manifest struct {
	Version   int     `json:"version"`
	BackupID  string  `json:"backup_id"`
	VolumeID  string  `json:"volume_id"`
	Size      int64   `json:"size_bytes"`
	ChunkSize int64   `json:"chunk_size"`
	ParentID  string  `json:"parent_id,omitempty"`
	Chunks    []Chunk `json:"chunks"`
	// Written counts the chunk files this backup itself holds.
	Written int `json:"written"`
}

// Repo is a backup repository rooted at a directory
// (backup_posix_path).
type Repo struct{ root string }

// New returns the repository at root, created if missing.
func New(root string) (*Repo, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("backup repository: %w", err)
	}
	return &Repo{root: root}, nil
}

// ErrNotFound: the backup is not in the repository (or is incomplete).
var ErrNotFound = errors.New("the backup's data is missing from the repository")

func validID(id string) error {
	if id == "" || strings.ContainsAny(id, "/\\") || id == "." || id == ".." {
		return fmt.Errorf("invalid backup id %q", id)
	}
	return nil
}

func (r *Repo) dir(id string) string { return filepath.Join(r.root, id) }

func chunkName(i int) string { return fmt.Sprintf("chunk-%06d", i) }

// Manifest reads a complete backup's manifest.
func (r *Repo) Manifest(id string) (*Manifest, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(r.dir(id), "manifest.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("backup %s: manifest: %w", id, err)
	}
	return &m, nil
}

// Create backs up size bytes read from src as backup id of volume
// volumeID; with parentID it is incremental on that backup. A backup
// that is already complete is left as it is (idempotent); a partial one
// is made again.
func (r *Repo) Create(ctx context.Context, id, volumeID, parentID string, src io.ReaderAt, size int64) (*Manifest, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	if m, err := r.Manifest(id); err == nil {
		return m, nil
	}
	var parent *Manifest
	if parentID != "" {
		p, err := r.Manifest(parentID)
		if err != nil {
			return nil, fmt.Errorf("parent backup %s: %w", parentID, err)
		}
		parent = p
	}
	dir := r.dir(id)
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	m := &Manifest{Version: 1, BackupID: id, VolumeID: volumeID, Size: size, ChunkSize: ChunkSize, ParentID: parentID}
	buf := make([]byte, ChunkSize)
	for i := 0; int64(i)*ChunkSize < size; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		off := int64(i) * ChunkSize
		n := int(min(ChunkSize, size-off))
		if _, err := src.ReadAt(buf[:n], off); err != nil && !(errors.Is(err, io.EOF)) {
			return nil, fmt.Errorf("read at %d: %w", off, err)
		}
		data := buf[:n]
		sum := sha256.Sum256(data)
		c := Chunk{SHA256: hex.EncodeToString(sum[:])}
		switch {
		case isZero(data):
			c.Zero = true
		case parent != nil && i < len(parent.Chunks) && parent.Chunks[i].SHA256 == c.SHA256 && !parent.Chunks[i].Zero:
			c.In = parent.Chunks[i].In
		default:
			if err := writeFile(filepath.Join(dir, chunkName(i)), data); err != nil {
				return nil, err
			}
			c.In = id
			m.Written++
		}
		m.Chunks = append(m.Chunks, c)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, ".manifest.json")
	if err := writeFile(tmp, b); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "manifest.json")); err != nil {
		return nil, err
	}
	ok = true
	return m, nil
}

func isZero(b []byte) bool {
	var zero [4096]byte
	for len(b) > 0 {
		n := min(len(b), len(zero))
		if !bytes.Equal(b[:n], zero[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

func writeFile(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Restore writes backup id's data into dst from offset 0, checking every
// chunk's sha256; zero chunks become holes where dst can punch them.
func (r *Repo) Restore(ctx context.Context, id string, dst *os.File) error {
	m, err := r.Manifest(id)
	if err != nil {
		return err
	}
	zeros := make([]byte, m.ChunkSize)
	for i, c := range m.Chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		off := int64(i) * m.ChunkSize
		n := min(m.ChunkSize, m.Size-off)
		if c.Zero {
			if err := unix.Fallocate(int(dst.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n); err != nil {
				if _, err := dst.WriteAt(zeros[:n], off); err != nil {
					return err
				}
			}
			continue
		}
		if err := validID(c.In); err != nil {
			return err
		}
		data, err := os.ReadFile(filepath.Join(r.dir(c.In), chunkName(i)))
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: chunk %d of backup %s", ErrNotFound, i, c.In)
		}
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != c.SHA256 || int64(len(data)) != n {
			return fmt.Errorf("backup %s: chunk %d is corrupt", id, i)
		}
		if _, err := dst.WriteAt(data, off); err != nil {
			return err
		}
	}
	return dst.Sync()
}

// Delete removes a backup's directory; a missing one is no error.
func (r *Repo) Delete(id string) error {
	if err := validID(id); err != nil {
		return err
	}
	return os.RemoveAll(r.dir(id))
}
