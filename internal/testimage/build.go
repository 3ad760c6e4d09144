package testimage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Recipe changes whenever what Build makes from the same packages changes,
// so that an older build in the output directory is made again.
const Recipe = "tenku-testimage/4"

// Label is the root filesystem's label; CommandLine finds it by it.
const Label = "tenku-root"

// CommandLine is the kernel command line for direct kernel boot (the image's
// os_command_line property).
const CommandLine = "console=tty0 console=ttyS0 root=LABEL=" + Label + " rw"

// User is the guest's login (tempest's image_ssh_user) and Password its
// console password, as cirros has one; SSH takes keys only.
const (
	User     = "cirros"
	Password = "gocubsgo"
)

// File names inside the output directory.
const (
	DiskFile     = "disk.qcow2"
	KernelFile   = "vmlinuz"
	InitrdFile   = "initrd.img"
	ManifestFile = "manifest.json"
)

// DiskSize is the disk's virtual size: small enough for m1.tiny's 1 GiB.
const DiskSize = 160 << 20

// epoch is every file's time, for builds that compare equal.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fsUUID is the root filesystem's UUID and directory hash seed.
const fsUUID = "7e4b2c1a-5d0f-4c3e-9a8b-2f6d1e0c9b7a"

// kernelMeta is the metapackage whose dependency names the kernel package.
const kernelMeta = "linux-image-cloud-amd64"

// packages are the userland packages unpacked (the kernel package is added).
var packages = []string{
	"busybox-static", "dropbear-bin", "sudo", "curl", "jq", "util-linux", "e2fsprogs", "dosfstools",
	"libpam-modules", "libpam0g", "libc6", "libgcc-s1", "zlib1g", "libcrypt1", "libaudit1", "libcap-ng0",
	"libselinux1", "libpcre2-8-0", "libtomcrypt1", "libtommath1", "libblkid1", "libmount1", "libsmartcols1",
	"libudev1", "libuuid1", "libext2fs2", "libcom-err2", "libjq1", "libonig5", "libcurl4", "libbrotli1",
	"libffi8", "libgmp10", "libgnutls30", "libgssapi-krb5-2", "libhogweed6", "libidn2-0", "libk5crypto3",
	"libkrb5-3", "libkrb5support0", "libkeyutils1", "libldap-2.5-0", "libsasl2-2", "libnettle8",
	"libnghttp2-14", "libp11-kit0", "libpsl5", "librtmp1", "libssh2-1", "libssl3", "libtasn1-6",
	"libunistring2", "libzstd1", "iputils-ping", "libcap2", "bash", "libtinfo6",
}

// binaries are copied from the unpacked packages (paths as packaged) with
// the shared libraries they need; links are extra names for them.
var binaries = []string{
	"usr/bin/curl", "usr/bin/jq", "sbin/blkid", "bin/lsblk", "sbin/mkfs", "sbin/mke2fs", "sbin/e2fsck",
	"sbin/resize2fs", "sbin/tune2fs", "sbin/mkfs.fat", "sbin/fsck.fat", "sbin/wipefs",
	"usr/sbin/dropbear", "usr/bin/dropbearkey", "usr/bin/dbclient", "usr/bin/sudo",
	"usr/libexec/sudo/sudoers.so", "lib/x86_64-linux-gnu/security/pam_permit.so", "bin/ping",
	"bin/bash",
}

var links = map[string]string{
	"usr/sbin/mkfs.ext4": "mke2fs", "usr/sbin/mkfs.ext3": "mke2fs", "usr/sbin/mkfs.ext2": "mke2fs",
	"usr/sbin/fsck.ext4": "e2fsck", "usr/sbin/e2label": "tune2fs", "usr/sbin/mkfs.vfat": "mkfs.fat",
	"usr/sbin/mkdosfs": "mkfs.fat", "usr/sbin/fsck.vfat": "fsck.fat", "usr/bin/ssh": "dbclient",
	"usr/bin/ping4": "ping", "usr/bin/ping6": "ping",
}

// initrdModules are loaded by the initramfs (with their dependencies, in
// dependency order) to find the root disk; guestModules by the root
// filesystem's init with modprobe.
var initrdModules = []string{"virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod", "ata_piix", "ata_generic", "sr_mod"}

var guestModules = []string{
	"virtio_pci", "virtio_net", "virtio_blk", "virtio_scsi", "virtio_rng", "virtio_balloon", "virtio_console",
	"ata_piix", "ata_generic", "sd_mod", "sr_mod", "button", "evdev", "isofs", "vfat", "nls_cp437",
	"nls_iso8859_1", "nls_utf8", "nls_ascii",
}

//go:embed rootfs initramfs
var files embed.FS

