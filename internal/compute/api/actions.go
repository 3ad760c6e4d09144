package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

func (a *API) actionRoutes() []rest.Route {
	return []rest.Route{{Method: "POST", Path: "/v2.1/servers/{server_id}/action", Handler: a.serverAction}}
}

// actionFunc serves one server action: the instance is loaded, args is the
// value under the action's key.
type actionFunc func(ctx context.Context, r *rest.Request, inst *objects.Instance, args json.RawMessage) (any, error)

type actionDef struct {
	fn       actionFunc
	min, max rest.Version
}

func (a *API) actions() map[string]actionDef {
	return map[string]actionDef{
		"reboot":              {fn: a.actReboot},
		"os-stop":             {fn: a.simpleAct(states.ActStop, "stop", "os_compute_api:servers:stop", rpc.StopInstance)},
		"os-start":            {fn: a.simpleAct(states.ActStart, "start", "os_compute_api:servers:start", rpc.StartInstance)},
		"pause":               {fn: a.simpleAct(states.ActPause, "pause", "os_compute_api:os-pause-server:pause", rpc.PauseInstance)},
		"unpause":             {fn: a.simpleAct(states.ActUnpause, "unpause", "os_compute_api:os-pause-server:unpause", rpc.UnpauseInstance)},
		"suspend":             {fn: a.simpleAct(states.ActSuspend, "suspend", "os_compute_api:os-suspend-server:suspend", rpc.SuspendInstance)},
		"resume":              {fn: a.simpleAct(states.ActResume, "resume", "os_compute_api:os-suspend-server:resume", rpc.ResumeInstance)},
		"unrescue":            {fn: a.simpleAct(states.ActUnrescue, "unrescue", "os_compute_api:os-unrescue", rpc.UnrescueInstance)},
		"trigger_crash_dump":  {fn: a.simpleAct(states.ActTriggerCrashDump, "trigger_crash_dump", "os_compute_api:servers:trigger_crash_dump", rpc.TriggerCrashDump), min: rest.V(2, 17)},
		"injectNetworkInfo":   {fn: a.simpleAct(states.ActInjectNetworkInfo, "inject_network_info", "os_compute_api:os-admin-actions:inject_network_info", rpc.InjectNetworkInfo)},
		"resetNetwork":        {fn: a.simpleAct(states.ActResetNetwork, "reset_network", "os_compute_api:os-admin-actions:reset_network", rpc.ResetNetwork)},
		"lock":                {fn: a.actLock},
		"unlock":              {fn: a.actUnlock},
		"rescue":              {fn: a.actRescue},
		"os-resetState":       {fn: a.actResetState},
		"os-getConsoleOutput": {fn: a.actConsoleOutput},
		"changePassword":      {fn: a.actChangePassword},
		"createImage":         {fn: a.actCreateImage},
		"createBackup":        {fn: a.actCreateBackup},
		"rebuild":             {fn: a.actRebuild},
		"resize":              {fn: a.actResize},
		"confirmResize":       {fn: a.actConfirmResize},
		"revertResize":        {fn: a.actRevertResize},
		"migrate":             {fn: a.actMigrate},
		"os-migrateLive":      {fn: a.actLiveMigrate},
		"evacuate":            {fn: a.actEvacuate},
		"shelve":              {fn: a.actShelve},
		"shelveOffload":       {fn: a.actShelveOffload},
		"unshelve":            {fn: a.actUnshelve},
		"restore":             {fn: a.actRestore},
		"forceDelete":         {fn: a.actForceDelete},
		"addSecurityGroup":    {fn: a.actSecurityGroup(true)},
		"removeSecurityGroup": {fn: a.actSecurityGroup(false)},
		"os-getVNCConsole":    {fn: a.actConsole("vnc"), max: rest.V(2, 5)},
		"os-getSPICEConsole":  {fn: a.actConsole("spice"), max: rest.V(2, 5)},
		"os-getRDPConsole":    {fn: a.actConsole("rdp"), max: rest.V(2, 5)},
		"os-getSerialConsole": {fn: a.actConsole("serial"), max: rest.V(2, 5)},
		"addFloatingIp":       {fn: a.actAddFloatingIP, max: rest.V(2, 43)},
		"removeFloatingIp":    {fn: a.actRemoveFloatingIP, max: rest.V(2, 43)},
		"addFixedIp":          {fn: a.actAddFixedIP, max: rest.V(2, 43)},
		"removeFixedIp":       {fn: a.actRemoveFixedIP, max: rest.V(2, 43)},
	}
}

