package dashboard

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"

	compute "github.com/tenku-cloud/tenku/api/compute"
	image "github.com/tenku-cloud/tenku/api/image"
)

type keypairsData struct {
	Keypairs   []compute.Keypair
	PrivateKey string
	NewName    string
}

func (d *Dashboard) keypairs(p *page) error {
	p.Title = "Key Pairs"
	var out struct {
		Keypairs []struct{ Keypair compute.Keypair }
	}
	if err := p.cl.get(p.ctx, "compute", "/os-keypairs", &out); err != nil {
		return err
	}
	data := &keypairsData{}
	for _, k := range out.Keypairs {
		data.Keypairs = append(data.Keypairs, k.Keypair)
	}
	p.Data = data
	return nil
}

// createKeypair imports a public key, or has Nova make a pair and shows the
// private key once, on the page that answers the form (never stored).
func (d *Dashboard) createKeypair(w http.ResponseWriter, r *http.Request) {
	d.action(func(p *page) (string, error) {
		name := strings.TrimSpace(p.r.PostFormValue("name"))
		kp := map[string]any{"name": name}
		if pub := strings.TrimSpace(p.r.PostFormValue("public_key")); pub != "" {
			kp["public_key"] = pub
		}
		var out struct{ Keypair compute.Keypair }
		if err := p.cl.do(p.ctx, "compute", "POST", "/os-keypairs", map[string]any{"keypair": kp}, &out); err != nil {
			return "", err
		}
		if out.Keypair.PrivateKey == "" {
			d.flashT(p, "Imported key pair %q.", name)
			return "/project/key_pairs/", nil
		}
		if err := d.keypairs(p); err != nil {
			return "", err
		}
		p.Name = "keypairs"
		data := p.Data.(*keypairsData)
		data.PrivateKey, data.NewName = out.Keypair.PrivateKey, name
		p.say("Created key pair %q. Save its private key now: it is shown only once.", name)
		d.render(p.w, "keypairs", p, http.StatusOK)
		return "", nil
	})(w, r)
}

func (d *Dashboard) deleteKeypair(p *page) (string, error) {
	name := p.r.PathValue("name")
	if err := p.cl.do(p.ctx, "compute", "DELETE", "/os-keypairs/"+url.PathEscape(name), nil, nil); err != nil {
		return "", err
	}
	d.flashT(p, "Deleted key pair %q.", name)
	return "/project/key_pairs/", nil
}

type imagesData struct {
	Images []image.Image
	Pager  *pager
}

func (d *Dashboard) imagesPage(p *page) error {
	p.Title = "Images"
	pg := d.newPager(p.r)
	imgs, err := imagePage(p.ctx, p.cl, pg)
	if err != nil {
		return err
	}
	p.Data = &imagesData{Images: imgs, Pager: pg}
	return nil
}

// uploadImage creates an image from the form and streams the file part to
// Glance as it arrives: the file is never held in memory or on disk.
func (d *Dashboard) uploadImage(w http.ResponseWriter, r *http.Request) {
	if !d.sameOrigin(r) {
		http.Error(w, "Forbidden: the form was not sent from this dashboard.", http.StatusForbidden)
		return
	}
	p := d.begin(w, r)
	if p == nil {
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, "Bad request: the upload is not a multipart form.", http.StatusBadRequest)
		return
	}
	fields := map[string]string{}
	var id string
	fail := func(err error) {
		if id != "" {
			p.cl.do(context.WithoutCancel(p.ctx), "image", "DELETE", "/v2/images/"+url.PathEscape(id), nil, nil)
		}
		if d.handleAuthError(p, err) {
			return
		}
		p.Name, p.Title = "error", "Error"
		p.fail(err)
		d.render(w, "error", p, http.StatusOK)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(badRequest("the upload was cut: %s", err.Error()))
			return
		}
		if part.FormName() != "file" {
			b, _ := io.ReadAll(io.LimitReader(part, 64<<10))
			fields[part.FormName()] = string(b)
			continue
		}
		// The file comes last; every other field must already be known.
		if !sameToken(fields["csrfmiddlewaretoken"], p.s.CSRF) {
			http.Error(w, "Forbidden: the form's CSRF token is missing or wrong; reload the page and try again.", http.StatusForbidden)
			return
		}
		name := strings.TrimSpace(fields["name"])
		if name == "" {
			name = part.FileName()
		}
		body := map[string]any{"name": name, "disk_format": orDefault(fields["disk_format"], "raw"),
			"container_format": orDefault(fields["container_format"], "bare"), "visibility": orDefault(fields["visibility"], "private")}
		var img image.Image
		if err := p.cl.do(p.ctx, "image", "POST", "/v2/images", body, &img); err != nil {
			fail(err)
			return
		}
		id = img.ID
		u, _ := p.cl.url("image", "/v2/images/"+url.PathEscape(id)+"/file")
		req, _ := http.NewRequestWithContext(p.ctx, "PUT", u, part)
		req.Header.Set("X-Auth-Token", p.s.Token)
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := d.client.http.Do(req)
		if err != nil {
			fail(&APIError{Service: "image", Status: http.StatusBadGateway, Message: err.Error()})
			return
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			fail(&APIError{Service: "image", Status: resp.StatusCode, Message: errorMessage(data, resp.Status), RequestID: requestID(resp.Header)})
			return
		}
		d.flashT(p, "Uploaded image %q.", name)
		http.Redirect(w, r, "/project/images/", http.StatusSeeOther)
		return
	}
	fail(badRequest("choose a file to upload"))
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// deleteImage deletes an image and sends the user back to the list.
func (d *Dashboard) deleteImage(back string) func(*page) (string, error) {
	return func(p *page) (string, error) {
		if err := p.cl.do(p.ctx, "image", "DELETE", "/v2/images/"+url.PathEscape(p.r.PathValue("id")), nil, nil); err != nil {
			return "", err
		}
		d.flashT(p, "Deleted the image.")
		return back, nil
	}
}
