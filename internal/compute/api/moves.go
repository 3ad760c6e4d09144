package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func decodeBase64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// conductorCall hands a move to the conductor, putting the task back when no
// conductor takes it.
//
// release is quota the task holds (a resize's growth): it goes back in the
// same transaction as the task, only when that compare-and-swap wins, for a
// call that timed out may still have reached a conductor that goes on.
func (a *API) conductorCall(ctx context.Context, inst *objects.Instance, task states.Task, method string, args any, release map[string]int) error {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := a.d.Bus.Call(cctx, rpc.ConductorSubject, method, args, nil); err != nil {
		none := states.NoTask
		u := store.Update{TaskState: &none}
		if task == states.ResizePrep {
			u.ClearNewFlavor = true
		}
		a.d.Store.Save(context.WithoutCancel(ctx), store.Save{UUID: inst.UUID, Update: u, Expect: store.Expect{Task: []states.Task{task}}, Release: release})
		if f, ok := err.(*fault.Error); ok && f.Status < 500 {
			return f
		}
		return fault.Unavailable("No conductor is available: %v", err)
	}
	return nil
}

func (a *API) actResize(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:resize", inst); err != nil {
		return nil, err
	}
	var args map[string]any
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute resize.")
	}
	var fref string
	switch v := args["flavorRef"].(type) {
	case string:
		fref = v
	case float64:
		fref = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return nil, fault.BadRequest("Invalid input for field/attribute flavorRef. 'flavorRef' is a required property")
	}
	for k := range args {
		if k != "flavorRef" && k != "OS-DCF:diskConfig" {
			return nil, fault.BadRequest("Invalid input for field/attribute resize. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	if fref == "" {
		return nil, fault.BadRequest("Resize requires a flavor change.")
	}
	fl, err := a.d.Store.Flavor(ctx, lastSegment(fref))
	if err != nil {
		if fault.IsNotFound(err) {
			return nil, fault.BadRequest("Unable to locate requested flavor.")
		}
		return nil, err
	}
	if !fl.IsPublic && !isAdmin(r) {
		if ok, _ := a.d.Store.HasFlavorAccess(ctx, fl, inst.ProjectID); !ok {
			return nil, fault.BadRequest("Unable to locate requested flavor.")
		}
	}
	if fl.Disabled {
		return nil, fault.BadRequest("Flavor %s is disabled.", fl.FlavorID)
	}
	if fl.FlavorID == inst.Flavor.FlavorID {
		return nil, fault.BadRequest("When resizing, instances must change flavor!").WithType("CannotResizeToSameFlavor")
	}
	if fl.RootGB < inst.Flavor.RootGB && fl.RootGB != 0 {
		return nil, fault.BadRequest("Resize error: Unable to resize disk down.").WithType("CannotResizeDisk")
	}
	if err := states.Check(states.ActResize, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	if !a.hostUp(ctx, inst.Host) {
		return nil, fault.Conflict("Service is unavailable at this time.").WithType("ServiceUnavailable")
	}
	// Growth takes quota now (Nova reserves the delta); shrinking gives it
	// back at confirm.
	dc, dr := fl.VCPUs-inst.Flavor.VCPUs, fl.MemoryMB-inst.Flavor.MemoryMB
	grow := map[string]int{}
	if dc > 0 {
		grow["cores"] = dc
	}
	if dr > 0 {
		grow["ram"] = dr
	}
	if len(grow) > 0 {
		res, err := a.quota.reservation(ctx, inst.ProjectID, inst.UserID, grow)
		if err != nil {
			return nil, err
		}
		if err := a.d.Store.Reserve(ctx, res); err != nil {
			return nil, storeErr(err)
		}
	}
	ru := store.Update{NewFlavor: fl}
	if v, ok := args["OS-DCF:diskConfig"]; ok {
		s, _ := str(v)
		if s != "AUTO" && s != "MANUAL" {
			return nil, fault.BadRequest("Invalid input for field/attribute OS-DCF:diskConfig. Value: %v. It is not one of ['AUTO', 'MANUAL']", v)
		}
		b := s == "AUTO"
		ru.AutoDiskConfig = &b
	}
	saved, err := a.startTask(ctx, r, inst, states.ActResize, "resize", ru)
	if err != nil {
		if len(grow) > 0 {
			a.d.Store.Release(context.WithoutCancel(ctx), inst.ProjectID, inst.UserID, grow)
		}
		return nil, err
	}
	ra := rpc.ResizeArgs{InstanceArgs: a.args(ctx), NewFlavor: fl}
	ra.InstanceUUID = inst.UUID
	if err := a.conductorCall(ctx, saved, states.ResizePrep, rpc.MigrateServer, ra, grow); err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}

func (a *API) actMigrate(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-migrate-server:migrate", inst); err != nil {
		return nil, err
	}
	var args map[string]any
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &args); err != nil || !r.Version.AtLeast(rest.V(2, 56)) && len(args) > 0 {
			return nil, fault.BadRequest("Invalid input for field/attribute migrate. Value: %s.", raw)
		}
	}
	host, _ := str(args["host"])
	if host != "" {
		if err := a.enforceFor(ctx, r, "os_compute_api:os-migrate-server:migrate:host", inst); err != nil {
			return nil, err
		}
		if nodes, err := a.d.Store.Nodes(ctx, host); err != nil || len(nodes) == 0 {
			return nil, fault.BadRequest("Compute host %s could not be found.", host)
		}
	}
	if err := states.Check(states.ActMigrate, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	saved, err := a.startTask(ctx, r, inst, states.ActMigrate, "migrate", store.Update{})
	if err != nil {
		return nil, err
	}
	ra := rpc.ResizeArgs{InstanceArgs: a.args(ctx), DestHost: host}
	ra.InstanceUUID = inst.UUID
	if err := a.conductorCall(ctx, saved, states.ResizePrep, rpc.MigrateServer, ra, nil); err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}