// Options say where the image goes.
type Options struct {
	// Dir receives disk.qcow2, vmlinuz, initrd.img and manifest.json.
	Dir string
	// CacheDir keeps downloaded .deb files (default Dir/debs).
	CacheDir string
	// Log gets one line per step (default: discarded).
	Log io.Writer
	// Force rebuilds even when Dir holds a build of the same recipe and
	// package versions.
	Force bool
}

// Image is a built image.
type Image struct {
	Disk, Kernel, Initrd string
	KernelVersion        string
	// Packages are the unpacked packages, "name=version".
	Packages []string
	// SHA256 of each output file by name.
	SHA256 map[string]string
	Recipe string
	// Reused says Build found this image already built.
	Reused bool `json:"-"`
}

// Properties are the Glance properties of the disk image (AMI-style direct
// kernel boot); kernelID and ramdiskID are the registered aki and ari images.
func Properties(kernelID, ramdiskID string) map[string]string {
	return map[string]string{
		"kernel_id": kernelID, "ramdisk_id": ramdiskID, "os_command_line": CommandLine,
		"hw_disk_bus": "virtio", "hw_vif_model": "virtio", "hw_rng_model": "virtio", "os_distro": "cirros", "os_type": "linux",
	}
}

type builder struct {
	opts  Options
	log   io.Writer
	work  string // scratch directory, removed at the end
	unpak string // unpacked packages
	root  string // the root filesystem being assembled
	kver  string
	// owners: paths (relative to root) whose owner is not root.
	owners map[string][2]int
}

// Build makes the image in opts.Dir, downloading what the cache lacks. It
// needs apt-get (or a filled cache), dpkg-deb, mkfs.ext4, debugfs and
// qemu-img.
func Build(ctx context.Context, opts Options) (*Image, error) {
	if opts.Dir == "" {
		return nil, errors.New("testimage: no output directory")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(dir, "debs")
	}
	b := &builder{opts: opts, log: opts.Log, owners: map[string][2]int{}}
	if b.log == nil {
		b.log = io.Discard
	}
	for _, tool := range []string{"dpkg-deb", "mkfs.ext4", "debugfs", "qemu-img"} {
		if _, err := lookTool(tool); err != nil {
			return nil, fmt.Errorf("testimage: %s not found (Debian packages dpkg, e2fsprogs, qemu-utils)", tool)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, err
	}
	debs, versions, err := b.fetch(ctx)
	if err != nil {
		return nil, err
	}
	if !opts.Force {
		if img, err := Load(dir); err == nil && img.Recipe == recipeID() && slices.Equal(img.Packages, versions) {
			img.Reused = true
			return img, nil
		}
	}
	b.work, err = os.MkdirTemp(dir, ".build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.work)
	b.unpak = filepath.Join(b.work, "unpacked")
	b.root = filepath.Join(b.work, "root")
	for _, d := range debs {
		if err := run(ctx, "", "dpkg-deb", "-x", d, b.unpak); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(b.log, "testimage: unpacked %d packages\n", len(debs))
	mods, err := filepath.Glob(filepath.Join(b.unpak, "lib/modules/*"))
	if err != nil || len(mods) != 1 {
		return nil, fmt.Errorf("testimage: want one kernel in the kernel package, found %v", mods)
	}
	b.kver = filepath.Base(mods[0])
	if err := b.assemble(ctx); err != nil {
		return nil, err
	}
	initrd, err := b.initramfs()
	if err != nil {
		return nil, err
	}
	// The disk carries its kernel and initramfs too, so that it is whole.
	kernel, err := os.ReadFile(filepath.Join(b.unpak, "boot", "vmlinuz-"+b.kver))
	if err != nil {
		return nil, err
	}
	if err := b.writeFile("boot/vmlinuz-"+b.kver, kernel, 0o644); err != nil {
		return nil, err
	}
	if err := b.writeFile("boot/initrd.img-"+b.kver, initrd, 0o644); err != nil {
		return nil, err
	}
	raw := filepath.Join(b.work, "disk.raw")
	if err := b.mkfs(ctx, raw); err != nil {
		return nil, err
	}
	out := &Image{Disk: filepath.Join(dir, DiskFile), Kernel: filepath.Join(dir, KernelFile), Initrd: filepath.Join(dir, InitrdFile),
		KernelVersion: b.kver, Packages: versions, Recipe: recipeID(), SHA256: map[string]string{}}
	qcow := filepath.Join(b.work, DiskFile)
	if err := run(ctx, "", "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(b.work, KernelFile), kernel, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(b.work, InitrdFile), initrd, 0o644); err != nil {
		return nil, err
	}
	for _, name := range []string{DiskFile, KernelFile, InitrdFile} {
		sum, err := fileSHA256(filepath.Join(b.work, name))
		if err != nil {
			return nil, err
		}
		out.SHA256[name] = sum
		if err := os.Rename(filepath.Join(b.work, name), filepath.Join(dir, name)); err != nil {
			return nil, err
		}
	}
	man, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), append(man, '\n'), 0o644); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.log, "testimage: built %s (kernel %s)\n", out.Disk, b.kver)
	return out, nil
}

