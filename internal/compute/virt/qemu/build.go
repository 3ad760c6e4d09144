package qemu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/linux/qemuimg"
)

// defaultCmdline is Nova's kernel command line for a direct kernel boot
// whose image names none.
const defaultCmdline = "root=/dev/vda console=tty0 console=ttyS0 console=hvc0"

// build makes the guest's disks and its QEMU command line.
func (d *Driver) build(ctx context.Context, spec *virt.Spec, dir string) (*record, error) {
	rec := &record{UUID: spec.UUID, Name: spec.Name, VCPUs: spec.Flavor.VCPUs, MemoryMB: spec.Flavor.MemoryMB, Accel: d.accel}
	if rec.Name == "" {
		rec.Name = "instance-" + spec.UUID
	}
	if rec.VCPUs <= 0 {
		rec.VCPUs = 1
	}
	if rec.MemoryMB <= 0 {
		return nil, fmt.Errorf("flavor %q has no memory", spec.Flavor.Name)
	}
	props := spec.ImageProperties
	machine := d.cfg.MachineType
	if m := props["hw_machine_type"]; m != "" {
		machine = m
	}
	if machine != "pc" && machine != "q35" && !strings.HasPrefix(machine, "pc-") {
		return nil, fmt.Errorf("image property hw_machine_type = %q: not an x86 machine this driver runs", machine)
	}
	cpu := "qemu64"
	accel := "tcg"
	if d.accel == "kvm" {
		cpu, accel = "host", "kvm"
	}
	if rec.VCPUs > 1 && accel == "tcg" {
		accel = "tcg,thread=multi"
	}
	args := []string{
		"-name", "guest=" + rec.Name + ",debug-threads=on",
		"-uuid", spec.UUID,
		"-machine", machine, "-accel", accel, "-cpu", cpu,
		"-m", strconv.Itoa(rec.MemoryMB), "-smp", strconv.Itoa(rec.VCPUs),
		"-smbios", "type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,version=tenku,serial=" + spec.UUID + ",uuid=" + spec.UUID + ",family=Virtual Machine",
		"-no-user-config", "-nodefaults", "-display", "none",
		"-qmp", "unix:" + qmpPath(dir) + ",server=on,wait=off",
		"-chardev", "file,id=charserial0,path=" + filepath.Join(dir, consoleFile) + ",append=on",
		"-device", "isa-serial,chardev=charserial0,id=serial0",
	}
	if isQ35(machine) {
		rec.RootPorts = d.rootPorts(spec)
		args = append(args, rootPortArgs(rec.RootPorts)...)
	}
	if spec.Rescue {
		return nil, virt.ErrNotSupported
	}
	// Direct kernel boot (AMI-style kernel_id / ramdisk_id).
	if spec.Kernel != "" {
		args = append(args, "-kernel", spec.Kernel)
		if spec.Ramdisk != "" {
			args = append(args, "-initrd", spec.Ramdisk)
		}
		cl := props["os_command_line"]
		if cl == "" {
			cl = defaultCmdline
		}
		args = append(args, "-append", cl)
	}
	diskBus := props["hw_disk_bus"]
	scsi, usb := false, false
	for i, dk := range spec.Disks {
		drive := fmt.Sprintf("drive-disk%d", i)
		switch dk.Kind {
		case virt.DiskRoot:
			if err := d.rootDisk(ctx, spec, dk); err != nil {
				return nil, err
			}
		case virt.DiskEphemeral, virt.DiskSwap:
			size := int64(dk.SizeGB) << 30
			if dk.Kind == virt.DiskSwap || size == 0 {
				size = int64(dk.SizeMB) << 20
			}
			if size <= 0 {
				continue
			}
			if err := keepOrCreate(ctx, dk, size); err != nil {
				return nil, err
			}
		case virt.DiskConfig:
			cd, err := cdromArgs(dk, drive, props["hw_cdrom_bus"], machine, &scsi)
			if err != nil {
				return nil, err
			}
			args = append(args, cd...)
			continue
		case virt.DiskVolume:
			// volumes go after the other devices, as hot-plugged ones do
			if err := bootVolume(spec, dk, rec); err != nil {
				return nil, err
			}
			continue
		default:
			return nil, fmt.Errorf("disk kind %q unknown", dk.Kind)
		}
		if _, err := os.Stat(dk.Path); err != nil {
			return nil, fmt.Errorf("disk %s: %w", dk.Path, err)
		}
		rec.Disks = append(rec.Disks, dk)
		args = append(args, "-drive", "file="+escape(dk.Path)+",format="+format(dk)+",if=none,id="+drive+",cache=writeback,discard=unmap")
		bus := dk.Bus
		if diskBus != "" && dk.Kind != virt.DiskVolume {
			bus = diskBus
		}
		dev := []string{}
		switch bus {
		case "", "virtio":
			dev = append(dev, "virtio-blk-pci", "drive="+drive, fmt.Sprintf("id=disk%d", i))
		case "scsi":
			if !scsi {
				args = append(args, "-device", "virtio-scsi-pci,id=scsi0")
				scsi = true
			}
			dev = append(dev, "scsi-hd", "bus=scsi0.0", "drive="+drive, fmt.Sprintf("id=disk%d", i))
		case "ide":
			dev = append(dev, "ide-hd", "bus=ide.0", "drive="+drive, fmt.Sprintf("id=disk%d", i))
		case "usb":
			// a USB stick (a stable rescue's hw_rescue_bus = usb) on one xHCI controller
			if !usb {
				args = append(args, "-device", "qemu-xhci,id=usb0")
				usb = true
			}
			dev = append(dev, "usb-storage", "bus=usb0.0", "drive="+drive, fmt.Sprintf("id=disk%d", i))
		default:
			return nil, fmt.Errorf("disk bus %q not supported by this driver", bus)
		}
		if dk.Serial != "" {
			dev = append(dev, "serial="+escape(dk.Serial))
		}
		if dk.BootIndex >= 0 && dk.Kind != virt.DiskConfig && spec.Kernel == "" {
			dev = append(dev, "bootindex="+strconv.Itoa(dk.BootIndex+1))
		}
		args = append(args, "-device", strings.Join(dev, ","))
	}
	// hw_rng_model=virtio gives the guest the host's entropy, unless the
	// flavor forbids it (hw_rng:allowed=False), as Nova's libvirt driver.
	if props["hw_rng_model"] == "virtio" && !strings.EqualFold(spec.Flavor.ExtraSpecs["hw_rng:allowed"], "false") {
		args = append(args, "-object", "rng-random,id=rng0,filename=/dev/urandom", "-device", "virtio-rng-pci,rng=rng0,id=rng0dev")
	}
	nics, err := portArgs(spec.NICs, props["hw_vif_model"], rec)
	if err != nil {
		return nil, err
	}
	rec.Args = append(args, nics...)
	return rec, nil
}

