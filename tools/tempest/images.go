package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Real guests boot what tempest's image_ref and image_ref_alt name, and
// rebuild tests want two distinct images: the test image is registered a
// second time under altImageName, the same disk with the same kernel and
// ramdisk properties, as a devstack with two cirros images has it.
const altImageName = "tenku-testimage-alt"

// Flavors real guests use (devstack's cirros256 and ds512M): the test
// image runs in 256 MiB, and the alternate flavor has a bigger root disk,
// so that a resize grows it, with no more memory for TCG to find.
var realGuestFlavors = []string{"c1", "d1"}

// copyImage registers a public copy of image src (its bytes and the
// properties a boot needs) under name, and returns the copy's id.
func copyImage(ctx context.Context, glance, token, src, name string) (string, error) {
	do := func(method, url, ctype string, body io.Reader, want int) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, method, url, body)
		if err != nil {
			return nil, err
		}
		req.Header.Set("X-Auth-Token", token)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != want {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			return nil, fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, strings.TrimSpace(string(b)))
		}
		return resp, nil
	}
	resp, err := do("GET", glance+"/v2/images/"+src, "", nil, 200)
	if err != nil {
		return "", err
	}
	var meta map[string]any
	err = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	create := map[string]any{"name": name, "visibility": "public", "disk_format": meta["disk_format"], "container_format": meta["container_format"]}
	for k, v := range meta {
		boot := k == "kernel_id" || k == "ramdisk_id" || k == "os_command_line" || k == "os_distro" || k == "os_type" || strings.HasPrefix(k, "hw_")
		if s, ok := v.(string); ok && boot {
			create[k] = s
		}
	}
	body, _ := json.Marshal(create)
	resp, err = do("POST", glance+"/v2/images", "application/json", strings.NewReader(string(body)), 201)
	if err != nil {
		return "", err
	}
	var img struct{ ID string }
	err = json.NewDecoder(resp.Body).Decode(&img)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	data, err := do("GET", glance+"/v2/images/"+src+"/file", "", nil, 200)
	if err != nil {
		return "", err
	}
	defer data.Body.Close()
	up, err := do("PUT", glance+"/v2/images/"+img.ID+"/file", "application/octet-stream", data.Body, 204)
	if err != nil {
		return "", err
	}
	up.Body.Close()
	return img.ID, nil
}