func (a *API) serverAction(ctx context.Context, r *rest.Request) (any, error) {
	raw, err := r.RawJSON()
	if err != nil {
		return nil, err
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, fault.BadRequest("Malformed request body: %v", err)
	}
	if len(body) != 1 {
		return nil, fault.BadRequest("There is either no or more than one action in the request body.")
	}
	defs := a.actions()
	for name, args := range body {
		def, ok := defs[name]
		if !ok || !r.Version.Matches(def.min, def.max) {
			return nil, fault.NotFound("There is no such action: %s", name)
		}
		inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{})
		if err != nil {
			return nil, err
		}
		return def.fn(ctx, r, inst, args)
	}
	return nil, nil
}

// startTask checks an action's guard and moves the instance into the action's
// task state with a CAS, recording the action; extra changes go in the same
// save.
func (a *API) startTask(ctx context.Context, r *rest.Request, inst *objects.Instance, act states.Action, name string, extra store.Update) (*objects.Instance, error) {
	if err := states.Check(act, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	g := states.Guards[act]
	u := extra
	if g.Next != states.NoTask || act == states.ActConfirmResize {
		next := g.Next
		u.TaskState = &next
	}
	saved, err := a.d.Store.Save(ctx, store.Save{UUID: inst.UUID, Update: u, Expect: store.Expect{VM: g.VM, Task: g.Task}})
	if err != nil {
		if un, ok := store.IsUnexpected(err); ok && !un.Gone {
			return nil, states.Invalid(act, inst.UUID, un.Found)
		}
		return nil, storeErr(err)
	}
	project, user := caller(r)
	if _, err := a.d.Store.StartAction(ctx, store.ActionStart{Action: name, InstanceUUID: inst.UUID, RequestID: logging.RequestID(ctx), UserID: user, ProjectID: project}); err != nil {
		return nil, err
	}
	a.log.InfoContext(ctx, "action accepted", "instance_id", inst.UUID, "action", name, "task_state", saved.TaskState)
	return saved, nil
}

// hostCall hands an action to the instance's agent; when the agent does not
// answer, the task state goes back and the caller gets a 409.
func (a *API) hostCall(ctx context.Context, inst *objects.Instance, task states.Task, method string, args any) error {
	if err := a.callHost(ctx, inst.Host, method, args); err != nil {
		if task != states.NoTask {
			none := states.NoTask
			a.d.Store.Save(context.WithoutCancel(ctx), store.Save{UUID: inst.UUID, Update: store.Update{TaskState: &none}, Expect: store.Expect{Task: []states.Task{task}}})
		}
		var f *fault.Error
		if e, ok := err.(*fault.Error); ok && e.Status < 500 {
			return e
		}
		f = fault.Conflict("Compute service of %s is unavailable at this time.", inst.Host).WithType("ComputeServiceUnavailable")
		return f
	}
	return nil
}

func (a *API) args(ctx context.Context) rpc.InstanceArgs {
	return rpc.InstanceArgs{RequestID: logging.RequestID(ctx)}
}

// simpleAct is an action whose whole work is the agent's.
func (a *API) simpleAct(act states.Action, name, rule, method string) actionFunc {
	return func(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
		if err := a.enforceFor(ctx, r, rule, inst); err != nil {
			return nil, err
		}
		if len(raw) > 0 && string(raw) != "null" && string(raw) != "{}" {
			return nil, fault.BadRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'null'", name, raw, raw)
		}
		saved, err := a.startTask(ctx, r, inst, act, name, store.Update{})
		if err != nil {
			return nil, err
		}
		args := a.args(ctx)
		args.InstanceUUID = inst.UUID
		if err := a.hostCall(ctx, saved, states.Guards[act].Next, method, args); err != nil {
			return nil, err
		}
		return &rest.Response{Status: http.StatusAccepted}, nil
	}
}

func (a *API) actReboot(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:reboot", inst); err != nil {
		return nil, err
	}
	var args struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &args); err != nil || (strings.ToUpper(args.Type) != "SOFT" && strings.ToUpper(args.Type) != "HARD") {
		return nil, fault.BadRequest("Invalid input for field/attribute type. Value: %s. It is not one of ['HARD', 'Hard', 'SOFT', 'Soft', 'hard', 'soft']", args.Type)
	}
	hard := strings.EqualFold(args.Type, "HARD")
	act, name := states.ActRebootSoft, "reboot"
	if hard {
		act = states.ActRebootHard
	}
	saved, err := a.startTask(ctx, r, inst, act, name, store.Update{})
	if err != nil {
		return nil, err
	}
	ra := rpc.RebootArgs{InstanceArgs: a.args(ctx), Hard: hard}
	ra.InstanceUUID = inst.UUID
	if err := a.hostCall(ctx, saved, states.Guards[act].Next, rpc.RebootInstance, ra); err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}

