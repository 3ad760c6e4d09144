package dashboard

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	compute "github.com/tenku-cloud/tenku/api/compute"
	image "github.com/tenku-cloud/tenku/api/image"
	network "github.com/tenku-cloud/tenku/api/network"
)

// instance is a server as the pages show it: the API's record enriched with
// the names of its image and flavor and its addresses in one line each.
type instance struct {
	compute.Server
	ImageName string
	Addresses []string
}

// TaskState is the task in progress ("" when none).
func (i instance) TaskState() string {
	if i.Server.TaskState == nil {
		return ""
	}
	return *i.Server.TaskState
}

// Transitional reports whether the instance is changing (the list polls then).
func (i instance) Transitional() bool {
	return i.TaskState() != "" || i.Status == "BUILD" || strings.HasSuffix(i.Status, "REBOOT")
}

// PowerState names the hypervisor's power state.
func (i instance) PowerState() string {
	switch i.Server.PowerState {
	case 1:
		return "Running"
	case 3:
		return "Paused"
	case 4:
		return "Shut Down"
	case 6:
		return "Crashed"
	case 7:
		return "Suspended"
	}
	return "No State"
}

// KeyName is the key pair's name, or "".
func (i instance) KeyName() string {
	if i.Server.KeyName == nil {
		return ""
	}
	return *i.Server.KeyName
}

// Actions lists what Nova's state tables allow in the instance's state
// (nova.compute.api's check_instance_state of each action); the API still
// decides, and its refusal is shown.
func (i instance) Actions() []instanceAction {
	switch t := i.TaskState(); {
	case t == "deleting":
		return nil
	case t != "":
		return []instanceAction{actDelete} // Nova deletes in any task; the others wait for none
	}
	var out []instanceAction
	add := func(ops ...instanceAction) { out = append(out, ops...) }
	switch i.VMState {
	case "active":
		add(actStop, actReboot, actHardReboot, actPause, actSuspend, actShelve, actRescue, actSnapshot, actResize)
	case "stopped":
		add(actStart, actHardReboot, actShelve, actRescue, actSnapshot, actResize)
	case "resized":
		add(actConfirmResize, actRevertResize)
	case "paused":
		add(actUnpause, actHardReboot, actShelve, actSnapshot)
	case "suspended":
		add(actResume, actHardReboot, actShelve, actSnapshot)
	case "rescued":
		add(actUnrescue, actStop)
	case "shelved", "shelved_offloaded":
		add(actUnshelve)
	case "error":
		add(actStop, actHardReboot, actRescue)
	}
	if i.Locked {
		add(actUnlock)
	} else {
		add(actLock)
	}
	return append(out, actDelete)
}

// instanceAction is a button of the instance pages: the op the form posts,
// its label, whether it asks to be confirmed, and whether it needs the
// detail page's fields (a snapshot's name) or a page of its own (Link: the
// resize form at /project/instances/{id}/{op}/).
type instanceAction struct {
	Op, Label string
	Confirm   bool
	Detail    bool
	Link      bool
}