// pendingResize returns the migration of a resize waiting for confirmation.
func (a *API) pendingResize(ctx context.Context, inst *objects.Instance) (*objects.Migration, error) {
	ms, err := a.d.Store.Migrations(ctx, store.MigrationFilter{InstanceUUID: inst.UUID, Status: "finished"})
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, fault.BadRequest("Instance has not been resized.").WithType("MigrationNotFoundByStatus")
	}
	return ms[0], nil
}

func (a *API) actConfirmResize(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:confirm_resize", inst); err != nil {
		return nil, err
	}
	if err := states.Check(states.ActConfirmResize, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	m, err := a.pendingResize(ctx, inst)
	if err != nil {
		return nil, err
	}
	confirming := "confirming"
	if _, err := a.d.Store.UpdateMigration(ctx, m.UUID, store.MigrationUpdate{Status: &confirming, ExpectStatus: []string{"finished"}}); err != nil {
		return nil, fault.Conflict("Instance %s is already being confirmed or reverted.", inst.UUID)
	}
	saved, err := a.startTask(ctx, r, inst, states.ActConfirmResize, "confirmResize", store.Update{})
	if err != nil {
		back := "finished"
		a.d.Store.UpdateMigration(context.WithoutCancel(ctx), m.UUID, store.MigrationUpdate{Status: &back})
		return nil, err
	}
	ra := rpc.ResizeArgs{InstanceArgs: a.args(ctx), MigrationUUID: m.UUID}
	ra.InstanceUUID = inst.UUID
	if err := a.callHost(ctx, m.SourceCompute, rpc.ConfirmResize, ra); err != nil {
		back := "finished"
		a.d.Store.UpdateMigration(context.WithoutCancel(ctx), m.UUID, store.MigrationUpdate{Status: &back})
		return nil, fault.Conflict("Compute service of %s is unavailable at this time.", m.SourceCompute)
	}
	_ = saved
	return &rest.Response{Status: http.StatusNoContent}, nil
}

