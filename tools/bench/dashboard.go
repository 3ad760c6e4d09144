package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Figures of the dashboard suite (issue: the dashboard): the server time of
// every page with 1,000 instances, 200 networks and 500 images in the
// project, the bytes of the instances page's first load, and the RSS the
// dashboard adds to the stack.
const (
	benchServers  = 1000
	benchNetworks = 200
	benchImages   = 500
)

// benchNovaConf makes the fake hypervisor big enough for the servers.
const benchNovaConf = `[DEFAULT]
compute_driver = fake
[fake_driver]
vcpus = 4000
memory_mb = 4000000
local_gb = 100000
`

// dashboardPages are the pages timed, as the admin user in the admin project.
var dashboardPages = []string{
	"/project/", "/project/instances/", "/project/networks/", "/project/network_topology/", "/project/images/", "/project/key_pairs/",
	"/project/security_groups/", "/project/server_groups/", "/identity/", "/identity/application_credentials/",
	"/admin/hypervisors/", "/admin/instances/", "/admin/images/", "/admin/flavors/", "/admin/info/",
}

func dashboardSuite(e *env) error {
	ctx := context.Background()
	etc := filepath.Join(e.dir, "data", "etc")
	if err := os.MkdirAll(etc, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(etc, "nova.conf"), []byte(benchNovaConf), 0o600); err != nil {
		return err
	}
	// The cloud without the dashboard: fill it, then restart it idle.
	if _, err := e.start("--disable", "horizon"); err != nil {
		return err
	}
	tok, err := e.passwordToken(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := e.populate(ctx, tok); err != nil {
		return err
	}
	report(fmt.Sprintf("fill: %d servers, %d networks, %d images", benchServers, benchNetworks, benchImages), time.Since(t0).Seconds(), "s", "-")
	e.stop()
	if _, err := e.start("--disable", "horizon"); err != nil {
		return err
	}
	time.Sleep(5 * time.Second)
	without := e.rssMB()
	report("idle RSS, stack without dashboard", without, "MiB", "-")
	e.stop()

	if _, err := e.start(); err != nil {
		return err
	}
	time.Sleep(5 * time.Second)
	idle := e.rssMB()
	report("idle RSS, stack with dashboard", idle, "MiB", "-")
	report("RSS added by the dashboard, idle", idle-without, "MiB", "< 15 MB")
	base := "http://" + e.hostIP + ":8080"
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 60 * time.Second, Transport: e.client.Transport}
	if err := dashLogin(c, base, e.pass); err != nil {
		return err
	}
	// First load of the instances page: the HTML and what it links.
	wire, n, err := firstLoadBytes(c, base, "/project/instances/")
	if err != nil {
		return err
	}
	report("instances page first load, on the wire", float64(wire)/1024, "KiB", "< 300 KB")
	report("instances page first load, uncompressed", float64(n)/1024, "KiB", "-")
	for _, path := range dashboardPages {
		get := pageGetter(c, base, path)
		if err := get(); err != nil { // warm: the token's catalog is cached
			return err
		}
		lat, errs, _ := load(1, 3*time.Second, get)
		report("page "+path+" p50", ms(pct(lat, 0.5)), "ms", "-")
		report("page "+path+" p99", ms(pct(lat, 0.99)), "ms", "< 50 ms")
		if errs > 0 {
			report("page "+path+" errors", float64(errs), "", "0")
		}
	}
	// The instances page under load: four browsers of the same session at
	// once, on the two cores the stack shares with them.
	lat, errs, el := load(4, 5*time.Second, pageGetter(c, base, "/project/instances/"))
	report("page /project/instances/, 4 at once, p50", ms(pct(lat, 0.5)), "ms", "-")
	report("page /project/instances/, 4 at once, p99", ms(pct(lat, 0.99)), "ms", "< 50 ms")
	report("page /project/instances/, 4 at once, pages/s", float64(len(lat))/el.Seconds(), "/s", "-")
	if errs > 0 {
		report("page /project/instances/, 4 at once, errors", float64(errs), "", "0")
	}
	// The API calls the heaviest pages make, timed alone with the same
	// token, so that a page's time can be told from the services' own.
	tok, err = e.passwordToken(ctx)
	if err != nil {
		return err
	}
	h := "http://" + e.hostIP
	for _, call := range []struct{ name, url string }{
		{"nova servers/detail?limit=21", h + ":8774/v2.1/servers/detail?limit=21&sort_key=created_at&sort_dir=desc&sort_key=id&sort_dir=desc"},
		{"nova servers (all, short)", h + ":8774/v2.1/servers?limit=1000"},
		{"glance images?limit=21", h + ":9292/v2/images?limit=21"},
		{"neutron networks?limit=21", h + ":9696/v2.0/networks?limit=21&sort_key=name&sort_dir=asc&sort_key=id&sort_dir=asc"},
		{"neutron ports (project)", h + ":9696/v2.0/ports"},
	} {
		lat, errs, _ := load(1, 2*time.Second, func() error {
			return e.api(ctx, tok, "GET", call.url, nil, nil)
		})
		report("API "+call.name+" p50", ms(pct(lat, 0.5)), "ms", "-")
		report("API "+call.name+" p99", ms(pct(lat, 0.99)), "ms", "-")
		if errs > 0 {
			report("API "+call.name+" errors", float64(errs), "", "0")
		}
	}
	with := e.rssMB()
	report("RSS, stack with dashboard after the pages", with, "MiB", "-")
	report("RSS added, dashboard idle to after the pages", with-idle, "MiB", "-")
	if os.Getenv("BENCH_HOLD") != "" { // keep the filled cloud up to look at by hand
		fmt.Printf("holding: %s (admin password %s); interrupt to end\n", base, e.pass)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
	}
	return nil
}