func (a *API) actLock(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-lock-server:lock", inst); err != nil {
		return nil, err
	}
	var args struct {
		Reason *string `json:"locked_reason"`
	}
	if len(raw) > 0 && string(raw) != "null" {
		if !r.Version.AtLeast(rest.V(2, 73)) {
			var m map[string]any
			if json.Unmarshal(raw, &m) != nil || len(m) > 0 {
				return nil, fault.BadRequest("Invalid input for field/attribute lock. Value: %s. %s is not of type 'null'", raw, raw)
			}
		}
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, fault.BadRequest("Invalid input for field/attribute lock. Value: %s.", raw)
		}
		if args.Reason != nil && len(*args.Reason) > 255 {
			return nil, fault.BadRequest("Invalid input for field/attribute locked_reason. It is too long")
		}
	}
	project, _ := caller(r)
	by := "owner"
	if inst.ProjectID != project {
		by = "admin"
	}
	u := store.Update{LockedBy: &by}
	if args.Reason != nil {
		u.SysMeta = map[string]string{"locked_reason": *args.Reason}
	}
	if _, err := a.startTask(ctx, r, inst, states.ActLock, "lock", u); err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}

func (a *API) actUnlock(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-lock-server:unlock", inst); err != nil {
		return nil, err
	}
	project, _ := caller(r)
	if inst.LockedBy == "admin" && inst.ProjectID == project && !isAdmin(r) {
		if err := a.enforceFor(ctx, r, "os_compute_api:os-lock-server:unlock:unlock_override", inst); err != nil {
			return nil, err
		}
	}
	empty := ""
	if _, err := a.startTask(ctx, r, inst, states.ActUnlock, "unlock", store.Update{LockedBy: &empty, SysMetaDelete: []string{"locked_reason"}}); err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}

func (a *API) actRescue(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-rescue", inst); err != nil {
		return nil, err
	}
	var args struct {
		AdminPass      *string `json:"adminPass"`
		RescueImageRef string  `json:"rescue_image_ref"`
	}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, fault.BadRequest("Invalid input for field/attribute rescue. Value: %s.", raw)
		}
	}
	if args.RescueImageRef != "" {
		id := lastSegment(args.RescueImageRef)
		img, err := a.d.Images.Get(ctx, id)
		if err != nil {
			if fault.IsNotFound(err) {
				return nil, fault.BadRequest("Image %s could not be found.", id)
			}
			return nil, err
		}
		args.RescueImageRef = img.ID
	}
	pass := generatePassword(a.cfg.Default.PasswordLength)
	if args.AdminPass != nil {
		pass = *args.AdminPass
	}
	saved, err := a.startTask(ctx, r, inst, states.ActRescue, "rescue", store.Update{})
	if err != nil {
		return nil, err
	}
	ra := rpc.RescueArgs{InstanceArgs: a.args(ctx), ImageRef: args.RescueImageRef, AdminPass: pass}
	ra.InstanceUUID = inst.UUID
	if err := a.hostCall(ctx, saved, states.Rescuing, rpc.RescueInstance, ra); err != nil {
		return nil, err
	}
	if a.cfg.API.EnableInstancePassword {
		return map[string]any{"adminPass": pass}, nil
	}
	return map[string]any{}, nil
}

