package dashboard

import (
	"net/url"
	"sort"
	"strings"

	compute "github.com/tenku-cloud/tenku/api/compute"
)

// serverGroupPolicies are the policies Nova accepts (2.64).
var serverGroupPolicies = []string{"anti-affinity", "affinity", "soft-anti-affinity", "soft-affinity"}

type serverGroupsData struct {
	Groups   []compute.ServerGroup
	Policies []string
}

func (d *Dashboard) serverGroupsPage(p *page) error {
	p.Title = "Server Groups"
	var out struct {
		ServerGroups []compute.ServerGroup `json:"server_groups"`
	}
	if err := p.cl.get(p.ctx, "compute", "/os-server-groups", &out); err != nil {
		return err
	}
	sort.Slice(out.ServerGroups, func(i, j int) bool { return out.ServerGroups[i].Name < out.ServerGroups[j].Name })
	p.Data = &serverGroupsData{Groups: out.ServerGroups, Policies: serverGroupPolicies}
	return nil
}

// createServerGroup sends the form's name and policy to Nova, which judges
// them.
func (d *Dashboard) createServerGroup(p *page) (string, error) {
	name := strings.TrimSpace(p.r.PostFormValue("name"))
	body := map[string]any{"server_group": map[string]any{"name": name, "policy": p.r.PostFormValue("policy")}}
	if err := p.cl.do(p.ctx, "compute", "POST", "/os-server-groups", body, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Created server group %q.", name)
	return "/project/server_groups/", nil
}

func (d *Dashboard) deleteServerGroup(p *page) (string, error) {
	if err := p.cl.do(p.ctx, "compute", "DELETE", "/os-server-groups/"+url.PathEscape(p.r.PathValue("id")), nil, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Deleted the server group.")
	return "/project/server_groups/", nil
}
