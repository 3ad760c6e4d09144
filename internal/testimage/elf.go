package testimage

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// libDirs are where the unpacked packages keep shared libraries.
var libDirs = []string{"lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib", "usr/lib"}

// resolve follows symbolic links inside the unpacked tree (absolute
// targets are taken relative to it) and returns the real file's path
// relative to it.
func (b *builder) resolve(rel string) (string, error) {
	for range 20 {
		fi, err := os.Lstat(filepath.Join(b.unpak, rel))
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return rel, nil
		}
		t, err := os.Readlink(filepath.Join(b.unpak, rel))
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(t) {
			rel = strings.TrimPrefix(filepath.Clean(t), "/")
		} else {
			rel = filepath.Clean(filepath.Join(filepath.Dir(rel), t))
		}
		if strings.HasPrefix(rel, "..") {
			return "", fmt.Errorf("testimage: link %s leaves the tree", rel)
		}
	}
	return "", fmt.Errorf("testimage: too many links at %s", rel)
}

// copyLib copies a packaged file (following links) to dst in the image.
func (b *builder) copyLib(src, dst string) error {
	real, err := b.resolve(src)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(b.unpak, real))
	if err != nil {
		return err
	}
	return b.writeFile(dst, data, 0o755)
}

// copyELF copies a binary or plugin and, transitively, every shared
// library it needs, found by its DT_NEEDED and DT_RUNPATH entries.
func (b *builder) copyELF(bin string) error {
	queue := []string{bin}
	done := map[string]bool{}
	for len(queue) > 0 {
		src := queue[0]
		queue = queue[1:]
		if done[src] {
			continue
		}
		done[src] = true
		real, err := b.resolve(src)
		if err != nil {
			return fmt.Errorf("testimage: %s: %w", src, err)
		}
		dst := merged(src)
		if err := b.copyLib(src, dst); err != nil {
			return err
		}
		if src == bin && strings.Contains(dst, "/lib/") {
			os.Chmod(filepath.Join(b.root, dst), 0o644)
		}
		f, err := elf.Open(filepath.Join(b.unpak, real))
		if err != nil {
			return fmt.Errorf("testimage: %s: %w", src, err)
		}
		needed, _ := f.ImportedLibraries()
		runpath, _ := f.DynString(elf.DT_RUNPATH)
		rpath, _ := f.DynString(elf.DT_RPATH)
		f.Close()
		dirs := slices.Clone(libDirs)
		for _, rp := range append(runpath, rpath...) {
			for _, d := range strings.Split(rp, ":") {
				d = strings.ReplaceAll(d, "$ORIGIN", "/"+filepath.Dir(src))
				dirs = append([]string{strings.TrimPrefix(filepath.Clean(d), "/")}, dirs...)
			}
		}
		for _, lib := range needed {
			if strings.HasPrefix(lib, "ld-linux") {
				continue
			}
			found := ""
			for _, d := range dirs {
				if _, err := os.Stat(filepath.Join(b.unpak, d, lib)); err == nil {
					found = filepath.Join(d, lib)
					break
				}
			}
			if found == "" {
				return fmt.Errorf("testimage: %s needs %s, which no unpacked package has (add its package to the list)", src, lib)
			}
			queue = append(queue, found)
		}
	}
	return nil
}

// module is a kernel module of the unpacked kernel.
type module struct {
	name string // with underscores
	rel  string // path below lib/modules/<version>
	deps []string
}

// kernelModules reads every module's name and dependencies from its
// .modinfo section (the package ships no modules.dep: depmod makes it at
// install time).
func (b *builder) kernelModules() (map[string]*module, error) {
	base := filepath.Join(b.unpak, "lib/modules", b.kver)
	mods := map[string]*module{}
	err := filepath.Walk(base, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || !strings.HasSuffix(p, ".ko") {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		name := strings.ReplaceAll(strings.TrimSuffix(filepath.Base(p), ".ko"), "-", "_")
		m := &module{name: name, rel: rel}
		f, err := elf.Open(p)
		if err != nil {
			return fmt.Errorf("testimage: %s: %w", rel, err)
		}
		defer f.Close()
		sec := f.Section(".modinfo")
		if sec == nil {
			return fmt.Errorf("testimage: %s has no .modinfo", rel)
		}
		data, err := sec.Data()
		if err != nil {
			return err
		}
		for _, kv := range strings.Split(string(data), "\x00") {
			if v, ok := strings.CutPrefix(kv, "depends="); ok && v != "" {
				for _, d := range strings.Split(v, ",") {
					m.deps = append(m.deps, strings.ReplaceAll(d, "-", "_"))
				}
			}
		}
		mods[name] = m
		return nil
	})
	return mods, err
}