func (a *API) actResetState(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-admin-actions:reset_state", inst); err != nil {
		return nil, err
	}
	var args struct {
		State string `json:"state"`
	}
	if err := json.Unmarshal(raw, &args); err != nil || (args.State != "active" && args.State != "error") {
		return nil, fault.BadRequest("Invalid input for field/attribute state. Value: %s. It is not one of ['active', 'error']", args.State)
	}
	vm := states.VM(args.State)
	none := states.NoTask
	if _, err := a.startTask(ctx, r, inst, states.ActResetState, "resetState", store.Update{VMState: &vm, TaskState: &none}); err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}

func (a *API) actConsoleOutput(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-console-output", inst); err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil && string(raw) != "null" {
		return nil, fault.BadRequest("Invalid input for field/attribute os-getConsoleOutput. Value: %s.", raw)
	}
	length := -1
	if v, ok := m["length"]; ok && v != nil {
		n, err := intParam("length", v, -1, 0x7FFFFFFF)
		if err != nil {
			return nil, err
		}
		length = n
	}
	for k := range m {
		if k != "length" {
			return nil, fault.BadRequest("Invalid input for field/attribute os-getConsoleOutput. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	if err := states.Check(states.ActConsoleOutput, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	if inst.VMState == states.Building {
		return nil, fault.Conflict("Instance %s is not ready", inst.UUID).WithType("InstanceNotReady")
	}
	var out map[string]string
	ca := rpc.ConsoleArgs{InstanceArgs: a.args(ctx), Length: length}
	ca.InstanceUUID = inst.UUID
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.d.Bus.Call(cctx, rpc.ComputeSubject(inst.Host), rpc.GetConsoleOutput, ca, &out); err != nil {
		if f, ok := err.(*fault.Error); ok && f.Status < 500 {
			return nil, f
		}
		return nil, fault.Conflict("Compute service of %s is unavailable at this time.", inst.Host)
	}
	return map[string]any{"output": out["output"]}, nil
}

func (a *API) actChangePassword(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-admin-password", inst); err != nil {
		return nil, err
	}
	var args struct {
		AdminPass *string `json:"adminPass"`
	}
	if err := json.Unmarshal(raw, &args); err != nil || args.AdminPass == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute changePassword. 'adminPass' is a required property")
	}
	saved, err := a.startTask(ctx, r, inst, states.ActChangePassword, "changePassword", store.Update{})
	if err != nil {
		return nil, err
	}
	pa := rpc.PasswordArgs{InstanceArgs: a.args(ctx), Password: *args.AdminPass}
	pa.InstanceUUID = inst.UUID
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := a.d.Bus.Call(cctx, rpc.ComputeSubject(saved.Host), rpc.SetAdminPassword, pa, nil); err != nil {
		none := states.NoTask
		a.d.Store.Save(context.WithoutCancel(ctx), store.Save{UUID: inst.UUID, Update: store.Update{TaskState: &none}, Expect: store.Expect{Task: []states.Task{states.UpdatingPassword}}})
		if f, ok := err.(*fault.Error); ok && f.Status < 500 || ok && f.Status == 501 {
			return nil, f
		}
		return nil, fault.Conflict("Compute service of %s is unavailable at this time.", inst.Host)
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}

// snapshotImage registers the image a snapshot, backup or shelve fills:
// queued in Glance, owned by the caller, carrying the instance's image
// properties and Nova's snapshot properties.
func (a *API) snapshotImage(ctx context.Context, inst *objects.Instance, name string, props map[string]string) (*objects.ImageMeta, error) {
	p := map[string]string{}
	for k, v := range inst.SystemMetadata {
		if base, ok := strings.CutPrefix(k, "image_"); ok {
			switch base {
			case "disk_format", "container_format", "min_disk", "min_ram", "base_image_ref", "size", "checksum", "name",
				"os_hash_algo", "os_hash_value", "os_hidden", "owner", "visibility", "protected", "stores", "direct_url":
				continue
			}
			if strings.HasPrefix(base, "os_glance") {
				continue
			}
			p[base] = v
		}
	}
	p["instance_uuid"] = inst.UUID
	p["user_id"] = inst.UserID
	p["owner_project_name"] = ""
	delete(p, "owner_project_name")
	if inst.ImageRef != "" {
		p["base_image_ref"] = inst.ImageRef
	}
	for k, v := range props {
		p[k] = v
	}
	diskFormat := inst.SystemMetadata["image_disk_format"]
	if diskFormat == "" {
		diskFormat = "qcow2"
	}
	containerFormat := inst.SystemMetadata["image_container_format"]
	if containerFormat == "" {
		containerFormat = "bare"
	}
	minDisk := inst.Flavor.RootGB
	minRAM := 0
	if n, err := atoiOK(inst.SystemMetadata["image_min_ram"]); err == nil {
		minRAM = n
	}
	img, err := a.d.Images.Create(ctx, clients.ImageCreate{Name: name, DiskFormat: diskFormat, ContainerFormat: containerFormat,
		MinDisk: minDisk, MinRAM: minRAM, Properties: p})
	if err != nil {
		return nil, err
	}
	return img, nil
}

