package backup

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFullIncrementalRestore(t *testing.T) {
	ctx := context.Background()
	r, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	size := int64(3*ChunkSize + 4096)
	vol := filepath.Join(t.TempDir(), "vol")
	f, err := os.Create(vol)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Truncate(size)
	f.WriteAt([]byte("first"), 10)
	f.WriteAt([]byte("third"), 2*ChunkSize+7)
	f.WriteAt([]byte("tail"), 3*ChunkSize+1)

	full, err := r.Create(ctx, "full", "vol", "", f, size)
	if err != nil {
		t.Fatal(err)
	}
	if full.Written != 3 || len(full.Chunks) != 4 || !full.Chunks[1].Zero {
		t.Fatalf("full backup %+v", full)
	}
	if again, err := r.Create(ctx, "full", "vol", "", f, size); err != nil || again.Written != 3 {
		t.Fatalf("not idempotent: %+v %v", again, err)
	}
	f.WriteAt([]byte("THIRD"), 2*ChunkSize+7)
	inc, err := r.Create(ctx, "inc", "vol", "full", f, size)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Written != 1 || inc.Chunks[0].In != "full" || inc.Chunks[2].In != "inc" {
		t.Fatalf("incremental %+v", inc)
	}
	want, _ := os.ReadFile(vol)
	for _, id := range []string{"inc", "full"} {
		out := filepath.Join(t.TempDir(), "out")
		g, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		// Old data in the target is overwritten, zeros included.
		g.Truncate(size)
		g.WriteAt(bytes.Repeat([]byte{0xff}, 64), ChunkSize+5)
		if err := r.Restore(ctx, id, g); err != nil {
			t.Fatal(err)
		}
		g.Close()
		got, _ := os.ReadFile(out)
		exp := want
		if id == "full" {
			exp = bytes.Clone(want)
			copy(exp[2*ChunkSize+7:], "third")
		}
		if !bytes.Equal(got, exp) {
			t.Fatalf("restore of %s differs", id)
		}
	}
	// A corrupt chunk is refused.
	os.WriteFile(filepath.Join(r.root, "inc", chunkName(2)), []byte("junk"), 0o600)
	g, _ := os.Create(filepath.Join(t.TempDir(), "x"))
	defer g.Close()
	if err := r.Restore(ctx, "inc", g); err == nil {
		t.Fatal("corrupt chunk restored")
	}
	if err := r.Delete("inc"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Manifest("inc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted backup: %v", err)
	}
	if err := r.Delete("inc"); err != nil {
		t.Fatal("delete is not idempotent")
	}
	if _, err := r.Create(ctx, "orphan", "vol", "missing", f, size); err == nil {
		t.Fatal("incremental on a missing parent")
	}
	if _, err := os.Stat(filepath.Join(r.root, "orphan")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("failed backup left its directory")
	}
}
