package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/virt"
	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// Event names of the build, as instance action events show them: Nova's
// own, and one per phase of the seed's boot sequence.
const (
	EventBuild      = "compute__do_build_and_run_instance"
	EventNetworking = "compute_build_networking"
	EventBDM        = "compute_build_block_device_mapping"
	EventSpawning   = "compute_build_spawning"
	EventTerminate  = "compute_terminate_instance"
)

func withAuthFrom(dst, src context.Context) context.Context {
	if a := authn.From(src); a != nil {
		return authn.With(dst, a)
	}
	return dst
}

// buildError is a failed build phase: whether to reschedule, and the cause.
type buildError struct {
	phase      string
	reschedule bool
	err        error
}

func (e *buildError) Error() string { return e.err.Error() }

// build runs the boot sequence of one instance on this host.
func (a *Agent) build(ctx context.Context, args rpc.BuildArgs) {
	uuid, reqID := args.InstanceUUID, args.RequestID
	unlock := a.locks.lock(uuid)
	defer unlock()
	bctx, cancel := context.WithCancel(ctx)
	a.mu.Lock()
	a.building[uuid] = cancel
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.building, uuid)
		a.mu.Unlock()
		cancel()
	}()
	// The build slot ([DEFAULT] max_concurrent_builds) is held while the
	// build works, and given up while it only waits for Neutron's
	// network-vif-plugged events.
	held := false
	acquire := func() bool {
		select {
		case a.builds <- struct{}{}:
			held = true
			return true
		case <-bctx.Done():
			return false
		}
	}
	release := func() {
		if held {
			<-a.builds
			held = false
		}
	}
	defer release()
	if !acquire() {
		return
	}
	log := a.log.With("instance_id", uuid, "request_id", reqID)
	// Metrics: each phase's time and outcome, and the whole build's.
	met, buildAt, phaseAt, phase, outcome := a.bus.Metrics(), time.Now(), time.Now(), "", "abandoned"
	enter := func(p string) {
		if phase != "" {
			met.BuildPhase(phase, "ok", time.Since(phaseAt))
		}
		phase, phaseAt = p, time.Now()
	}
	defer func() {
		if phase != "" {
			met.BuildPhase(phase, outcome, time.Since(phaseAt))
		}
		met.BuildPhase("build", outcome, time.Since(buildAt))
	}()
	fail := func(inst *objects.Instance, vifs []objects.VIF, be *buildError, spawned bool) {
		outcome = "error"
		if be.reschedule && a.cfg.Scheduler.MaxAttempts > 1 {
			outcome = "rescheduled"
		}
		a.buildFailed(ctx, inst, args, vifs, be, spawned)
	}

	// networking: ports created, bound to this host, plugged.
	enter("networking")
	net := states.Networking
	inst, err := a.save(ctx, rpc.Save{UUID: uuid, Update: rpc.Update{TaskState: &net},
		Expect: rpc.Expect{VM: []states.VM{states.Building}, Task: []states.Task{states.Scheduling}, Host: &a.host},
		Start:  []rpc.EventRef{{RequestID: reqID, Event: EventBuild, Host: a.host}, {RequestID: reqID, Event: EventNetworking, Host: a.host}}})
	if err != nil {
		log.Info("build abandoned: the instance changed", "err", err)
		return
	}
	log.Info("building instance", "vm_state", "building", "task_state", "networking")
	vifs, err := a.allocateNetworks(bctx, inst, release, acquire)
	if err != nil && bctx.Err() != nil {
		// Deleted while its ports were being made: nothing to reschedule.
		a.abandon(ctx, uuid, vifs, log, bctx.Err())
		return
	}
	if err != nil {
		fail(inst, vifs, &buildError{EventNetworking, isTransient(err), err}, false)
		return
	}

	// block_device_mapping: the image in the local cache, the disks planned.
	enter("block_device_mapping")
	bdm := states.BlockDeviceMapping
	inst, err = a.save(ctx, rpc.Save{UUID: uuid, Update: rpc.Update{TaskState: &bdm, NetworkInfo: &vifs},
		Expect: rpc.Expect{Task: []states.Task{states.Networking}},
		Finish: []rpc.EventRef{{RequestID: reqID, Event: EventNetworking}},
		Start:  []rpc.EventRef{{RequestID: reqID, Event: EventBDM, Host: a.host}}})
	if err != nil {
		a.abandon(ctx, uuid, vifs, log, err)
		return
	}
	log.Info("networks allocated", "task_state", "block_device_mapping", "ports", len(vifs))
	spec, err := a.specFor(bctx, inst, vifs, args.AdminPass)
	if err != nil && bctx.Err() != nil {
		a.abandon(ctx, uuid, vifs, log, bctx.Err())
		return
	}
	if err != nil {
		fail(inst, vifs, &buildError{EventBDM, isTransient(err), err}, false)
		return
	}

	// spawning: the hypervisor creates and starts the guest.
	enter("spawning")
	spawning := states.Spawning
	root := "/dev/vda"
	inst, err = a.save(ctx, rpc.Save{UUID: uuid, Update: rpc.Update{TaskState: &spawning, RootDeviceName: &root},
		Expect: rpc.Expect{Task: []states.Task{states.BlockDeviceMapping}},
		Finish: []rpc.EventRef{{RequestID: reqID, Event: EventBDM}},
		Start:  []rpc.EventRef{{RequestID: reqID, Event: EventSpawning, Host: a.host}}})
	if err != nil {
		a.abandon(ctx, uuid, vifs, log, err)
		return
	}
	log.Info("spawning", "task_state", "spawning")
	if err := a.drv.Spawn(bctx, spec); err != nil {
		if bctx.Err() != nil {
			a.abandon(ctx, uuid, vifs, log, bctx.Err())
			return
		}
		fail(inst, vifs, &buildError{EventSpawning, true, err}, true)
		return
	}
	power := states.PowerRunning
	if info, err := a.drv.Info(ctx, ref(inst)); err == nil {
		power = info.Power
	}
	active, none, now := states.Active, states.NoTask, a.now().UTC()
	_, err = a.save(ctx, rpc.Save{UUID: uuid,
		Update: rpc.Update{VMState: &active, TaskState: &none, PowerState: &power, LaunchedAt: &now},
		Expect: rpc.Expect{Task: []states.Task{states.Spawning}},
		Finish: []rpc.EventRef{{RequestID: reqID, Event: EventSpawning}, {RequestID: reqID, Event: EventBuild}}})
	if err != nil {
		// Deleted while spawning: the guest must not outlive its record.
		a.destroyGuest(ctx, ref(inst), "build")
		a.abandon(ctx, uuid, vifs, log, err)
		return
	}
	outcome = "ok"
	log.Info("instance active", "vm_state", "active", "power_state", power.String())
}

