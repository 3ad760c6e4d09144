package dashboard

import (
	"net/url"
	"strconv"
	"strings"
)

// volume is a Cinder volume as the volumes page shows it.
type volume struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	Size        int    `json:"size"`
	VolumeType  string `json:"volume_type"`
	Bootable    string `json:"bootable"`
	CreatedAt   string `json:"created_at"`
	Attachments []struct {
		ServerID string `json:"server_id"`
		Device   string `json:"device"`
	} `json:"attachments"`
}

type volumesData struct {
	Volumes []volume
	Pager   *pager
}

// volumesPage lists one page of the project's volumes, newest first (the
// menu shows it only when the catalog has Cinder).
func (d *Dashboard) volumesPage(p *page) error {
	p.Title = "Volumes"
	pg := d.newPager(p.r)
	var out struct {
		Volumes []volume `json:"volumes"`
	}
	if err := p.cl.get(p.ctx, "volume", "/volumes/detail?"+pg.query("sort", true, "created_at", "id").Encode(), &out); err != nil {
		return err
	}
	p.Data = &volumesData{Volumes: cut(pg, out.Volumes, func(v volume) string { return v.ID }), Pager: pg}
	return nil
}

func (d *Dashboard) createVolume(p *page) (string, error) {
	name := strings.TrimSpace(p.r.PostFormValue("name"))
	size, err := strconv.Atoi(p.r.PostFormValue("size"))
	if err != nil || size < 1 {
		return "", badRequest("Size must be a whole number of GiB, at least 1.")
	}
	if err := p.cl.do(p.ctx, "volume", "POST", "/volumes", map[string]any{"volume": map[string]any{"name": name, "size": size}}, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Creating volume %q.", name)
	return "/project/volumes/", nil
}

func (d *Dashboard) deleteVolume(p *page) (string, error) {
	if err := p.cl.do(p.ctx, "volume", "DELETE", "/volumes/"+url.PathEscape(p.r.PathValue("id")), nil, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Deleting the volume.")
	return "/project/volumes/", nil
}
