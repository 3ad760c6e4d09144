package imagetest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/testimage"
)

// Shared returns the test image, built once for every test binary of this
// user (testimage.BuildShared). It skips the test when the image cannot be
// built and booted here, and fails it in CI, where scripts/install-deps
// installs what it needs.
func Shared(t testing.TB) *testimage.Image {
	t.Helper()
	if err := testimage.Missing(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real guests are tested in CI: %v", err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	img, err := testimage.BuildShared(ctx, nil)
	if err != nil {
		t.Fatalf("test image: %v", err)
	}
	return img
}