// abandon cleans up a build whose instance was deleted or changed under it.
func (a *Agent) abandon(ctx context.Context, uuid string, vifs []objects.VIF, log interface {
	Info(string, ...any)
}, cause error) {
	log.Info("build abandoned", "err", cause)
	a.deallocateNetworks(ctx, uuid, vifs)
}

// isTransient reports whether a failure may go away on another host.
func isTransient(err error) bool {
	var f *fault.Error
	if errors.As(err, &f) {
		return f.Status >= 500 || f.Type == "VirtualInterfaceCreateException"
	}
	return true
}

// buildFailed cleans up what the build made and either hands the instance
// back to the conductor to try another host, or puts it in ERROR.
func (a *Agent) buildFailed(ctx context.Context, inst *objects.Instance, args rpc.BuildArgs, vifs []objects.VIF, be *buildError, spawned bool) {
	log := a.log.With("instance_id", inst.UUID, "request_id", args.RequestID)
	if spawned {
		if err := a.drv.Destroy(ctx, ref(inst), virt.DestroyOptions{}); err != nil {
			log.Warn("cleanup after failed spawn", "err", err)
		}
	}
	a.deallocateNetworks(ctx, inst.UUID, vifs)
	a.removeDir(ctx, inst.UUID, filepath.Join(a.dir, inst.UUID))
	msg := be.err.Error()
	finish := []rpc.EventRef{{RequestID: args.RequestID, Event: be.phase, Error: msg}, {RequestID: args.RequestID, Event: EventBuild, Error: msg}}
	if be.reschedule && a.cfg.Scheduler.MaxAttempts > 1 {
		if err := a.cond.Record(ctx, rpc.RecordArgs{UUID: inst.UUID, Finish: finish}); err != nil {
			log.Warn("record failed build", "err", err)
		}
		log.Warn("build failed, rescheduling", "phase", be.phase, "err", be.err)
		if err := a.cond.Reschedule(ctx, rpc.RescheduleRequest{InstanceUUID: inst.UUID, Failed: objects.HostNode{Host: a.host, Node: inst.Node},
			Reason: msg, AdminPass: args.AdminPass, RequestID: args.RequestID, Alternates: args.Alternates}); err != nil {
			log.Error("reschedule failed", "err", err)
		}
		return
	}
	vm, none := states.Error, states.NoTask
	code := 500
	var f *fault.Error
	if errors.As(be.err, &f) && f.Status < 500 {
		code = f.Status
	}
	_, err := a.save(ctx, rpc.Save{UUID: inst.UUID, Update: rpc.Update{VMState: &vm, TaskState: &none},
		Expect: rpc.Expect{VM: []states.VM{states.Building}},
		Finish: finish, Fault: &objects.Fault{Code: code, Message: "Build of instance " + inst.UUID + " aborted: " + msg, Host: a.host}})
	if err != nil {
		log.Info("could not record the failed build", "err", err)
		return
	}
	log.Warn("build failed", "vm_state", "error", "phase", be.phase, "err", be.err)
}