var errorDiv = regexp.MustCompile(`class="alert error"[^>]*>([^<]*)<`)

func errorLine(body []byte) string {
	if m := errorDiv.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return ""
}

var inputRe = regexp.MustCompile(`<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"`)

// pageGetter returns a function that fetches one dashboard page and fails
// when it is not the page asked for or shows an error.
func pageGetter(c *http.Client, base, path string) func() error {
	return func() error {
		resp, err := c.Get(base + path)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Request.URL.Path != path {
			return fmt.Errorf("%s: %d at %s", path, resp.StatusCode, resp.Request.URL.Path)
		}
		if bytes.Contains(body, []byte(`class="alert error"`)) {
			return fmt.Errorf("%s shows an error: %s", path, errorLine(body))
		}
		return nil
	}
}

// dashLogin logs in as admin through the form, as a browser does.
func dashLogin(c *http.Client, base, pass string) error {
	resp, err := c.Get(base + "/auth/login/")
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"username": {"admin"}, "password": {pass}, "domain": {"Default"}}
	for _, m := range inputRe.FindAllSubmatch(page, -1) {
		if k := string(m[1]); k == "csrfmiddlewaretoken" || k == "region" {
			form.Set(k, string(m[2]))
		}
	}
	resp, err = c.PostForm(base+"/auth/login/", form)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/project/" {
		return fmt.Errorf("dashboard login ended at %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	return nil
}

var linkedRe = regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)

// firstLoadBytes is the size of a page and the static files it links, as a
// browser with an empty cache fetches them (Accept-Encoding: gzip): the
// bytes on the wire, and the same uncompressed.
func firstLoadBytes(c *http.Client, base, path string) (wire, plain int, err error) {
	fetch := func(p string) ([]byte, error) {
		req, _ := http.NewRequest("GET", base+strings.ReplaceAll(p, "&amp;", "&"), nil)
		req.Header.Set("Accept-Encoding", "gzip") // set by hand, the transport leaves the body compressed
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("%s: %d", p, resp.StatusCode)
		}
		wire += len(b)
		if resp.Header.Get("Content-Encoding") != "gzip" {
			plain += len(b)
			return b, nil
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		u, err := io.ReadAll(zr)
		plain += len(u)
		return u, err
	}
	page, err := fetch(path)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range linkedRe.FindAllSubmatch(page, -1) {
		if _, err := fetch(string(m[1])); err != nil {
			return 0, 0, err
		}
	}
	return wire, plain, nil
}

