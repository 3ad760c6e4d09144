package dashboard

import (
	"context"
	"net/url"
	"sort"

	compute "github.com/tenku-cloud/tenku/api/compute"
)

// Horizon's Resize Instance: a flavor picker (the current flavor marked and
// not offered), then Nova's resize action; the instance waits in
// VERIFY_RESIZE for Confirm or Revert (the list's and the detail page's
// confirm_resize and revert_resize ops).

type resizeData struct {
	Instance instance
	Flavors  []compute.Flavor
}

// resizeForm shows the server's flavor and the flavors it may move to, in
// one fan-out.
func (d *Dashboard) resizeForm(p *page) error {
	p.Title = "Resize Instance"
	id := p.r.PathValue("id")
	var (
		srv     struct{ Server compute.Server }
		flavors compute.FlavorList
	)
	errs := fanout(p.ctx,
		func(ctx context.Context) error { return p.cl.get(ctx, "compute", "/servers/"+url.PathEscape(id), &srv) },
		func(ctx context.Context) error { return p.cl.get(ctx, "compute", "/flavors/detail", &flavors) },
	)
	if errs[0] != nil {
		return errs[0]
	}
	if errs[1] != nil {
		return errs[1]
	}
	data := &resizeData{Instance: instance{Server: srv.Server}}
	for _, f := range flavors.Flavors {
		if f.Name != srv.Server.Flavor.OriginalName {
			data.Flavors = append(data.Flavors, f)
		}
	}
	sort.Slice(data.Flavors, func(i, j int) bool { return data.Flavors[i].RAM < data.Flavors[j].RAM })
	p.Data = data
	return nil
}

// resize sends Nova's resize action with the chosen flavor (and the disk
// partitioning, when one is chosen).
func (d *Dashboard) resize(p *page) (string, error) {
	id := p.r.PathValue("id")
	flavor := p.r.PostFormValue("flavor")
	if flavor == "" {
		return "", badRequest("Choose the new flavor.")
	}
	body := map[string]any{"flavorRef": flavor}
	switch dc := p.r.PostFormValue("disk_config"); dc {
	case "":
	case "AUTO", "MANUAL":
		body["OS-DCF:diskConfig"] = dc
	default:
		return "", badRequest("The disk partition must be AUTO or MANUAL.")
	}
	if err := p.cl.do(p.ctx, "compute", "POST", "/servers/"+url.PathEscape(id)+"/action", map[string]any{"resize": body}, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Request to %s instance %q has been submitted.", p.T("resize"), orDefault(p.r.PostFormValue("name"), id))
	return "/project/instances/" + url.PathEscape(id) + "/", nil
}