// allocateNetworks creates or takes the requested ports, binds them to this
// host and waits for Neutron to report them plugged. It returns the VIFs
// made so far even on failure, for cleanup.
//
// While it waits for network-vif-plugged it calls release, and acquire
// after (either may be nil); a false acquire means ctx ended.
func (a *Agent) allocateNetworks(ctx context.Context, inst *objects.Instance, release func(), acquire func() bool) ([]objects.VIF, error) {
	rs := inst.RequestSpec
	if rs == nil || rs.NetworkMode == "none" || len(rs.Networks) == 0 {
		return []objects.VIF{}, nil
	}
	// Neutron calls are not cut short by a delete: a port whose creation
	// was cancelled mid-request may exist all the same and then leak. The
	// loop checks ctx between calls instead.
	sctx := clients.AsService(context.WithoutCancel(ctx))
	owner := "compute:" + inst.AvailabilityZone
	if inst.AvailabilityZone == "" {
		owner = "compute:" + a.cfg.Default.DefaultAvailabilityZone
	}
	var vifs []objects.VIF
	var waits []eventKey
	chans := map[string]<-chan string{}
	defer func() {
		for _, k := range waits {
			a.waiters.drop(k)
		}
	}()
	for _, req := range rs.Networks {
		if err := ctx.Err(); err != nil {
			return vifs, err
		}
		var port *clients.Port
		var err error
		preserve := req.PortID != ""
		if preserve {
			port, err = a.net.Port(sctx, req.PortID)
		} else {
			pc := clients.PortCreate{NetworkID: req.NetworkID, ProjectID: inst.ProjectID, DeviceID: inst.UUID, DeviceOwner: owner}
			if req.FixedIP != "" {
				pc.FixedIPs = []clients.FixedIP{{IPAddress: req.FixedIP}}
			}
			if len(rs.SecurityGroups) > 0 {
				pc.SecurityGroups = rs.SecurityGroups
			}
			port, err = a.net.CreatePort(sctx, pc)
		}
		if err != nil {
			return vifs, fmt.Errorf("allocate port on network %s: %w", req.NetworkID, err)
		}
		vif := objects.VIF{ID: port.ID, Address: port.MACAddress, NetworkID: port.NetworkID, Devname: tapName(port.ID), Tag: req.Tag, Preserve: preserve}
		vifs = append(vifs, vif)
		k := eventKey{uuid: inst.UUID, name: "network-vif-plugged", tag: port.ID}
		if a.cfg.Default.VIFPluggingTimeout > 0 {
			waits = append(waits, k)
			chans[port.ID] = a.waiters.prepare(k)
		}
		if err := ctx.Err(); err != nil {
			return vifs, err
		}
		bound, err := a.net.BindPort(sctx, port.ID, clients.PortBinding{HostID: a.host, DeviceID: inst.UUID, DeviceOwner: owner})
		if err != nil {
			return vifs, fmt.Errorf("bind port %s: %w", port.ID, err)
		}
		if err := a.fillVIF(sctx, &vifs[len(vifs)-1], bound); err != nil {
			return vifs, err
		}
	}
	// The guest's devices exist before Neutron is waited for: a real
	// data plane reports a port up only once its tap is on its bridge.
	if p, ok := a.drv.(virt.VIFPlugger); ok {
		if err := p.PlugVIFs(ctx, ref(inst), nicsOf(vifs)); err != nil {
			return vifs, fmt.Errorf("plug VIFs: %w", err)
		}
	}
	if a.cfg.Default.VIFPluggingTimeout <= 0 {
		return vifs, nil
	}
	pending := false
	for _, v := range vifs {
		pending = pending || !v.Active
	}
	if !pending {
		return vifs, nil
	}
	if release != nil {
		release()
	}
	err := a.waitPlugged(ctx, inst, vifs, chans)
	if acquire != nil && !acquire() {
		return vifs, ctx.Err()
	}
	return vifs, err
}

