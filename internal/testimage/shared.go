package testimage

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// SharedDir is where the image is built once for every test binary and
// every `tenku stack` of this user: $TENKU_TESTIMAGE_DIR, else the user's
// cache directory (~/.cache/tenku/testimage).
func SharedDir() (string, error) {
	if d := os.Getenv("TENKU_TESTIMAGE_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("testimage: no cache directory: %w", err)
	}
	return filepath.Join(d, "tenku", "testimage"), nil
}

// DebCache is where downloaded packages are kept between builds:
// $TENKU_TESTIMAGE_CACHE, else the user's cache directory.
func DebCache() (string, error) {
	if d := os.Getenv("TENKU_TESTIMAGE_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("testimage: no cache directory: %w", err)
	}
	return filepath.Join(d, "tenku", "testimage-debs"), nil
}

// BuildShared builds the image in SharedDir, or finds it built there, while
// holding a lock on the directory so that processes building at once wait
// for one build.
func BuildShared(ctx context.Context, log io.Writer) (*Image, error) {
	dir, err := SharedDir()
	if err != nil {
		return nil, err
	}
	debs, err := DebCache()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return nil, fmt.Errorf("testimage: lock %s: %w", dir, err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	return Build(ctx, Options{Dir: dir, CacheDir: debs, Log: log})
}

// Missing says which tool building and booting the image needs is not
// installed (scripts/install-deps installs them all), or nil.
func Missing() error {
	for _, tool := range []string{"qemu-system-x86_64", "qemu-img", "dpkg-deb", "mkfs.ext4", "debugfs", "apt-get"} {
		if _, err := lookTool(tool); err != nil {
			return fmt.Errorf("%s is not installed (scripts/install-deps installs it)", tool)
		}
	}
	return nil
}