func (a *API) actCreateImage(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:create_image", inst); err != nil {
		return nil, err
	}
	var args struct {
		Name     *string        `json:"name"`
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &args); err != nil || args.Name == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute createImage. 'name' is a required property")
	}
	if err := validName("name", *args.Name, true); err != nil {
		return nil, err
	}
	props := map[string]string{"image_type": "snapshot"}
	if err := validMetadata(args.Metadata, props); err != nil {
		return nil, err
	}
	if err := states.Check(states.ActSnapshot, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	img, err := a.snapshotImage(ctx, inst, *args.Name, props)
	if err != nil {
		return nil, err
	}
	saved, err := a.startTask(ctx, r, inst, states.ActSnapshot, "createImage", store.Update{})
	if err != nil {
		a.d.Images.Delete(clients.AsService(ctx), img.ID)
		return nil, err
	}
	sa := rpc.SnapshotArgs{InstanceArgs: a.args(ctx), ImageID: img.ID}
	sa.InstanceUUID = inst.UUID
	if err := a.hostCall(ctx, saved, states.ImageSnapshotPending, rpc.SnapshotInstance, sa); err != nil {
		a.d.Images.Delete(clients.AsService(ctx), img.ID)
		return nil, err
	}
	return a.imageResponse(r, img.ID), nil
}

// imageResponse answers createImage/createBackup: a Location header before
// 2.45, the image id in the body from it.
func (a *API) imageResponse(r *rest.Request, id string) *rest.Response {
	if r.Version.AtLeast(rest.V(2, 45)) {
		return &rest.Response{Status: http.StatusAccepted, Body: map[string]any{"image_id": id}}
	}
	h := http.Header{}
	prefix := a.cfg.API.GlanceLinkPrefix
	if prefix == "" {
		prefix = a.base(r)
	}
	h.Set("Location", strings.TrimSuffix(prefix, "/")+"/images/"+id)
	return &rest.Response{Status: http.StatusAccepted, Header: h}
}

func (a *API) actCreateBackup(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-create-backup", inst); err != nil {
		return nil, err
	}
	var args map[string]any
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute createBackup.")
	}
	name, _ := str(args["name"])
	btype, _ := str(args["backup_type"])
	if _, ok := args["rotation"]; !ok || name == "" || btype == "" {
		return nil, fault.BadRequest("Invalid input for field/attribute createBackup. 'name', 'backup_type' and 'rotation' are required properties")
	}
	rotation, err := intParam("rotation", args["rotation"], 0, 0x7FFFFFFF)
	if err != nil {
		return nil, err
	}
	props := map[string]string{"image_type": "backup", "backup_type": btype}
	if m, ok := args["metadata"].(map[string]any); ok {
		if err := validMetadata(m, props); err != nil {
			return nil, err
		}
	}
	if err := states.Check(states.ActBackup, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	img, err := a.snapshotImage(ctx, inst, name, props)
	if err != nil {
		return nil, err
	}
	saved, err := a.startTask(ctx, r, inst, states.ActBackup, "createBackup", store.Update{})
	if err != nil {
		a.d.Images.Delete(clients.AsService(ctx), img.ID)
		return nil, err
	}
	sa := rpc.SnapshotArgs{InstanceArgs: a.args(ctx), ImageID: img.ID, Backup: true, BackupType: btype, Rotation: rotation}
	sa.InstanceUUID = inst.UUID
	if err := a.hostCall(ctx, saved, states.ImageBackup, rpc.SnapshotInstance, sa); err != nil {
		a.d.Images.Delete(clients.AsService(ctx), img.ID)
		return nil, err
	}
	return a.imageResponse(r, img.ID), nil
}