// bootVolume records a volume a guest boots with.
func bootVolume(spec *virt.Spec, dk virt.Disk, rec *record) error {
	v, err := newVolume(dk)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dk.Path); err != nil {
		return fmt.Errorf("volume %s: %w", volumeKey(dk), err)
	}
	// a volume boots only a guest that has no root disk of its own
	if dk.BootIndex >= 0 && spec.Kernel == "" && !hasRoot(spec.Disks) {
		v.BootIndex = dk.BootIndex + 1
	}
	if rec.RootPorts > 0 {
		// after the NICs' ports (portArgs), so it can be unplugged
		v.PCIe, v.Slot = true, len(spec.NICs)+len(rec.Volumes)
	}
	rec.Volumes = append(rec.Volumes, v)
	return nil
}

// cdromArgs put the config drive on the bus hw_cdrom_bus names; scsi
// says the virtio-scsi controller is there already (and is set when it is
// added).
func cdromArgs(dk virt.Disk, drive, bus, machine string, scsi *bool) ([]string, error) {
	args := []string{"-drive", "file=" + escape(dk.Path) + ",format=raw,if=none,id=" + drive + ",readonly=on"}
	switch {
	case bus == "scsi":
		// a kernel without SATA (q35's CD-ROMs) reads it here
		if !*scsi {
			args = append(args, "-device", "virtio-scsi-pci,id=scsi0")
			*scsi = true
		}
		return append(args, "-device", "scsi-cd,bus=scsi0.0,drive="+drive+",id=cdrom0"), nil
	case bus == "" || bus == "ide" || bus == "sata" && isQ35(machine):
		// IDE on pc; on q35 ide.1 is the AHCI controller's second port (SATA)
		return append(args, "-device", "ide-cd,bus=ide.1,unit=0,drive="+drive+",id=cdrom0"), nil
	}
	return nil, fmt.Errorf("image property hw_cdrom_bus = %q: not supported on the %s machine (ide, scsi; sata on q35)", bus, machine)
}