// Load reads a built image's manifest from dir and checks its files exist.
func Load(dir string) (*Image, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	img := &Image{}
	if err := json.Unmarshal(data, img); err != nil {
		return nil, fmt.Errorf("testimage: %s: %w", ManifestFile, err)
	}
	img.Disk, img.Kernel, img.Initrd = filepath.Join(dir, DiskFile), filepath.Join(dir, KernelFile), filepath.Join(dir, InitrdFile)
	for _, f := range []string{img.Disk, img.Kernel, img.Initrd} {
		if _, err := os.Stat(f); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// recipeID names the recipe and the embedded files it writes.
func recipeID() string {
	h := sha256.New()
	h.Write([]byte(Recipe))
	fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := files.ReadFile(p)
			fmt.Fprintf(h, "%s %d\n", p, len(data))
			h.Write(data)
		}
		return nil
	})
	for _, l := range [][]string{packages, binaries, initrdModules, guestModules} {
		fmt.Fprintln(h, strings.Join(l, " "))
	}
	return Recipe + "+" + hex.EncodeToString(h.Sum(nil))[:16]
}

func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

func run(ctx context.Context, dir, name string, args ...string) error {
	_, err := output(ctx, dir, nil, name, args...)
	return err
}

func output(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	p, err := lookTool(name)
	if err != nil {
		return nil, fmt.Errorf("testimage: %s not found", name)
	}
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return nil, fmt.Errorf("testimage: %s %s: %v: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fetch finds each package's candidate version and downloads the .deb files
// the cache lacks. Without apt (or its lists), cached files are used.
func (b *builder) fetch(ctx context.Context) (debs, versions []string, err error) {
	kernel := ""
	if out, err := output(ctx, "", nil, "apt-cache", "depends", kernelMeta); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
				kernel = f[1]
				break
			}
		}
	}
	if kernel == "" {
		cached, _ := filepath.Glob(filepath.Join(b.opts.CacheDir, "linux-image-*-cloud-amd64_*.deb"))
		if len(cached) == 0 {
			return nil, nil, fmt.Errorf("testimage: cannot resolve %s (run apt-get update) and no kernel package is cached", kernelMeta)
		}
		sort.Strings(cached)
		kernel = strings.SplitN(filepath.Base(cached[len(cached)-1]), "_", 2)[0]
	}
	all := append([]string{kernel}, packages...)
	var missing []string
	want := map[string]string{}
	candidates := map[string]string{}
	if out, err := output(ctx, "", nil, "apt-cache", append([]string{"policy"}, all...)...); err == nil {
		cur := ""
		for _, line := range strings.Split(string(out), "\n") {
			if !strings.HasPrefix(line, " ") && strings.HasSuffix(line, ":") {
				cur = strings.TrimSuffix(line, ":")
			}
			if f := strings.Fields(line); len(f) == 2 && f[0] == "Candidate:" && f[1] != "(none)" && cur != "" {
				candidates[cur] = f[1]
			}
		}
	}
	for _, p := range all {
		v := candidates[p]
		if v != "" {
			want[p] = v
			if deb := b.cached(p, v); deb == "" {
				missing = append(missing, p+"="+v)
			}
			continue
		}
		// No candidate: take the newest cached file.
		cached, _ := filepath.Glob(filepath.Join(b.opts.CacheDir, p+"_*.deb"))
		if len(cached) == 0 {
			return nil, nil, fmt.Errorf("testimage: package %s has no candidate (run apt-get update) and is not cached", p)
		}
		sort.Strings(cached)
		want[p] = debVersion(filepath.Base(cached[len(cached)-1]))
	}
	if len(missing) > 0 {
		fmt.Fprintf(b.log, "testimage: downloading %d packages into %s\n", len(missing), b.opts.CacheDir)
		if err := run(ctx, b.opts.CacheDir, "apt-get", append([]string{"download", "-q"}, missing...)...); err != nil {
			return nil, nil, err
		}
	}
	for _, p := range all {
		deb := b.cached(p, want[p])
		if deb == "" {
			return nil, nil, fmt.Errorf("testimage: %s=%s is not in %s after download", p, want[p], b.opts.CacheDir)
		}
		debs = append(debs, deb)
		versions = append(versions, p+"="+want[p])
	}
	return debs, versions, nil
}