func (a *API) actRebuild(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:servers:rebuild", inst); err != nil {
		return nil, err
	}
	args, err := decodeMap(raw)
	if err != nil {
		return nil, err
	}
	allowed := map[string]rest.Version{"imageRef": {}, "name": {}, "adminPass": {}, "metadata": {}, "personality": {}, "preserve_ephemeral": {},
		"accessIPv4": {}, "accessIPv6": {}, "OS-DCF:diskConfig": {}, "description": rest.V(2, 19), "key_name": rest.V(2, 54),
		"user_data": rest.V(2, 57), "trusted_image_certificates": rest.V(2, 63), "hostname": rest.V(2, 90)}
	for k := range args {
		v, ok := allowed[k]
		if !ok || !r.Version.AtLeast(v) || k == "personality" && r.Version.AtLeast(rest.V(2, 57)) {
			return nil, fault.BadRequest("Invalid input for field/attribute rebuild. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	img, err := a.rebuildImage(ctx, args, inst)
	if err != nil {
		return nil, err
	}
	u := store.Update{ImageRef: &img.ID}
	if err := a.rebuildUpdate(ctx, args, inst, &u); err != nil {
		return nil, err
	}
	pass := generatePassword(a.cfg.Default.PasswordLength)
	if v, ok := args["adminPass"]; ok {
		s, _ := str(v)
		pass = s
	}
	if inst.Host == "" {
		return nil, fault.Conflict("Instance %s is not ready", inst.UUID).WithType("InstanceNotReady")
	}
	u.SysMeta = map[string]string{"image_base_image_ref": img.ID, "image_disk_format": img.DiskFormat, "image_container_format": img.ContainerFormat}
	saved, err := a.startTask(ctx, r, inst, states.ActRebuild, "rebuild", u)
	if err != nil {
		return nil, err
	}
	ra := rpc.RebuildArgs{InstanceArgs: a.args(ctx), ImageRef: img.ID, Image: *img, AdminPass: pass}
	ra.InstanceUUID = inst.UUID
	if err := a.hostCall(ctx, saved, states.Rebuilding, rpc.RebuildInstance, ra); err != nil {
		return nil, err
	}
	saved.Tags = nil
	if r.Version.AtLeast(rest.V(2, 26)) {
		if t, err := a.d.Store.Instance(ctx, saved.UUID, store.GetOptions{Tags: true}); err == nil {
			saved.Tags = t.Tags
		}
	}
	o := a.updateOpts(ctx, r, saved)
	o.userData = false
	o.keyName = r.Version.AtLeast(rest.V(2, 54))
	vc, err := a.loadViewCtx(ctx, []*objects.Instance{saved}, o)
	if err != nil {
		return nil, err
	}
	view := a.serverView(r, vc, saved, o)
	if a.cfg.API.EnableInstancePassword {
		view["adminPass"] = pass
	}
	if r.Version.AtLeast(rest.V(2, 57)) {
		view["user_data"] = nullString(saved.UserData)
	}
	h := http.Header{}
	h.Set("Location", a.base(r)+"/v2.1/servers/"+saved.UUID)
	return &rest.Response{Status: http.StatusAccepted, Header: h, Body: map[string]any{"server": view}}, nil
}

// rebuildImage resolves a rebuild's imageRef and checks the image fits
// the server's flavor.
func (a *API) rebuildImage(ctx context.Context, args map[string]any, inst *objects.Instance) (*objects.ImageMeta, error) {
	iref, _ := str(args["imageRef"])
	if iref == "" {
		return nil, fault.BadRequest("Invalid input for field/attribute imageRef. 'imageRef' is a required property")
	}
	id := lastSegment(iref)
	if _, err := uuid.Parse(id); err != nil {
		return nil, fault.BadRequest("Invalid imageRef provided.")
	}
	img, err := a.d.Images.Get(ctx, id)
	if err != nil {
		if fault.IsNotFound(err) {
			return nil, fault.BadRequest("Image %s could not be found.", id)
		}
		return nil, err
	}
	if img.Status != "active" {
		return nil, fault.BadRequest("Image %s is not active.", id)
	}
	if img.MinRAM > inst.Flavor.MemoryMB {
		return nil, fault.BadRequest("Flavor's memory is too small for requested image.")
	}
	if inst.Flavor.RootGB > 0 && (img.MinDisk > inst.Flavor.RootGB || img.Size > int64(inst.Flavor.RootGB)<<30) {
		return nil, fault.BadRequest("Flavor's disk is too small for requested image.")
	}
	return img, nil
}

// rebuildUpdate reads what a rebuild changes besides the image: name,
// metadata, description, key pair, user data, hostname, access IPs and
// disk config.
func (a *API) rebuildUpdate(ctx context.Context, args map[string]any, inst *objects.Instance, u *store.Update) error {
	if v, ok := args["name"]; ok {
		s, _ := str(v)
		if err := validName("name", s, false); err != nil {
			return err
		}
		u.DisplayName = &s
	}
	if v, ok := args["metadata"]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			return fault.BadRequest("Invalid input for field/attribute metadata.")
		}
		md := map[string]string{}
		if err := validMetadata(m, md); err != nil {
			return err
		}
		u.Metadata = &md
	}
	if v, ok := args["description"]; ok {
		if v == nil {
			u.ClearDescription = true
		} else {
			s, _ := str(v)
			if err := validDescription("description", s, 255); err != nil {
				return err
			}
			u.Description = &s
		}
	}
	if v, ok := args["key_name"]; ok {
		empty := ""
		if v == nil {
			u.KeyName, u.KeyData = &empty, &empty
		} else {
			s, _ := str(v)
			kp, err := a.d.Store.Keypair(ctx, inst.UserID, s)
			if err != nil {
				return fault.BadRequest("Invalid key_name provided.")
			}
			u.KeyName, u.KeyData = &kp.Name, &kp.PublicKey
		}
	}
	if v, ok := args["user_data"]; ok {
		s := ""
		if v != nil {
			s, _ = str(v)
			if _, err := decodeBase64(s); err != nil {
				return fault.BadRequest("User data needs to be valid base 64.")
			}
		}
		u.UserData = &s
	}
	if v, ok := args["hostname"]; ok {
		s, _ := str(v)
		if !hostnameRE.MatchString(s) {
			return fault.BadRequest("Invalid input for field/attribute hostname.")
		}
		u.Hostname = &s
	}
	for _, k := range []string{"accessIPv4", "accessIPv6"} {
		if v, ok := args[k]; ok {
			s, _ := str(v)
			ip := net.ParseIP(s)
			if s != "" && (ip == nil || (k == "accessIPv4") == strings.Contains(s, ":")) {
				return fault.BadRequest("Invalid input for field/attribute %s. Value: %v.", k, v)
			}
			if ip != nil {
				s = ip.String()
			}
			if k == "accessIPv4" {
				u.AccessIPv4 = &s
			} else {
				u.AccessIPv6 = &s
			}
		}
	}
	if v, ok := args["OS-DCF:diskConfig"]; ok {
		s, _ := str(v)
		if s != "AUTO" && s != "MANUAL" {
			return fault.BadRequest("Invalid input for field/attribute OS-DCF:diskConfig. Value: %v. It is not one of ['AUTO', 'MANUAL']", v)
		}
		b := s == "AUTO"
		u.AutoDiskConfig = &b
	}
	if v, ok := args["trusted_image_certificates"]; ok && v != nil {
		return fault.BadRequest("Image signature certificate validation is not enabled on this cloud.")
	}
	return nil
}