func (a *API) actRevertResize(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:revert_resize", inst); err != nil {
		return nil, err
	}
	if err := states.Check(states.ActRevertResize, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	m, err := a.pendingResize(ctx, inst)
	if err != nil {
		return nil, err
	}
	reverting := "reverting"
	if _, err := a.d.Store.UpdateMigration(ctx, m.UUID, store.MigrationUpdate{Status: &reverting, ExpectStatus: []string{"finished"}}); err != nil {
		return nil, fault.Conflict("Instance %s is already being confirmed or reverted.", inst.UUID)
	}
	saved, err := a.startTask(ctx, r, inst, states.ActRevertResize, "revertResize", store.Update{})
	if err != nil {
		back := "finished"
		a.d.Store.UpdateMigration(context.WithoutCancel(ctx), m.UUID, store.MigrationUpdate{Status: &back})
		return nil, err
	}
	ra := rpc.ResizeArgs{InstanceArgs: a.args(ctx), MigrationUUID: m.UUID}
	ra.InstanceUUID = inst.UUID
	if err := a.hostCall(ctx, saved, states.ResizeReverting, rpc.RevertResize, ra); err != nil {
		back := "finished"
		a.d.Store.UpdateMigration(context.WithoutCancel(ctx), m.UUID, store.MigrationUpdate{Status: &back})
		return nil, err
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}

func (a *API) actLiveMigrate(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-migrate-server:migrate_live", inst); err != nil {
		return nil, err
	}
	var args map[string]any
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute os-migrateLive.")
	}
	if _, ok := args["block_migration"]; !ok {
		return nil, fault.BadRequest("Invalid input for field/attribute os-migrateLive. 'block_migration' is a required property")
	}
	if _, ok := args["host"]; !ok {
		return nil, fault.BadRequest("Invalid input for field/attribute os-migrateLive. 'host' is a required property")
	}
	block := false
	switch v := args["block_migration"].(type) {
	case bool:
		block = v
	case string:
		if v == "auto" && r.Version.AtLeast(rest.V(2, 25)) {
			block = true
		} else if b, err := queryBool("block_migration", v); err == nil {
			block = b
		} else {
			return nil, fault.BadRequest("Invalid input for field/attribute block_migration. Value: %s.", v)
		}
	}
	host, _ := str(args["host"])
	if host != "" {
		if host == inst.Host {
			return nil, fault.BadRequest("The supplied hypervisor type of is invalid: the destination is the instance's own host.").WithType("InvalidHypervisorType")
		}
		if !a.hostUp(ctx, host) {
			if nodes, _ := a.d.Store.Nodes(ctx, host); len(nodes) == 0 {
				return nil, fault.BadRequest("Compute host %s could not be found.", host).WithType("ComputeHostNotFound")
			}
			return nil, fault.BadRequest("Compute service of %s is unavailable at this time.", host).WithType("ComputeServiceUnavailable")
		}
	}
	if err := states.Check(states.ActLiveMigrate, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	saved, err := a.startTask(ctx, r, inst, states.ActLiveMigrate, "live-migration", store.Update{})
	if err != nil {
		return nil, err
	}
	la := rpc.LiveMigrationArgs{InstanceArgs: a.args(ctx), DestHost: host, BlockMigration: block}
	la.InstanceUUID = inst.UUID
	if err := a.conductorCall(ctx, saved, states.Migrating, rpc.LiveMigrate, la, nil); err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}

func (a *API) actEvacuate(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-evacuate", inst); err != nil {
		return nil, err
	}
	var args map[string]any
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, fault.BadRequest("Invalid input for field/attribute evacuate.")
		}
	}
	if _, ok := args["onSharedStorage"]; ok && r.Version.AtLeast(rest.V(2, 14)) {
		return nil, fault.BadRequest("Invalid input for field/attribute evacuate. Additional properties are not allowed ('onSharedStorage' was unexpected)")
	}
	host, _ := str(args["host"])
	target, _ := str(args["targetState"])
	if host != "" {
		if host == inst.Host {
			return nil, fault.BadRequest("The target host can't be the same one.")
		}
		if nodes, err := a.d.Store.Nodes(ctx, host); err != nil || len(nodes) == 0 {
			return nil, fault.NotFound("Compute host %s not found.", host).WithType("ComputeHostNotFound")
		}
	}
	if a.hostUp(ctx, inst.Host) {
		return nil, fault.Conflict("Compute service of %s is still in use.", inst.Host).WithType("ComputeServiceInUse")
	}
	pass := ""
	if v, ok := args["adminPass"]; ok {
		pass, _ = str(v)
	} else if !r.Version.AtLeast(rest.V(2, 14)) {
		pass = generatePassword(a.cfg.Default.PasswordLength)
	}
	saved, err := a.startTask(ctx, r, inst, states.ActEvacuate, "evacuate", store.Update{})
	if err != nil {
		return nil, err
	}
	ea := rpc.RebuildArgs{InstanceArgs: a.args(ctx), ImageRef: inst.ImageRef, AdminPass: pass, Recreate: true, Node: host, TargetState: target}
	ea.InstanceUUID = inst.UUID
	if err := a.conductorCall(ctx, saved, states.Rebuilding, rpc.Evacuate, ea, nil); err != nil {
		return nil, err
	}
	if !r.Version.AtLeast(rest.V(2, 14)) && a.cfg.API.EnableInstancePassword {
		return map[string]any{"adminPass": pass}, nil
	}
	return &rest.Response{Status: http.StatusOK}, nil
}