// api calls one OpenStack API with the admin token.
func (e *env) api(ctx context.Context, tok, method, url string, body, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte: // image data
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequestWithContext(ctx, method, url, rd)
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("Content-Type", "application/json")
	if strings.Contains(url, "/file") {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// parallel runs fn(0..n-1) from 8 goroutines and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// populate gives the admin project its servers, networks and images.
func (e *env) populate(ctx context.Context, tok string) error {
	h := "http://" + e.hostIP
	nova, neutron, glance := h+":8774/v2.1", h+":9696/v2.0", h+":9292/v2"
	var tk struct {
		Token struct {
			Project struct{ ID string } `json:"project"`
		} `json:"token"`
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", e.auth+"/auth/tokens", nil)
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("X-Subject-Token", tok)
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	json.NewDecoder(resp.Body).Decode(&tk)
	resp.Body.Close()
	pid := tk.Token.Project.ID
	if err := e.api(ctx, tok, "PUT", nova+"/os-quota-sets/"+pid, map[string]any{"quota_set": map[string]int{"instances": -1, "cores": -1, "ram": -1}}, nil); err != nil {
		return err
	}
	if err := e.api(ctx, tok, "PUT", neutron+"/quotas/"+pid, map[string]any{"quota": map[string]int{"network": -1, "subnet": -1, "port": -1}}, nil); err != nil {
		return err
	}
	if err := e.api(ctx, tok, "POST", nova+"/flavors", map[string]any{"flavor": map[string]any{"name": "bench", "id": "bench", "vcpus": 1, "ram": 64, "disk": 0}}, nil); err != nil {
		return err
	}
	var netIDs = make([]string, benchNetworks)
	if err := parallel(benchNetworks, func(i int) error {
		var out struct{ Network struct{ ID string } }
		err := e.api(ctx, tok, "POST", neutron+"/networks", map[string]any{"network": map[string]any{"name": fmt.Sprintf("bench-net-%03d", i)}}, &out)
		netIDs[i] = out.Network.ID
		return err
	}); err != nil {
		return err
	}
	if err := e.api(ctx, tok, "POST", neutron+"/subnets", map[string]any{"subnet": map[string]any{"network_id": netIDs[0], "cidr": "10.200.0.0/20", "ip_version": 4}}, nil); err != nil {
		return err
	}
	imgIDs := make([]string, benchImages)
	if err := parallel(benchImages, func(i int) error {
		var out struct{ ID string }
		err := e.api(ctx, tok, "POST", glance+"/images", map[string]any{"name": fmt.Sprintf("bench-img-%03d", i), "disk_format": "raw", "container_format": "bare"}, &out)
		imgIDs[i] = out.ID
		return err
	}); err != nil {
		return err
	}
	if err := e.api(ctx, tok, "PUT", glance+"/images/"+imgIDs[0]+"/file", bytes.Repeat([]byte{0}, 1024), nil); err != nil {
		return err
	}
	if err := e.api(ctx, tok, "POST", nova+"/servers", map[string]any{"server": map[string]any{"name": "bench", "imageRef": imgIDs[0], "flavorRef": "bench",
		"networks": []map[string]string{{"uuid": netIDs[0]}}, "min_count": benchServers, "max_count": benchServers}}, nil); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var out struct {
			Servers []struct{ Status string } `json:"servers"`
		}
		if err := e.api(ctx, tok, "GET", nova+"/servers/detail?limit=2000", nil, &out); err != nil {
			return err
		}
		building := 0
		for _, s := range out.Servers {
			if s.Status == "BUILD" {
				building++
			}
		}
		if len(out.Servers) >= benchServers && building == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d servers, %d still building after 10 minutes", len(out.Servers), building)
		}
		time.Sleep(2 * time.Second)
	}
}