// pluggedRecheck is how often a build waiting for network-vif-plugged
// reads its ports' status from Neutron as well.
const pluggedRecheck = 3 * time.Second

// waitPlugged waits for Neutron to report every port of vifs plugged, up to
// vif_plugging_timeout. Besides the events, it reads the status of the port
// it waits for every pluggedRecheck: a port Neutron has ACTIVE is plugged,
// as Nova takes a port already ACTIVE when it binds. Neutron's server sends
// its events in batches from memory, so one that dies between setting a
// port ACTIVE and sending the batch loses the event; the build then goes
// on seconds later instead of failing after vif_plugging_timeout.
func (a *Agent) waitPlugged(ctx context.Context, inst *objects.Instance, vifs []objects.VIF, chans map[string]<-chan string) error {
	deadline := time.NewTimer(a.cfg.Default.VIFPluggingTimeout)
	defer deadline.Stop()
	recheck := time.NewTicker(pluggedRecheck)
	defer recheck.Stop()
	for i := range vifs {
		v := &vifs[i]
		for !v.Active {
			select {
			case status := <-chans[v.ID]:
				if status == "failed" {
					return &fault.Error{Status: 500, Type: "VirtualInterfaceCreateException", Message: "Virtual Interface creation failed: port " + v.ID + " failed to plug"}
				}
				v.Active = true
			case <-recheck.C:
				if p, err := a.net.Port(clients.AsService(ctx), v.ID); err == nil && p.Status == "ACTIVE" {
					a.log.InfoContext(ctx, "port ACTIVE without its network-vif-plugged event", "instance_id", inst.UUID, "port_id", v.ID)
					v.Active = true
				}
			case <-deadline.C:
				if a.cfg.Default.VIFPluggingIsFatal {
					return &fault.Error{Status: 500, Type: "VirtualInterfaceCreateException",
						Message: fmt.Sprintf("Virtual Interface creation failed: timed out after %s waiting for network-vif-plugged of port %s", a.cfg.Default.VIFPluggingTimeout, v.ID)}
				}
				a.log.WarnContext(ctx, "timed out waiting for network-vif-plugged; continuing (vif_plugging_is_fatal is off)", "instance_id", inst.UUID, "port_id", v.ID)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// tapName is Nova's tap device name for a port, as api/network defines it
// for the data planes too.
func tapName(portID string) string { return netapi.TapName(portID) }

// fillVIF completes a VIF with what the bound port and its network say.
func (a *Agent) fillVIF(ctx context.Context, v *objects.VIF, p *clients.Port) error {
	v.Address, v.Type, v.VNIC, v.Details = p.MACAddress, p.BindingVIFType, p.BindingVNICType, p.BindingVIFDetails
	v.Active = p.Status == "ACTIVE"
	if b, ok := p.BindingVIFDetails["bridge_name"].(string); ok {
		v.Bridge = b
	}
	nw, err := a.net.Network(ctx, p.NetworkID)
	if err != nil {
		return err
	}
	v.NetworkLabel, v.MTU = nw.Name, nw.MTU
	v.IPs = v.IPs[:0]
	for _, ip := range p.FixedIPs {
		x := objects.IP{Address: ip.IPAddress, Version: 4, Type: "fixed", SubnetID: ip.SubnetID}
		if strings.Contains(ip.IPAddress, ":") {
			x.Version = 6
		}
		if sn, err := a.net.Subnet(ctx, ip.SubnetID); err == nil {
			x.Gateway, x.CIDR, x.Version, x.DHCP, x.DNS = sn.GatewayIP, sn.CIDR, sn.IPVersion, sn.EnableDHCP, sn.DNSNameservers
		}
		v.IPs = append(v.IPs, x)
	}
	if fips, err := a.net.FloatingIPs(ctx, []string{p.ID}); err == nil {
		for _, f := range fips {
			v.IPs = append(v.IPs, objects.IP{Address: f.FloatingIPAddress, Version: 4, Type: "floating"})
		}
	}
	return nil
}

// deallocateNetworks removes the host-side devices of an instance's ports
// (a guest that never spawned still has them once plugged), deletes the
// ports the compute service made and unbinds those the user brought.
func (a *Agent) deallocateNetworks(ctx context.Context, uuid string, vifs []objects.VIF) {
	if p, ok := a.drv.(virt.VIFPlugger); ok && len(vifs) > 0 {
		if err := p.UnplugVIFs(ctx, virt.Ref{UUID: uuid}, nicsOf(vifs)); err != nil {
			a.log.WarnContext(ctx, "unplugging VIFs failed", "instance_id", uuid, "err", err)
		}
	}
	sctx := clients.AsService(ctx)
	seen := map[string]bool{}
	for _, v := range vifs {
		seen[v.ID] = true
		var err error
		if v.Preserve {
			err = a.net.UnbindPort(sctx, v.ID)
		} else {
			err = a.net.DeletePort(sctx, v.ID)
		}
		if err != nil {
			a.log.WarnContext(ctx, "port cleanup failed", "instance_id", uuid, "port_id", v.ID, "err", err)
		}
	}
	// Ports made by an interrupted allocation are found by device id.
	ports, err := a.net.Ports(sctx, uuid)
	if err != nil {
		return
	}
	for _, p := range ports {
		if !seen[p.ID] && strings.HasPrefix(p.DeviceOwner, "compute:") {
			a.note(ctx, "deleting port", uuid, a.net.DeletePort(sctx, p.ID), "port_id", p.ID)
		}
	}
}

// specFor resolves everything the hypervisor needs: the image in the cache,
// the disks, the NICs, the user data.
func (a *Agent) specFor(ctx context.Context, inst *objects.Instance, vifs []objects.VIF, adminPass string) (*virt.Spec, error) {
	idir := filepath.Join(a.dir, inst.UUID)
	if err := os.MkdirAll(idir, 0o755); err != nil {
		return nil, err
	}
	spec := &virt.Spec{
		Ref: ref(inst), Hostname: inst.Hostname, ProjectID: inst.ProjectID, UserID: inst.UserID,
		Flavor: virt.Flavor{Name: inst.Flavor.Name, VCPUs: inst.Flavor.VCPUs, MemoryMB: inst.Flavor.MemoryMB, RootGB: inst.Flavor.RootGB,
			EphemeralGB: inst.Flavor.EphemeralGB, SwapMB: inst.Flavor.Swap, ExtraSpecs: inst.Flavor.ExtraSpecs},
		InstanceDir: idir, Metadata: inst.Metadata, AdminPass: adminPass, PublicKeys: map[string]string{},
	}
	if inst.KeyName != "" {
		spec.PublicKeys[inst.KeyName] = inst.KeyData
	}
	if inst.UserData != "" {
		if b, err := base64.StdEncoding.DecodeString(inst.UserData); err == nil {
			spec.UserData = b
		}
	}
	rs := inst.RequestSpec
	if rs == nil {
		rs = &objects.RequestSpec{}
	}
	spec.ImageProperties = rs.Image.Properties
	if inst.ImageRef != "" {
		img, err := a.cache.get(ctx, inst.ImageRef)
		if err != nil {
			return nil, fmt.Errorf("fetch image %s: %w", inst.ImageRef, err)
		}
		spec.Image = *img
	}
	// An AMI-style image boots its kernel and ramdisk directly; they are
	// images of their own, cached like the root.
	for _, k := range []struct {
		prop string
		dst  *string
	}{{"kernel_id", &spec.Kernel}, {"ramdisk_id", &spec.Ramdisk}} {
		id := spec.ImageProperties[k.prop]
		if id == "" {
			continue
		}
		img, err := a.cache.get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("fetch image %s (%s of %s): %w", id, k.prop, inst.ImageRef, err)
		}
		*k.dst = img.Path
	}
	rootGB := inst.Flavor.RootGB
	if rootGB == 0 && spec.Image.Size > 0 {
		rootGB = int((spec.Image.Size + 1<<30 - 1) >> 30)
	}
	dev := 'a'
	next := func() string { d := "/dev/vd" + string(dev); dev++; return d }
	rootDev := next()
	if !rs.BootFromVolume {
		spec.Disks = append(spec.Disks, virt.Disk{Kind: virt.DiskRoot, Path: filepath.Join(idir, "disk"), Format: "qcow2",
			BackingFile: spec.Image.Path, SizeGB: rootGB, Bus: "virtio", DeviceName: rootDev, BootIndex: 0})
	}
	eph := 0
	for _, b := range rs.BlockDevices {
		if b.DestinationType != "local" || b.SourceType != "blank" {
			continue
		}
		size := inst.Flavor.EphemeralGB
		if b.VolumeSize != nil {
			size = *b.VolumeSize
		}
		if b.GuestFormat == "swap" {
			spec.Disks = append(spec.Disks, virt.Disk{Kind: virt.DiskSwap, Path: filepath.Join(idir, "disk.swap"), Format: "qcow2", SizeMB: size * 1024, Bus: "virtio", DeviceName: next(), BootIndex: -1, GuestFormat: "swap"})
			continue
		}
		spec.Disks = append(spec.Disks, virt.Disk{Kind: virt.DiskEphemeral, Path: filepath.Join(idir, fmt.Sprintf("disk.eph%d", eph)), Format: "qcow2", SizeGB: size, Bus: "virtio", DeviceName: next(), BootIndex: -1, GuestFormat: b.GuestFormat})
		eph++
	}
	if eph == 0 && inst.Flavor.EphemeralGB > 0 {
		spec.Disks = append(spec.Disks, virt.Disk{Kind: virt.DiskEphemeral, Path: filepath.Join(idir, "disk.eph0"), Format: "qcow2", SizeGB: inst.Flavor.EphemeralGB, Bus: "virtio", DeviceName: next(), BootIndex: -1})
	}
	if inst.Flavor.Swap > 0 && !hasKind(spec.Disks, virt.DiskSwap) {
		spec.Disks = append(spec.Disks, virt.Disk{Kind: virt.DiskSwap, Path: filepath.Join(idir, "disk.swap"), Format: "qcow2", SizeMB: inst.Flavor.Swap, Bus: "virtio", DeviceName: next(), BootIndex: -1, GuestFormat: "swap"})
	}
	if err := a.connectBuildVolumes(ctx, inst, spec, rootDev, next); err != nil {
		return nil, err
	}
	if wantsConfigDrive(inst.ConfigDrive) || a.cfg.Default.ForceConfigDrive {
		p, err := writeConfigDrive(inst, vifs, spec)
		if err != nil {
			return nil, fmt.Errorf("config drive: %w", err)
		}
		spec.ConfigDrive = p
		spec.Disks = append(spec.Disks, virt.Disk{Kind: virt.DiskConfig, Path: p, Format: "raw", Bus: "ide", DeviceName: "/dev/hdd", BootIndex: -1})
	}
	spec.NICs = append(spec.NICs, nicsOf(vifs)...)
	if err := a.reconnectVolumes(ctx, inst, spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// nicsOf is the hypervisor's view of an instance's VIFs.
func nicsOf(vifs []objects.VIF) []virt.NIC {
	var out []virt.NIC
	for _, v := range vifs {
		n := virt.NIC{PortID: v.ID, NetworkID: v.NetworkID, MAC: v.Address, Tap: v.Devname, Bridge: v.Bridge, MTU: v.MTU, VIFType: v.Type}
		for _, ip := range v.IPs {
			if ip.Type == "fixed" {
				n.IPs = append(n.IPs, ip.Address)
			}
		}
		out = append(out, n)
	}
	return out
}

func hasKind(ds []virt.Disk, kind string) bool {
	for _, d := range ds {
		if d.Kind == kind {
			return true
		}
	}
	return false
}

func (a *Agent) handleTerminate(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := decode[rpc.InstanceArgs](raw)
	if err != nil {
		return nil, err
	}
	// A build in flight stops at its next step.
	a.mu.Lock()
	if cancel := a.building[args.InstanceUUID]; cancel != nil {
		cancel()
	}
	a.mu.Unlock()
	a.goWork(ctx, "terminate", args.InstanceUUID, func(ctx context.Context) { a.terminate(ctx, args) })
	return nil, nil
}

// terminate destroys an instance and its ports, then has the conductor mark
// it deleted (which frees its quota and claims).
func (a *Agent) terminate(ctx context.Context, args rpc.InstanceArgs) {
	o := a.lockOp(EventTerminate, args)
	defer o.done()
	if o.load(ctx, true, func(i *objects.Instance) bool { return !i.Deleted }) != nil {
		return
	}
	inst := o.inst
	log := a.log.With("instance_id", inst.UUID, "request_id", args.RequestID)
	o.start(ctx)
	if err := a.drv.Destroy(ctx, ref(inst), virt.DestroyOptions{}); err != nil && !errors.Is(err, virt.ErrNotFound) {
		vm, none := states.Error, states.NoTask
		o.fail(ctx, "Delete", rpc.Save{Update: rpc.Update{VMState: &vm, TaskState: &none}}, err)
		log.Error("destroy failed", "vm_state", "error", "err", err)
		return
	}
	a.deallocateNetworks(ctx, inst.UUID, inst.NetworkInfo)
	a.detachVolumes(ctx, inst)
	a.removeDir(ctx, inst.UUID, filepath.Join(a.dir, inst.UUID))
	a.dropResizeBackup(inst.UUID)
	if err := a.cond.Destroyed(ctx, rpc.DestroyedArgs{UUID: inst.UUID, RequestID: args.RequestID,
		Finish: []rpc.EventRef{o.finishRef(nil)}}); err != nil {
		log.Error("could not mark the instance deleted", "err", err)
		return
	}
	log.Info("instance destroyed", "vm_state", "deleted")
}