var (
	actStart      = instanceAction{Op: "start", Label: "Start Instance"}
	actStop       = instanceAction{Op: "stop", Label: "Shut Off Instance", Confirm: true}
	actReboot     = instanceAction{Op: "reboot", Label: "Soft Reboot Instance", Confirm: true}
	actHardReboot = instanceAction{Op: "hard_reboot", Label: "Hard Reboot Instance", Confirm: true}
	actPause      = instanceAction{Op: "pause", Label: "Pause Instance"}
	actUnpause    = instanceAction{Op: "unpause", Label: "Resume Instance"}
	actSuspend    = instanceAction{Op: "suspend", Label: "Suspend Instance"}
	actResume     = instanceAction{Op: "resume", Label: "Resume Instance"}
	actShelve     = instanceAction{Op: "shelve", Label: "Shelve Instance", Confirm: true}
	actUnshelve   = instanceAction{Op: "unshelve", Label: "Unshelve Instance"}
	actRescue     = instanceAction{Op: "rescue", Label: "Rescue Instance", Confirm: true}
	actUnrescue   = instanceAction{Op: "unrescue", Label: "Unrescue Instance"}
	actLock       = instanceAction{Op: "lock", Label: "Lock Instance"}
	actUnlock     = instanceAction{Op: "unlock", Label: "Unlock Instance"}
	actSnapshot   = instanceAction{Op: "snapshot", Label: "Create Snapshot", Detail: true}
	actDelete     = instanceAction{Op: "delete", Label: "Delete Instance", Confirm: true}
	actResize     = instanceAction{Op: "resize", Label: "Resize Instance", Link: true}
	// Horizon's labels: the same buttons confirm a cold migration.
	actConfirmResize = instanceAction{Op: "confirm_resize", Label: "Confirm Resize/Migrate"}
	actRevertResize  = instanceAction{Op: "revert_resize", Label: "Revert Resize/Migrate", Confirm: true}
)

// instanceOps are the server actions a form's op sends (POST
// /servers/{id}/action) and the words of the message that follows.
var instanceOps = map[string]struct {
	body map[string]any
	verb string
}{
	"start":          {map[string]any{"os-start": nil}, "start"},
	"stop":           {map[string]any{"os-stop": nil}, "shut off"},
	"reboot":         {map[string]any{"reboot": map[string]string{"type": "SOFT"}}, "reboot"},
	"hard_reboot":    {map[string]any{"reboot": map[string]string{"type": "HARD"}}, "hard reboot"},
	"pause":          {map[string]any{"pause": nil}, "pause"},
	"unpause":        {map[string]any{"unpause": nil}, "unpause"},
	"suspend":        {map[string]any{"suspend": nil}, "suspend"},
	"resume":         {map[string]any{"resume": nil}, "resume"},
	"shelve":         {map[string]any{"shelve": nil}, "shelve"},
	"unshelve":       {map[string]any{"unshelve": nil}, "unshelve"},
	"rescue":         {map[string]any{"rescue": map[string]any{}}, "rescue"},
	"unrescue":       {map[string]any{"unrescue": nil}, "unrescue"},
	"lock":           {map[string]any{"lock": nil}, "lock"},
	"unlock":         {map[string]any{"unlock": nil}, "unlock"},
	"confirm_resize": {map[string]any{"confirmResize": nil}, "confirm resize"},
	"revert_resize":  {map[string]any{"revertResize": nil}, "revert resize"},
}