// loadOrder lists roots and their dependencies, each after everything it
// depends on.
func loadOrder(mods map[string]*module, roots []string) ([]*module, error) {
	var order []*module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("testimage: module dependency cycle at %s", n)
		case 2:
			return nil
		}
		m := mods[n]
		if m == nil {
			return fmt.Errorf("testimage: module %s is not in the kernel package", n)
		}
		state[n] = 1
		for _, d := range m.deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, m)
		return nil
	}
	for _, r := range roots {
		if err := visit(r); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// modules copies the guest's modules into the root filesystem with a
// modules.dep that busybox modprobe reads.
func (b *builder) modules() error {
	mods, err := b.kernelModules()
	if err != nil {
		return err
	}
	order, err := loadOrder(mods, guestModules)
	if err != nil {
		return err
	}
	dst := "usr/lib/modules/" + b.kver
	var dep strings.Builder
	for _, m := range order {
		data, err := os.ReadFile(filepath.Join(b.unpak, "lib/modules", b.kver, m.rel))
		if err != nil {
			return err
		}
		if err := b.writeFile(dst+"/"+m.rel, data, 0o644); err != nil {
			return err
		}
		// modules.dep lists every dependency, the last to be loaded first.
		sub, _ := loadOrder(mods, []string{m.name})
		fmt.Fprintf(&dep, "%s:", m.rel)
		for i := len(sub) - 2; i >= 0; i-- {
			fmt.Fprintf(&dep, " %s", sub[i].rel)
		}
		dep.WriteString("\n")
	}
	if err := b.writeFile(dst+"/modules.dep", []byte(dep.String()), 0o644); err != nil {
		return err
	}
	for _, f := range []string{"modules.builtin", "modules.order", "modules.builtin.modinfo"} {
		data, err := os.ReadFile(filepath.Join(b.unpak, "lib/modules", b.kver, f))
		if err != nil {
			return err
		}
		if err := b.writeFile(dst+"/"+f, data, 0o644); err != nil {
			return err
		}
	}
	return b.writeFile("etc/modules", []byte(strings.Join(guestModules, "\n")+"\n"), 0o644)
}

// mkfs writes the root filesystem into a raw file: mkfs.ext4 -d, then
// debugfs gives every file its owner (so that a build as a user makes the
// same filesystem as one as root).
func (b *builder) mkfs(ctx context.Context, raw string) error {
	var cmds strings.Builder
	err := filepath.Walk(b.root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := setTime(p); err != nil {
			return err
		}
		rel, _ := filepath.Rel(b.root, p)
		if rel == "." {
			rel = ""
		}
		// mkfs.ext4 -d stamps the inode change and creation times with
		// the clock: fix them.
		for _, field := range []string{"atime", "mtime", "ctime", "crtime"} {
			fmt.Fprintf(&cmds, "sif /%s %s @%d\n", rel, field, epoch.Unix())
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		own := b.owners[rel]
		if strings.HasPrefix(rel, "home/"+User+"/") {
			own = [2]int{1000, 1000}
		}
		fmt.Fprintf(&cmds, "sif /%s uid %d\nsif /%s gid %d\n", rel, own[0], rel, own[1])
		return nil
	})
	if err != nil {
		return err
	}
	if err := setTime(b.root); err != nil {
		return err
	}
	for _, field := range []string{"atime", "mtime", "ctime", "crtime"} {
		fmt.Fprintf(&cmds, "sif /lost+found %s @%d\n", field, epoch.Unix())
	}
	f, err := os.Create(raw)
	if err != nil {
		return err
	}
	if err := f.Truncate(DiskSize); err != nil {
		f.Close()
		return err
	}
	f.Close()
	env := []string{"E2FSPROGS_FAKE_TIME=" + fmt.Sprint(epoch.Unix()), "SOURCE_DATE_EPOCH=" + fmt.Sprint(epoch.Unix())}
	if _, err := output(ctx, "", env, "mkfs.ext4", "-q", "-F", "-L", Label, "-U", fsUUID, "-m", "0", "-b", "4096", "-I", "256",
		"-E", "hash_seed="+fsUUID+",root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0", "-d", b.root, raw); err != nil {
		return err
	}
	// sudo is setuid root (mkfs.ext4 -d does not keep the bit).
	cmds.WriteString("sif /usr/bin/sudo mode 0104755\n")
	script := filepath.Join(b.work, "owners.debugfs")
	if err := os.WriteFile(script, []byte(cmds.String()), 0o644); err != nil {
		return err
	}
	if _, err := output(ctx, "", env, "debugfs", "-w", "-f", script, raw); err != nil {
		return err
	}
	// The superblock's times and its free-running counters, fixed.
	var sb strings.Builder
	for _, field := range []string{"mkfs_time", "wtime", "mtime", "lastcheck"} {
		fmt.Fprintf(&sb, "ssv %s %d\n", field, epoch.Unix())
	}
	sb.WriteString("ssv mnt_count 0\n")
	if err := os.WriteFile(script, []byte(sb.String()), 0o644); err != nil {
		return err
	}
	_, err = output(ctx, "", env, "debugfs", "-w", "-f", script, raw)
	return err
}

func setTime(p string) error {
	return lutimes(p, epoch)
}