func (a *API) actShelve(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-shelve:shelve", inst); err != nil {
		return nil, err
	}
	if err := states.Check(states.ActShelve, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	img, err := a.snapshotImage(ctx, inst, inst.DisplayName+"-shelved", map[string]string{"image_type": "snapshot"})
	if err != nil {
		return nil, err
	}
	u := store.Update{SysMeta: map[string]string{"shelved_at": isoMicro(a.d.Now()), "shelved_image_id": img.ID, "shelved_host": inst.Host}}
	saved, err := a.startTask(ctx, r, inst, states.ActShelve, "shelve", u)
	if err != nil {
		a.d.Images.Delete(clients.AsService(ctx), img.ID)
		return nil, err
	}
	args := a.args(ctx)
	args.InstanceUUID = inst.UUID
	if err := a.hostCall(ctx, saved, states.Shelving, rpc.ShelveInstance, args); err != nil {
		a.d.Images.Delete(clients.AsService(ctx), img.ID)
		return nil, err
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}

func (a *API) actShelveOffload(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-shelve:shelve_offload", inst); err != nil {
		return nil, err
	}
	saved, err := a.startTask(ctx, r, inst, states.ActShelveOffload, "shelveOffload", store.Update{})
	if err != nil {
		return nil, err
	}
	args := a.args(ctx)
	args.InstanceUUID = inst.UUID
	if err := a.hostCall(ctx, saved, states.ShelvingOffloading, rpc.ShelveOffload, args); err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}

func (a *API) actUnshelve(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-shelve:unshelve", inst); err != nil {
		return nil, err
	}
	var args map[string]any
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &args); err != nil || !r.Version.AtLeast(rest.V(2, 77)) {
			return nil, fault.BadRequest("Invalid input for field/attribute unshelve. Value: %s. %s is not of type 'null'", raw, raw)
		}
	}
	for k := range args {
		if k != "availability_zone" && !(k == "host" && r.Version.AtLeast(rest.V(2, 91))) {
			return nil, fault.BadRequest("Invalid input for field/attribute unshelve. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	ua := rpc.UnshelveArgs{InstanceArgs: a.args(ctx)}
	ua.InstanceUUID = inst.UUID
	rs := inst.RequestSpec
	if rs == nil {
		rs = &objects.RequestSpec{}
	}
	if v, ok := args["availability_zone"]; ok {
		if inst.VMState != states.ShelvedOffloaded {
			return nil, fault.Conflict("The availability_zone of an instance can be changed only when it is shelved offloaded.")
		}
		if v == nil {
			rs.AvailabilityZone = ""
		} else {
			az, _ := str(v)
			zones, err := a.zones(ctx)
			if err != nil {
				return nil, err
			}
			if !zones[az] {
				return nil, fault.BadRequest("The requested availability zone is not available")
			}
			rs.AvailabilityZone = az
		}
	}
	if h, _ := str(args["host"]); h != "" {
		if err := a.enforceFor(ctx, r, "os_compute_api:os-shelve:unshelve_to_host", inst); err != nil {
			return nil, err
		}
		if inst.VMState != states.ShelvedOffloaded {
			return nil, fault.Conflict("The host of an instance can be chosen only when it is shelved offloaded.")
		}
		if nodes, _ := a.d.Store.Nodes(ctx, h); len(nodes) == 0 {
			return nil, fault.BadRequest("Compute host %s could not be found.", h)
		}
		rs.Destination = &objects.HostNode{Host: h}
	}
	saved, err := a.startTask(ctx, r, inst, states.ActUnshelve, "unshelve", store.Update{RequestSpec: rs})
	if err != nil {
		return nil, err
	}
	if saved.VMState == states.Shelved && saved.Host != "" {
		ua.Node = saved.Node
		if err := a.hostCall(ctx, saved, states.Unshelving, rpc.UnshelveOnHost, ua); err != nil {
			return nil, err
		}
	} else if err := a.conductorCall(ctx, saved, states.Unshelving, rpc.Unshelve, ua, nil); err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}