// pageAll fetches every page of a Nova or Neutron list by marker.
func pageAll[T any](ctx context.Context, cl *cloud, service, path, key string, idOf func(T) string) ([]T, error) {
	const limit = 1000
	var all []T
	marker := ""
	for range 50 {
		q := "limit=" + strconv.Itoa(limit)
		if marker != "" {
			q += "&marker=" + url.QueryEscape(marker)
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		var page map[string][]T
		if err := cl.get(ctx, service, path+sep+q, &page); err != nil {
			return all, err
		}
		items := page[key]
		all = append(all, items...)
		if len(items) < limit {
			break
		}
		marker = idOf(items[len(items)-1])
	}
	return all, nil
}

// images lists the images the project sees (every Glance page).
func images(ctx context.Context, cl *cloud) ([]image.Image, error) {
	var all []image.Image
	next := "/v2/images?limit=1000"
	for range 50 {
		var page struct {
			Images []image.Image `json:"images"`
			Next   string        `json:"next"`
		}
		if err := cl.get(ctx, "image", next, &page); err != nil {
			return all, err
		}
		all = append(all, page.Images...)
		if page.Next == "" || !strings.HasPrefix(page.Next, "/v2/images") {
			break
		}
		next = page.Next
	}
	return all, nil
}

// imagePage reads one page of the images Glance shows the user, newest
// first (Glance's own order: created_at, then id).
func imagePage(ctx context.Context, cl *cloud, pg *pager) ([]image.Image, error) {
	var out struct {
		Images []image.Image `json:"images"`
	}
	if err := cl.get(ctx, "image", "/v2/images?"+pg.query("sort_key", true, "created_at", "id").Encode(), &out); err != nil {
		return nil, err
	}
	return cut(pg, out.Images, func(im image.Image) string { return im.ID }), nil
}

func imageName(im image.Image) string {
	if im.Name != nil && *im.Name != "" {
		return *im.Name
	}
	return im.ID
}

// enrich names the servers' images and writes their addresses out, in the
// page's language (t).
func enrich(servers []compute.Server, imgs []image.Image, t func(string) string) []instance {
	names := make(map[string]string, len(imgs))
	for _, im := range imgs {
		names[im.ID] = imageName(im)
	}
	out := make([]instance, len(servers))
	for i, s := range servers {
		in := instance{Server: s, ImageName: names[s.Image.ID]}
		if in.ImageName == "" {
			in.ImageName = s.Image.ID
		}
		if s.Image.ID == "" {
			in.ImageName = "(booted from volume)"
		}
		nets := make([]string, 0, len(s.Addresses))
		for n := range s.Addresses {
			nets = append(nets, n)
		}
		sort.Strings(nets)
		for _, n := range nets {
			var addrs []string
			for _, a := range s.Addresses[n] {
				if a.Type == "floating" {
					addrs = append(addrs, a.Addr+" "+t("(floating)"))
				} else {
					addrs = append(addrs, a.Addr)
				}
			}
			in.Addresses = append(in.Addresses, n+": "+strings.Join(addrs, ", "))
		}
		out[i] = in
	}
	return out
}

type instancesData struct {
	Instances []instance
	Polling   bool
	Pager     *pager
}

// serverPage reads one page of servers, newest first as Nova lists them
// (created_at, then id, descending); extra is more of the query (all_tenants).
func serverPage(ctx context.Context, cl *cloud, pg *pager, extra url.Values) ([]compute.Server, error) {
	q := pg.query("sort_key", true, "created_at", "id")
	for k, v := range extra {
		q[k] = v
	}
	var out struct {
		Servers []compute.Server `json:"servers"`
	}
	if err := cl.get(ctx, "compute", "/servers/detail?"+q.Encode(), &out); err != nil {
		return nil, err
	}
	return cut(pg, out.Servers, func(s compute.Server) string { return s.ID }), nil
}

// imagesByID reads the images of a page's servers in one call (Glance's
// id=in: filter), not the whole catalogue of images.
func imagesByID(ctx context.Context, cl *cloud, servers []compute.Server) ([]image.Image, error) {
	seen := map[string]bool{}
	var ids []string
	for _, s := range servers {
		if id := s.Image.ID; id != "" && !seen[id] && !strings.ContainsAny(id, `,"`) {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || !cl.has(serviceTypes["image"]...) {
		return nil, nil
	}
	q := url.Values{"id": {"in:" + strings.Join(ids, ",")}, "limit": {strconv.Itoa(len(ids))}}
	var out struct {
		Images []image.Image `json:"images"`
	}
	err := cl.get(ctx, "image", "/v2/images?"+q.Encode(), &out)
	return out.Images, err
}

// listInstances reads one page of the project's servers, then the names of
// their images in one more call; the flavor comes embedded in each server
// (2.47).
func (d *Dashboard) listInstances(p *page) error {
	p.Title = "Instances"
	pg := d.newPager(p.r)
	servers, err := serverPage(p.ctx, p.cl, pg, nil)
	if err != nil {
		return err
	}
	imgs, err := imagesByID(p.ctx, p.cl, servers)
	p.fail(err)
	data := &instancesData{Instances: enrich(servers, imgs, p.T), Pager: pg}
	for _, in := range data.Instances {
		if in.Transitional() {
			data.Polling = true
		}
	}
	p.Data = data
	return nil
}

// timelineStep is one phase of the boot sequence (the seed's state table).
type timelineStep struct {
	Name   string
	Label  string
	State  string // done, current, failed, pending
	Start  string
	Finish string
	Result string
	Detail string
}

type actionView struct {
	compute.InstanceAction
	Failed bool
}

type instanceData struct {
	Instance instance
	Timeline []timelineStep
	Actions  []actionView
	Ports    []network.Port
}

// bootPhases are the task states of a server's creation, in order, and the
// instance action events that record each.
var bootPhases = []struct{ task, label string }{
	{"scheduling", "Scheduling"},
	{"networking", "Networking"},
	{"block_device_mapping", "Block devices"},
	{"spawning", "Spawning"},
}

// showInstance shows one server: its record, its ports, and every action with
// its events (one call for the list, then the actions' details in parallel).
func (d *Dashboard) showInstance(p *page) error {
	id := p.r.PathValue("id")
	var (
		srv     struct{ Server compute.Server }
		actions struct {
			InstanceActions []compute.InstanceAction `json:"instanceActions"`
		}
		imgs  []image.Image
		ports struct {
			Ports []network.Port `json:"ports"`
		}
	)
	errs := fanout(p.ctx,
		func(ctx context.Context) error { return p.cl.get(ctx, "compute", "/servers/"+url.PathEscape(id), &srv) },
		func(ctx context.Context) error {
			return p.cl.get(ctx, "compute", "/servers/"+url.PathEscape(id)+"/os-instance-actions", &actions)
		},
		func(ctx context.Context) error {
			return p.cl.get(ctx, "network", "/v2.0/ports?device_id="+url.QueryEscape(id), &ports)
		},
	)
	if errs[0] != nil {
		p.Title = "Instance"
		return errs[0]
	}
	for _, e := range errs[1:] {
		p.fail(e)
	}
	acts := actions.InstanceActions
	if len(acts) > 20 {
		acts = acts[:20]
	}
	calls := make([]func(context.Context) error, len(acts), len(acts)+1)
	calls = append(calls, func(ctx context.Context) (err error) {
		imgs, err = imagesByID(ctx, p.cl, []compute.Server{srv.Server})
		return
	})
	for i := range acts {
		calls[i] = func(ctx context.Context) error {
			var one struct {
				InstanceAction compute.InstanceAction `json:"instanceAction"`
			}
			if err := p.cl.get(ctx, "compute", "/servers/"+url.PathEscape(id)+"/os-instance-actions/"+url.PathEscape(acts[i].RequestID), &one); err != nil {
				return err
			}
			acts[i].Events = one.InstanceAction.Events
			return nil
		}
	}
	for _, e := range fanout(p.ctx, calls...) {
		p.fail(e)
	}
	in := enrich([]compute.Server{srv.Server}, imgs, p.T)[0]
	p.Title = in.Name
	data := &instanceData{Instance: in, Ports: ports.Ports}
	var create *compute.InstanceAction
	for i := range acts {
		av := actionView{InstanceAction: acts[i]}
		for _, ev := range acts[i].Events {
			if ev.Result != nil && strings.EqualFold(*ev.Result, "error") {
				av.Failed = true
			}
		}
		data.Actions = append(data.Actions, av)
		if acts[i].Action == "create" {
			create = &acts[i]
		}
	}
	data.Timeline = timeline(in, create)
	p.Data = data
	return nil
}

// timeline lays the boot sequence out from the server's state and the
// events of its create action: each phase done, current, failed or pending.
func timeline(in instance, create *compute.InstanceAction) []timelineStep {
	events := map[string]compute.InstanceActionEvent{}
	if create != nil {
		for _, ev := range create.Events {
			events[ev.Event] = ev
		}
	}
	task := in.TaskState()
	booted := in.Status != "BUILD" && in.VMState != "building"
	current := -1
	for i, ph := range bootPhases {
		if ph.task == task && in.VMState == "building" {
			current = i
		}
	}
	var steps []timelineStep
	failedAt := -1
	for i, ph := range bootPhases {
		st := timelineStep{Name: ph.task, Label: ph.label, State: "pending"}
		best := 0
		for name, ev := range events {
			score := eventIsPhase(name, ph.task)
			if score <= best {
				continue
			}
			best = score
			st.Start = ev.StartTime
			if ev.FinishTime != nil {
				st.Finish = *ev.FinishTime
			}
			if ev.Result != nil {
				st.Result = *ev.Result
			}
			st.Detail = name
			if ev.Details != nil {
				st.Detail += ": " + *ev.Details
			}
		}
		switch {
		case strings.EqualFold(st.Result, "error"):
			st.State, failedAt = "failed", i
		case current == i:
			st.State = "current"
		case current > i:
			st.State = "done"
		case booted && in.VMState != "error":
			st.State = "done"
		case in.VMState == "error" && st.Result != "":
			st.State = "done"
		}
		steps = append(steps, st)
	}
	final := timelineStep{Name: "active", Label: "Active", State: "pending"}
	switch {
	case in.VMState == "error":
		final.Label, final.State = "Error", "failed"
		if in.Fault != nil {
			final.Detail = in.Fault.Message
		}
		if failedAt < 0 && in.Fault != nil {
			// No event failed: the scheduler refused before any phase ran.
			steps[0].State, steps[0].Detail = "failed", in.Fault.Message
		}
	case booted:
		final.State = "done"
		if in.LaunchedAt != nil {
			final.Start = *in.LaunchedAt
		}
	}
	return append(steps, final)
}

// eventIsPhase scores how well an instance action event names a phase: 2
// for tenku's own (compute_build_networking, ..._block_device_mapping,
// ..._spawning, conductor_schedule_and_build_instances), 1 for Nova's
// coarser compute__do_build_and_run_instance, 0 for none.
func eventIsPhase(event, phase string) int {
	e := strings.ToLower(event)
	switch phase {
	case "scheduling":
		if strings.Contains(e, "schedul") {
			return 2
		}
	case "networking":
		if strings.Contains(e, "network") || strings.Contains(e, "allocate") {
			return 2
		}
	case "block_device_mapping":
		if strings.Contains(e, "block_device") {
			return 2
		}
	case "spawning":
		if strings.Contains(e, "spawn") {
			return 2
		}
		if strings.Contains(e, "build_and_run") {
			return 1
		}
	}
	return 0
}

// consoleLog shows the server's console output (os-getConsoleOutput).
func (d *Dashboard) consoleLog(p *page) error {
	id := p.r.PathValue("id")
	lines := 200
	if n, err := strconv.Atoi(p.r.URL.Query().Get("length")); err == nil && n > 0 && n <= 10000 {
		lines = n
	}
	var (
		srv struct{ Server compute.Server }
		out struct {
			Output string `json:"output"`
		}
	)
	errs := fanout(p.ctx,
		func(ctx context.Context) error { return p.cl.get(ctx, "compute", "/servers/"+url.PathEscape(id), &srv) },
		func(ctx context.Context) error {
			return p.cl.do(ctx, "compute", "POST", "/servers/"+url.PathEscape(id)+"/action", map[string]any{"os-getConsoleOutput": map[string]any{"length": lines}}, &out)
		},
	)
	p.Title = "Console log"
	if errs[0] != nil {
		return errs[0]
	}
	p.fail(errs[1])
	p.Title = "Console Log"
	p.Data = map[string]any{"ID": id, "Name": srv.Server.Name, "Output": out.Output, "Length": lines}
	return nil
}

// instanceOp runs one action the instance pages offer.
func (d *Dashboard) instanceOp(p *page) (string, error) {
	id := p.r.PathValue("id")
	op := p.r.PostFormValue("op")
	name := p.r.PostFormValue("name")
	if name == "" {
		name = id
	}
	path := "/servers/" + url.PathEscape(id) + "/action"
	to := "/project/instances/" + url.PathEscape(id) + "/"
	var (
		err  error
		verb string
	)
	switch op {
	case "delete":
		err, verb = p.cl.do(p.ctx, "compute", "DELETE", "/servers/"+url.PathEscape(id), nil, nil), "delete"
		to = "/project/instances/"
	case "snapshot":
		snap := strings.TrimSpace(p.r.PostFormValue("snapshot_name"))
		if snap == "" {
			return "", badRequest("A snapshot needs a name.")
		}
		var out struct {
			ImageID string `json:"image_id"`
		}
		if err := p.cl.do(p.ctx, "compute", "POST", path, map[string]any{"createImage": map[string]any{"name": snap}}, &out); err != nil {
			return "", err
		}
		d.flashT(p, "Creating snapshot %q of instance %q.", snap, name)
		return to, nil
	default:
		o, ok := instanceOps[op]
		if !ok {
			return "", badRequest("unknown action %q", op)
		}
		err, verb = p.cl.do(p.ctx, "compute", "POST", path, o.body, nil), o.verb
	}
	if err != nil {
		return "", err
	}
	d.flashT(p, "Request to %s instance %q has been submitted.", p.T(verb), name)
	if back := p.r.PostFormValue("back"); back == "list" {
		to = "/project/instances/"
	} else if strings.HasPrefix(back, "/project/instances/") && safeNext(back) != "" {
		to = safeNext(back) // the list page the button was on
	}
	return to, nil
}

type launchData struct {
	Images         []image.Image
	Flavors        []compute.Flavor
	Networks       []network.Network
	Keypairs       []compute.Keypair
	SecurityGroups []network.SecurityGroup
	Zones          []string
	ServerGroups   []compute.ServerGroup
	Volumes        bool     // Cinder is in the catalog: boot from a volume
	BootVolumes    []volume // the project's available bootable volumes
}

// launchForm gathers the wizard's choices in one fan-out.
func (d *Dashboard) launchForm(p *page) error {
	p.Title = "Launch Instance"
	data := &launchData{}
	var (
		flavors  compute.FlavorList
		nets     struct{ Networks []network.Network }
		keypairs struct {
			Keypairs []struct{ Keypair compute.Keypair }
		}
		sgs struct {
			SecurityGroups []network.SecurityGroup `json:"security_groups"`
		}
		zones struct {
			Info []struct {
				ZoneName  string `json:"zoneName"`
				ZoneState struct {
					Available bool `json:"available"`
				} `json:"zoneState"`
			} `json:"availabilityZoneInfo"`
		}
		groups struct {
			ServerGroups []compute.ServerGroup `json:"server_groups"`
		}
	)
	data.Volumes = p.Has("volume")
	var vols struct {
		Volumes []volume `json:"volumes"`
	}
	calls := []func(context.Context) error{
		func(ctx context.Context) (err error) { data.Images, err = images(ctx, p.cl); return },
		func(ctx context.Context) error { return p.cl.get(ctx, "compute", "/flavors/detail", &flavors) },
		func(ctx context.Context) error { return p.cl.get(ctx, "network", "/v2.0/networks", &nets) },
		func(ctx context.Context) error { return p.cl.get(ctx, "compute", "/os-keypairs", &keypairs) },
		func(ctx context.Context) error {
			return p.cl.get(ctx, "network", "/v2.0/security-groups?project_id="+url.QueryEscape(p.s.ProjectID), &sgs)
		},
		func(ctx context.Context) error { return p.cl.get(ctx, "compute", "/os-availability-zone", &zones) },
		func(ctx context.Context) error { return p.cl.get(ctx, "compute", "/os-server-groups", &groups) },
	}
	if data.Volumes {
		calls = append(calls, func(ctx context.Context) error {
			return p.cl.get(ctx, "volume", "/volumes/detail?status=available", &vols)
		})
	}
	for _, e := range fanout(p.ctx, calls...) {
		if statusOf(e) == http.StatusUnauthorized {
			return e
		}
		p.fail(e)
	}
	var active []image.Image
	for _, im := range data.Images {
		if im.Status == "active" {
			active = append(active, im)
		}
	}
	data.Images = active
	sort.Slice(data.Images, func(i, j int) bool { return imageName(data.Images[i]) < imageName(data.Images[j]) })
	data.Flavors = flavors.Flavors
	sort.Slice(data.Flavors, func(i, j int) bool { return data.Flavors[i].RAM < data.Flavors[j].RAM })
	for _, n := range nets.Networks {
		if !n.External || n.Shared || n.ProjectID == p.s.ProjectID {
			data.Networks = append(data.Networks, n)
		}
	}
	for _, k := range keypairs.Keypairs {
		data.Keypairs = append(data.Keypairs, k.Keypair)
	}
	data.SecurityGroups = sgs.SecurityGroups
	for _, z := range zones.Info {
		if z.ZoneState.Available {
			data.Zones = append(data.Zones, z.ZoneName)
		}
	}
	data.ServerGroups = groups.ServerGroups
	for _, v := range vols.Volumes {
		if v.Status == "available" && strings.EqualFold(v.Bootable, "true") {
			data.BootVolumes = append(data.BootVolumes, v)
		}
	}
	p.Data = data
	return nil
}

// launch creates count servers from the wizard's form.
func (d *Dashboard) launch(p *page) (string, error) {
	f := p.r
	name := strings.TrimSpace(f.PostFormValue("name"))
	count, err := strconv.Atoi(f.PostFormValue("count"))
	if f.PostFormValue("count") == "" {
		count, err = 1, nil
	}
	if err != nil || count < 1 || count > 100 {
		return "", badRequest("Count must be a number from 1 to 100.")
	}
	if name == "" {
		return "", badRequest("An instance needs a name.")
	}
	srv := map[string]any{
		"name": name, "imageRef": f.PostFormValue("image"), "flavorRef": f.PostFormValue("flavor"),
		"min_count": count, "max_count": count,
	}
	var nets []map[string]string
	for _, n := range f.PostForm["network"] {
		if n != "" {
			nets = append(nets, map[string]string{"uuid": n})
		}
	}
	if len(nets) > 0 {
		srv["networks"] = nets
	} else {
		srv["networks"] = "auto"
	}
	if k := f.PostFormValue("key_name"); k != "" {
		srv["key_name"] = k
	}
	var sgs []map[string]string
	for _, g := range f.PostForm["security_group"] {
		sgs = append(sgs, map[string]string{"name": g})
	}
	if len(sgs) > 0 {
		srv["security_groups"] = sgs
	}
	if u := f.PostFormValue("user_data"); u != "" {
		srv["user_data"] = base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(u, "\r\n", "\n")))
	}
	if f.PostFormValue("config_drive") != "" {
		srv["config_drive"] = true
	}
	hints, err := launchExtras(f.PostForm, srv)
	if err != nil {
		return "", err
	}
	body := map[string]any{"server": srv}
	if hints != nil {
		body["os:scheduler_hints"] = hints
	}
	var out struct {
		Server struct {
			ID string `json:"id"`
		} `json:"server"`
	}
	if err := p.cl.do(p.ctx, "compute", "POST", "/servers", body, &out); err != nil {
		return "", err
	}
	if count == 1 && out.Server.ID != "" {
		d.flashT(p, "Launched instance %q.", name)
		return "/project/instances/" + url.PathEscape(out.Server.ID) + "/", nil
	}
	d.flashT(p, "Launched %d instances named %q.", count, name)
	return "/project/instances/", nil
}