// portArgs is the -netdev and -device pair of each port, in the device model
// hw_vif_model names; it records each port's tap in rec.
func portArgs(nics []virt.NIC, model string, rec *record) ([]string, error) {
	var args []string
	for i, n := range nics {
		if _, err := net.ParseMAC(n.MAC); err != nil {
			return nil, fmt.Errorf("port %s: bad MAC %q", n.PortID, n.MAC)
		}
		tap := tapFor(n)
		rec.Taps = append(rec.Taps, tap)
		id := fmt.Sprintf("hostnet%d", i)
		args = append(args, "-netdev", "tap,id="+id+",ifname="+tap.Name+",script=no,downscript=no")
		dev := ""
		switch model {
		case "", "virtio":
			dev = "virtio-net-pci,netdev=" + id + ",mac=" + n.MAC + fmt.Sprintf(",id=net%d", i)
			if n.MTU > 0 {
				dev += ",host_mtu=" + strconv.Itoa(n.MTU)
			}
		case "e1000", "rtl8139":
			dev = model + ",netdev=" + id + ",mac=" + n.MAC + fmt.Sprintf(",id=net%d", i)
		default:
			return nil, fmt.Errorf("image property hw_vif_model = %q: not supported by this driver", model)
		}
		if rec.RootPorts > 0 {
			// on a root port of its own, so it can be unplugged
			dev += rootPortBus(i)
		}
		args = append(args, "-device", dev)
	}
	return args, nil
}

func format(dk virt.Disk) string {
	if dk.Format == "" {
		return "qcow2"
	}
	return dk.Format
}

// escape doubles commas, QEMU's escape inside an option value.
func escape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// rootDisk makes the root disk: a qcow2 overlay on the cached base image,
// grown to the flavor's root size. A base in a format QEMU should not read
// directly is converted to raw beside it once.
func (d *Driver) rootDisk(ctx context.Context, spec *virt.Spec, dk virt.Disk) error {
	if kept, err := keepDisk(ctx, dk, int64(dk.SizeGB)<<30); kept || err != nil {
		return err
	}
	base := dk.BackingFile
	if base == "" {
		base = spec.Image.Path
	}
	if base == "" {
		return errors.New("root disk: no base image")
	}
	bfmt := spec.Image.Format
	switch bfmt {
	case "raw", "qcow2":
	case "":
		bfmt = "raw"
	case "vmdk", "vdi", "vhd", "vhdx", "qed":
		qf := bfmt
		if qf == "vhd" {
			qf = "vpc"
		}
		raw := base + ".raw"
		if _, err := os.Stat(raw); err != nil {
			tmp := raw + ".part"
			if err := qemuimg.Convert(ctx, base, qf, tmp, "raw"); err != nil {
				os.Remove(tmp)
				return err
			}
			if err := os.Rename(tmp, raw); err != nil {
				return err
			}
		}
		base, bfmt = raw, "raw"
	default:
		return fmt.Errorf("image %s: disk_format %q cannot back a root disk", spec.Image.ID, bfmt)
	}
	info, err := qemuimg.Inspect(ctx, base, bfmt)
	if err != nil {
		return err
	}
	if info.BackingFile != "" {
		return fmt.Errorf("image %s has a backing file: refused", spec.Image.ID)
	}
	if info.FormatSpecific != nil && info.FormatSpecific.Data.DataFile != "" {
		return fmt.Errorf("image %s has an external data file: refused", spec.Image.ID)
	}
	size := int64(dk.SizeGB) << 30
	if size > 0 && size < info.VirtualSize {
		//lint:ignore ST1005 Nova's own message, shown to the user in the instance fault
		return fmt.Errorf("Flavor's disk is too small for requested image. Flavor disk is %d bytes, image is %d bytes.", size, info.VirtualSize)
	}
	return qemuimg.CreateOverlay(ctx, dk.Path, base, bfmt, size)
}

// keepDisk keeps a disk the instance has already (a resize on this host, a
// rescue, a spawn on kept disks), grown to size when that is bigger, as
// Nova resizes a migrated disk; it reports false when there is none.
func keepDisk(ctx context.Context, dk virt.Disk, size int64) (bool, error) {
	if _, err := os.Stat(dk.Path); errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	info, err := qemuimg.Inspect(ctx, dk.Path, format(dk))
	if err != nil {
		return true, fmt.Errorf("the instance's disk %s: %w", dk.Path, err)
	}
	if size > info.VirtualSize {
		return true, qemuimg.Resize(ctx, dk.Path, format(dk), size)
	}
	return true, nil
}

// keepOrCreate keeps an ephemeral or swap disk that exists, else makes it.
func keepOrCreate(ctx context.Context, dk virt.Disk, size int64) error {
	if kept, err := keepDisk(ctx, dk, size); kept || err != nil {
		return err
	}
	return qemuimg.Create(ctx, dk.Path, format(dk), size)
}

func hasRoot(ds []virt.Disk) bool {
	for _, d := range ds {
		if d.Kind == virt.DiskRoot {
			return true
		}
	}
	return false
}