func (a *API) actRestore(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-deferred-delete:restore", inst); err != nil {
		return nil, err
	}
	if err := states.Check(states.ActRestore, inst.Subject(), isAdmin(r)); err != nil {
		return nil, err
	}
	return nil, fault.Conflict("Instance %s is not soft deleted: this cloud deletes at once (reclaim_instance_interval = 0).", inst.UUID)
}

func (a *API) actForceDelete(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
	if err := a.enforceFor(ctx, r, "os_compute_api:os-deferred-delete:force", inst); err != nil {
		return nil, err
	}
	if err := a.deleteInstance(ctx, r, inst, states.ActForceDelete); err != nil {
		return nil, err
	}
	return &rest.Response{Status: http.StatusAccepted}, nil
}

// actSecurityGroup adds a security group to, or removes it from, every port
// of the server, as Nova's add_to_instance and remove_from_instance do.
func (a *API) actSecurityGroup(add bool) actionFunc {
	return func(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
		rule := "os_compute_api:os-security-groups:add"
		if !add {
			rule = "os_compute_api:os-security-groups:remove"
		}
		if err := a.enforceFor(ctx, r, rule, inst); err != nil {
			return nil, err
		}
		var args map[string]any
		if err := json.Unmarshal(raw, &args); err != nil || args == nil {
			return nil, fault.BadRequest("Missing parameter dict")
		}
		v, ok := args["name"]
		if !ok {
			return nil, fault.BadRequest("Security group not specified")
		}
		name, _ := v.(string)
		if strings.TrimSpace(name) == "" {
			return nil, fault.BadRequest("Security group name cannot be empty")
		}
		groups, err := a.d.Network.SecurityGroups(ctx, inst.ProjectID, []string{name})
		if err != nil || len(groups) == 0 {
			return nil, fault.NotFound("Security group %s is not found for project %s", name, inst.ProjectID).WithType("SecurityGroupNotFound")
		}
		if len(groups) > 1 {
			return nil, fault.Conflict("Multiple security groups named %s were found.", name).WithType("NoUniqueMatch")
		}
		sg := groups[0]
		ports, err := a.instancePorts(ctx, inst)
		if err != nil {
			return nil, err
		}
		if len(ports) == 0 && len(inst.NetworkInfo) > 0 {
			return nil, fault.NotFound("instance_id %s could not be found as device id on any ports", inst.UUID).WithType("SecurityGroupNotFound")
		}
		changed := false
		for _, p := range ports {
			has := false
			var keep []string
			for _, g := range p.SecurityGroups {
				if g == sg.ID {
					has = true
				} else {
					keep = append(keep, g)
				}
			}
			switch {
			case add && has:
				continue
			case add:
				if p.PortSecurity != nil && !*p.PortSecurity || len(p.FixedIPs) == 0 {
					return nil, fault.BadRequest("Network requires port_security_enabled and subnet associated in order to apply security groups.").WithType("SecurityGroupCannotBeApplied")
				}
				keep = append(append([]string{}, p.SecurityGroups...), sg.ID)
			case !has:
				continue
			}
			if err := a.d.Network.SetPortSecurityGroups(ctx, p.ID, keep); err != nil {
				if fault.Is(err, http.StatusBadRequest) {
					return nil, fault.BadRequest("%s", fault.As(err).Message).WithType("SecurityGroupCannotBeApplied")
				}
				return nil, err
			}
			changed = true
		}
		if !add && !changed && !slices.Contains(inst.SecurityGroups, sg.Name) {
			return nil, fault.BadRequest("Security group %s not associated with the instance %s", name, inst.UUID).WithType("SecurityGroupNotExistsForInstance")
		}
		// Keep the names the server views show.
		names := []string{}
		for _, g := range inst.SecurityGroups {
			if g != sg.Name {
				names = append(names, g)
			}
		}
		if add {
			names = append(names, sg.Name)
		}
		if _, err := a.d.Store.Save(ctx, store.Save{UUID: inst.UUID, Update: store.Update{SecurityGroups: &names}}); err != nil {
			return nil, storeErr(err)
		}
		return &rest.Response{Status: http.StatusAccepted}, nil
	}
}

// actConsole answers the remote console actions: tenku serves no graphical
// or serial console proxy.
func (a *API) actConsole(kind string) actionFunc {
	return func(ctx context.Context, r *rest.Request, inst *objects.Instance, raw json.RawMessage) (any, error) {
		if err := a.enforceFor(ctx, r, "os_compute_api:os-remote-consoles", inst); err != nil {
			return nil, err
		}
		return nil, fault.BadRequest("Unavailable console type %s.", kind).WithType("ConsoleTypeUnavailable")
	}
}

func atoiOK(s string) (int, error) {
	n := 0
	if s == "" {
		return 0, fault.BadRequest("empty")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fault.BadRequest("not a number")
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}