// cached is the cache's file of package p at version v, or "".
func (b *builder) cached(p, v string) string {
	esc := strings.ReplaceAll(v, ":", "%3a")
	for _, arch := range []string{"amd64", "all"} {
		f := filepath.Join(b.opts.CacheDir, p+"_"+esc+"_"+arch+".deb")
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	return ""
}

func debVersion(file string) string {
	parts := strings.Split(strings.TrimSuffix(file, ".deb"), "_")
	if len(parts) < 2 {
		return ""
	}
	return strings.ReplaceAll(parts[1], "%3a", ":")
}

// merged maps a packaged path to the merged-/usr layout of the image.
func merged(p string) string {
	for _, d := range []string{"bin/", "sbin/", "lib/", "lib64/"} {
		if strings.HasPrefix(p, d) {
			return "usr/" + p
		}
	}
	return p
}

func (b *builder) writeFile(rel string, data []byte, mode os.FileMode) error {
	p := filepath.Join(b.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	// Never write through a link (an applet's name links to busybox).
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		os.Remove(p)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

func (b *builder) symlink(rel, target string) error {
	p := filepath.Join(b.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	os.Remove(p)
	return os.Symlink(target, p)
}

// assemble builds the root filesystem tree.
func (b *builder) assemble(ctx context.Context) error {
	for _, d := range []string{"usr/bin", "usr/sbin", "usr/lib/x86_64-linux-gnu", "usr/lib64", "etc", "dev", "proc", "sys",
		"run", "tmp", "root", "mnt", "var/log", "var/lib", "home/" + User + "/.ssh", "etc/dropbear"} {
		if err := os.MkdirAll(filepath.Join(b.root, d), 0o755); err != nil {
			return err
		}
	}
	os.Chmod(filepath.Join(b.root, "tmp"), 0o1777)
	os.Chmod(filepath.Join(b.root, "root"), 0o700)
	os.Chmod(filepath.Join(b.root, "home", User, ".ssh"), 0o700)
	b.owners["home/"+User] = [2]int{1000, 1000}
	b.owners["home/"+User+"/.ssh"] = [2]int{1000, 1000}
	for l, t := range map[string]string{"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64", "var/run": "../run"} {
		if err := b.symlink(l, t); err != nil {
			return err
		}
	}
	// busybox and its applets (where no real binary takes the name).
	bb, err := os.ReadFile(filepath.Join(b.unpak, "bin/busybox"))
	if err != nil {
		return err
	}
	if err := b.writeFile("usr/bin/busybox", bb, 0o755); err != nil {
		return err
	}
	list, err := output(ctx, "", nil, filepath.Join(b.unpak, "bin/busybox"), "--list-full")
	if err != nil {
		return err
	}
	for _, bin := range binaries {
		if err := b.copyELF(bin); err != nil {
			return err
		}
	}
	for l, t := range links {
		if err := b.symlink(l, t); err != nil {
			return err
		}
	}
	// The ld.so path the binaries name.
	if err := b.copyLib("lib64/ld-linux-x86-64.so.2", "usr/lib64/ld-linux-x86-64.so.2"); err != nil {
		return err
	}
	if err := b.copyLib("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"); err != nil {
		return err
	}
	for _, applet := range strings.Fields(string(list)) {
		rel := merged(applet)
		if rel == "usr/bin/busybox" || strings.Contains(rel, "..") {
			continue
		}
		if _, err := os.Lstat(filepath.Join(b.root, rel)); err == nil {
			continue
		}
		// usr/bin/x -> busybox, usr/sbin/x -> ../bin/busybox
		target, _ := filepath.Rel(filepath.Dir(rel), "usr/bin/busybox")
		if err := b.symlink(rel, target); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(b.root, "usr/bin/sudo"), 0o4755); err != nil {
		return err
	}
	// Our files.
	err = fs.WalkDir(files, "rootfs", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, "rootfs/")
		return b.writeFile(rel, data, fileMode(rel))
	})
	if err != nil {
		return err
	}
	hash, err := output(ctx, "", nil, filepath.Join(b.unpak, "bin/busybox"), "mkpasswd", "-m", "sha512", "-S", "tenkutestimage", Password)
	if err != nil {
		return err
	}
	shadow := "root:*:20454:0:99999:7:::\n" + User + ":" + strings.TrimSpace(string(hash)) + ":20454:0:99999:7:::\n"
	if err := b.writeFile("etc/shadow", []byte(shadow), 0o640); err != nil {
		return err
	}
	if err := b.modules(); err != nil {
		return err
	}
	return nil
}

// fileMode is the mode of one of our files.
func fileMode(rel string) os.FileMode {
	switch {
	case rel == "etc/sudoers":
		return 0o440
	case strings.HasPrefix(rel, "etc/init.d/"), strings.HasPrefix(rel, "usr/bin/"), strings.HasPrefix(rel, "usr/sbin/"),
		strings.HasPrefix(rel, "usr/share/udhcpc/"), strings.HasPrefix(rel, "etc/acpi/"), strings.HasPrefix(rel, "usr/lib/tenku/"):
		return 0o755
	}
	return 0o644
}
