package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
)

func (e *env) gopher(token string) *gophercloud.ServiceClient {
	pc := &gophercloud.ProviderClient{}
	pc.SetToken(token)
	return &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: e.srv.URL + "/v2.1/", ResourceBase: e.srv.URL + "/v2.1/", Microversion: "2.93", Type: "compute"}
}

func TestVersions(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do("GET", "/", "", "", nil).want(t, 200)
	vs, _ := r.Body["versions"].([]any)
	if len(vs) != 2 || obj(vs[1], "version") != "2.93" || obj(vs[1], "min_version") != "2.1" || obj(vs[1], "status") != "CURRENT" {
		t.Fatalf("versions: %s", r.Raw)
	}
	r = e.do("GET", "/v2.1/", "", "", nil).want(t, 200)
	if obj(r.Body, "version", "id") != "v2.1" || obj(r.Body, "version", "media-types") == nil {
		t.Fatalf("version: %s", r.Raw)
	}
	// Microversion negotiation.
	r = e.do("GET", "/v2.1/flavors", demoToken, "2.93", nil).want(t, 200)
	if r.Header.Get("OpenStack-API-Version") != "compute 2.93" || r.Header.Get("X-OpenStack-Nova-API-Version") != "2.93" {
		t.Fatalf("headers: %v", r.Header)
	}
	e.do("GET", "/v2.1/flavors", demoToken, "2.94", nil).want(t, 406)
	r = e.do("GET", "/v2.1/flavors", demoToken, "2.x", nil).want(t, 400)
	if k, _ := r.fault(); k != "badRequest" {
		t.Fatalf("bad version fault: %s", r.Raw)
	}
	r = e.do("GET", "/v2.1/flavors", demoToken, "latest", nil).want(t, 200)
	if r.Header.Get("OpenStack-API-Version") != "compute 2.93" {
		t.Fatal("latest is not the maximum")
	}
	// Unauthenticated requests get keystonemiddleware's 401.
	e.do("GET", "/v2.1/flavors", "", "", nil).want(t, 401)
	// A project id in the path is accepted.
	e.do("GET", "/v2.1/"+demoProject+"/flavors", demoToken, "", nil).want(t, 200)
	r = e.do("GET", "/v2.1/nonexistent", demoToken, "", nil).want(t, 404)
	if k, _ := r.fault(); k != "itemNotFound" {
		t.Fatalf("404 fault: %s", r.Raw)
	}
}

func TestFlavors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	admin, demo := e.gopher(adminToken), e.gopher(demoToken)

	pages, err := flavors.ListDetail(demo, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := flavors.ExtractFlavors(pages)
	if len(all) != 2 || all[0].Name != "m1.tiny" || all[0].RAM != 512 {
		t.Fatalf("flavors: %+v", all)
	}
	f, err := flavors.Create(ctx, admin, flavors.CreateOpts{Name: "private1", RAM: 64, VCPUs: 1, Disk: gophercloud.IntToPointer(0), IsPublic: gophercloud.Disabled, ID: "p1"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if f.IsPublic || f.ID != "p1" {
		t.Fatalf("created: %+v", f)
	}
	// demo cannot see or manage it.
	if _, err := flavors.Get(ctx, demo, "p1").Extract(); !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("private flavor visible: %v", err)
	}
	if _, err := flavors.Create(ctx, demo, flavors.CreateOpts{Name: "x", RAM: 64, VCPUs: 1, Disk: gophercloud.IntToPointer(0)}).Extract(); !gophercloud.ResponseCodeIs(err, 403) {
		t.Fatalf("demo created a flavor: %v", err)
	}
	if _, err := flavors.AddAccess(ctx, admin, "p1", flavors.AddAccessOpts{Tenant: demoProject}).Extract(); err != nil {
		t.Fatal(err)
	}
	if _, err := flavors.Get(ctx, demo, "p1").Extract(); err != nil {
		t.Fatalf("granted flavor invisible: %v", err)
	}
	acc, err := flavors.ListAccesses(admin, "p1").AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := flavors.ExtractAccesses(acc); len(l) != 1 || l[0].TenantID != demoProject {
		t.Fatalf("access list: %+v", l)
	}
	// Adding access to a public flavor is a conflict (2.7+).
	e.do("POST", "/v2.1/flavors/1/action", adminToken, "2.7", map[string]any{"addTenantAccess": map[string]string{"tenant": "x"}}).want(t, 409)
	e.do("GET", "/v2.1/flavors/1/os-flavor-access", adminToken, "", nil).want(t, 404)

	// Duplicate name and id.
	e.do("POST", "/v2.1/flavors", adminToken, "", map[string]any{"flavor": map[string]any{"name": "m1.tiny", "ram": 1, "vcpus": 1, "disk": 1}}).want(t, 409)
	e.do("POST", "/v2.1/flavors", adminToken, "", map[string]any{"flavor": map[string]any{"name": "new", "id": "1", "ram": 1, "vcpus": 1, "disk": 1}}).want(t, 409)
	// Bad input.
	for _, body := range []map[string]any{
		{"flavor": map[string]any{"name": "a", "ram": 0, "vcpus": 1, "disk": 1}},
		{"flavor": map[string]any{"name": "a", "ram": "-1", "vcpus": 1, "disk": 1}},
		{"flavor": map[string]any{"name": " a", "ram": 1, "vcpus": 1, "disk": 1}},
		{"flavor": map[string]any{"name": "a", "ram": 1, "vcpus": 1}},
		{"flavor": map[string]any{"name": "a", "ram": 1, "vcpus": 1, "disk": 1, "bogus": 1}},
		{"flavor": map[string]any{"name": "a", "ram": 1, "vcpus": 1, "disk": 1, "rxtx_factor": 0}},
		{"flavor": map[string]any{"name": "a", "ram": 1, "vcpus": 1, "disk": 1, "os-flavor-access:is_public": "maybe"}},
	} {
		r := e.do("POST", "/v2.1/flavors", adminToken, "", body)
		if r.Status != 400 {
			t.Errorf("%v: status %d %s", body, r.Status, r.Raw)
		}
	}
	// Numeric strings are accepted; a generated id is a UUID.
	r := e.do("POST", "/v2.1/flavors", adminToken, "2.75", map[string]any{"flavor": map[string]any{"name": "strs", "ram": "128", "vcpus": "2", "disk": "0"}}).want(t, 200)
	if obj(r.Body, "flavor", "vcpus") != 2.0 || len(obj(r.Body, "flavor", "id").(string)) != 36 || obj(r.Body, "flavor", "swap") != 0.0 {
		t.Fatalf("created: %s", r.Raw)
	}
	// swap is "" before 2.75; description from 2.55; extra_specs from 2.61.
	r = e.do("GET", "/v2.1/flavors/1", demoToken, "2.1", nil).want(t, 200)
	if obj(r.Body, "flavor", "swap") != "" || keysOf(obj(r.Body, "flavor"))["description"] {
		t.Fatalf("2.1 flavor: %s", r.Raw)
	}
	r = e.do("GET", "/v2.1/flavors/1", demoToken, "2.61", nil).want(t, 200)
	if !keysOf(obj(r.Body, "flavor"))["description"] || obj(r.Body, "flavor", "extra_specs") == nil {
		t.Fatalf("2.61 flavor: %s", r.Raw)
	}

	// Extra specs.
	r = e.do("POST", "/v2.1/flavors/1/os-extra_specs", adminToken, "", map[string]any{"extra_specs": map[string]any{"hw:cpu_policy": "dedicated", "n": 1}}).want(t, 200)
	if obj(r.Body, "extra_specs", "n") != "1" {
		t.Fatalf("extra specs: %s", r.Raw)
	}
	e.do("PUT", "/v2.1/flavors/1/os-extra_specs/n", adminToken, "", map[string]any{"n": "2"}).want(t, 200)
	e.do("PUT", "/v2.1/flavors/1/os-extra_specs/n", adminToken, "", map[string]any{"m": "2"}).want(t, 400)
	r = e.do("GET", "/v2.1/flavors/1/os-extra_specs/n", demoToken, "", nil).want(t, 200)
	if r.Body["n"] != "2" {
		t.Fatalf("extra spec: %s", r.Raw)
	}
	e.do("POST", "/v2.1/flavors/1/os-extra_specs", demoToken, "", map[string]any{"extra_specs": map[string]any{"a": "b"}}).want(t, 403)
	e.do("DELETE", "/v2.1/flavors/1/os-extra_specs/n", adminToken, "", nil).want(t, 200)
	e.do("DELETE", "/v2.1/flavors/1/os-extra_specs/n", adminToken, "", nil).want(t, 404)

	// Pagination: limit 1 gives a next link; a bad marker is a 400.
	r = e.do("GET", "/v2.1/flavors?limit=1", demoToken, "", nil).want(t, 200)
	if l, _ := r.Body["flavors"].([]any); len(l) != 1 || r.Body["flavors_links"] == nil {
		t.Fatalf("page: %s", r.Raw)
	}
	e.do("GET", "/v2.1/flavors?marker=nope", demoToken, "", nil).want(t, 400)
	r = e.do("GET", "/v2.1/flavors/detail?minRam=1024", demoToken, "", nil).want(t, 200)
	if l, _ := r.Body["flavors"].([]any); len(l) != 1 {
		t.Fatalf("minRam: %s", r.Raw)
	}
	e.do("GET", "/v2.1/flavors?sort_key=bogus", demoToken, "", nil).want(t, 400)
	e.do("GET", "/v2.1/flavors?bogus=1", demoToken, "2.75", nil).want(t, 400)

	// Description update (2.55) and delete.
	r = e.do("PUT", "/v2.1/flavors/1", adminToken, "2.55", map[string]any{"flavor": map[string]any{"description": "tiny one"}}).want(t, 200)
	if obj(r.Body, "flavor", "description") != "tiny one" {
		t.Fatalf("update: %s", r.Raw)
	}
	e.do("PUT", "/v2.1/flavors/1", adminToken, "2.54", map[string]any{"flavor": map[string]any{"description": "x"}}).want(t, 404)
	if err := flavors.Delete(ctx, admin, "p1").ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := flavors.Delete(ctx, admin, "p1").ExtractErr(); !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestKeypairs(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	demo := e.gopher(demoToken)
	_, err := keypairs.Create(ctx, demo, keypairs.CreateOpts{Name: "k1"}).Extract()
	if err == nil {
		t.Fatal("2.93 generated a key pair; 2.92 requires public_key")
	}
	demo.Microversion = "2.91"
	kp, err := keypairs.Create(ctx, demo, keypairs.CreateOpts{Name: "k1"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if kp.PrivateKey == "" || !strings.HasPrefix(kp.PublicKey, "ssh-rsa ") || kp.Type != "ssh" || len(kp.Fingerprint) != 47 {
		t.Fatalf("generated: %+v", kp)
	}
	pub := kp.PublicKey
	demo.Microversion = "2.93"
	imported, err := keypairs.Create(ctx, demo, keypairs.CreateOpts{Name: "k2", PublicKey: pub}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if imported.Fingerprint != kp.Fingerprint || imported.PrivateKey != "" {
		t.Fatalf("imported: %+v", imported)
	}
	e.do("POST", "/v2.1/os-keypairs", demoToken, "2.93", map[string]any{"keypair": map[string]any{"name": "k2", "public_key": pub}}).want(t, 409)
	e.do("POST", "/v2.1/os-keypairs", demoToken, "2.93", map[string]any{"keypair": map[string]any{"name": "bad", "public_key": "ssh-rsa notakey"}}).want(t, 400)
	e.do("POST", "/v2.1/os-keypairs", demoToken, "2.91", map[string]any{"keypair": map[string]any{"name": "bad/name"}}).want(t, 400)
	e.do("POST", "/v2.1/os-keypairs", demoToken, "2.93", map[string]any{"keypair": map[string]any{"name": "a@b.c", "public_key": pub}}).want(t, 201)
	r := e.do("POST", "/v2.1/os-keypairs", demoToken, "2.91", map[string]any{"keypair": map[string]any{"name": "x509", "type": "x509"}}).want(t, 201)
	if obj(r.Body, "keypair", "type") != "x509" || !strings.Contains(obj(r.Body, "keypair", "public_key").(string), "BEGIN CERTIFICATE") {
		t.Fatalf("x509: %s", r.Raw)
	}
	// 2.1 answers 200 and has no type.
	r = e.do("POST", "/v2.1/os-keypairs", demoToken, "2.1", map[string]any{"keypair": map[string]any{"name": "old"}}).want(t, 200)
	if keysOf(obj(r.Body, "keypair"))["type"] {
		t.Fatalf("2.1 create: %s", r.Raw)
	}
	r = e.do("GET", "/v2.1/os-keypairs/k1", demoToken, "2.2", nil).want(t, 200)
	for _, k := range []string{"public_key", "name", "fingerprint", "user_id", "deleted", "created_at", "updated_at", "deleted_at", "id", "type"} {
		if !keysOf(obj(r.Body, "keypair"))[k] {
			t.Errorf("keypair show lacks %s", k)
		}
	}
	pages, err := keypairs.List(demo, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := keypairs.ExtractKeyPairs(pages); len(l) != 5 {
		t.Fatalf("%d key pairs", len(l))
	}
	// Another user sees none of them; an admin can ask for demo's (2.10).
	e.do("GET", "/v2.1/os-keypairs/k1", altToken, "", nil).want(t, 404)
	e.do("GET", "/v2.1/os-keypairs/k1?user_id="+demoUser, adminToken, "2.10", nil).want(t, 200)
	e.do("GET", "/v2.1/os-keypairs/k1?user_id="+demoUser, altToken, "2.10", nil).want(t, 403)
	e.do("DELETE", "/v2.1/os-keypairs/k1", demoToken, "2.1", nil).want(t, 202)
	e.do("DELETE", "/v2.1/os-keypairs/k2", demoToken, "2.2", nil).want(t, 204)
	e.do("DELETE", "/v2.1/os-keypairs/k2", demoToken, "2.2", nil).want(t, 404)
	// Pagination (2.35).
	r = e.do("GET", "/v2.1/os-keypairs?limit=1", demoToken, "2.35", nil).want(t, 200)
	if l, _ := r.Body["keypairs"].([]any); len(l) != 1 || r.Body["keypairs_links"] == nil {
		t.Fatalf("keypair page: %s", r.Raw)
	}
}

func TestQuotasAndLimits(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	admin := e.gopher(adminToken)
	qs, err := quotasets.Get(ctx, admin, demoProject).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if qs.Instances != 10 || qs.Cores != 20 || qs.RAM != 51200 || qs.KeyPairs != 100 {
		t.Fatalf("defaults: %+v", qs)
	}
	r := e.do("GET", "/v2.1/os-quota-sets/"+demoProject, demoToken, "2.1", nil).want(t, 200)
	for _, k := range []string{"id", "floating_ips", "fixed_ips", "security_groups", "security_group_rules", "injected_files", "injected_file_content_bytes", "injected_file_path_bytes"} {
		if !keysOf(obj(r.Body, "quota_set"))[k] {
			t.Errorf("2.1 quota set lacks %s", k)
		}
	}
	r = e.do("GET", "/v2.1/os-quota-sets/"+demoProject, demoToken, "2.57", nil).want(t, 200)
	for _, k := range []string{"floating_ips", "injected_files"} {
		if keysOf(obj(r.Body, "quota_set"))[k] {
			t.Errorf("2.57 quota set has %s", k)
		}
	}
	// Another project's quotas are not the reader's to see.
	e.do("GET", "/v2.1/os-quota-sets/"+altProject, demoToken, "", nil).want(t, 403)
	// Update by admin; non-admins may not.
	e.do("PUT", "/v2.1/os-quota-sets/"+demoProject, demoToken, "", map[string]any{"quota_set": map[string]any{"instances": 5}}).want(t, 403)
	r = e.do("PUT", "/v2.1/os-quota-sets/"+demoProject, adminToken, "", map[string]any{"quota_set": map[string]any{"instances": 5, "cores": "7", "force": true}}).want(t, 200)
	if obj(r.Body, "quota_set", "instances") != 5.0 || obj(r.Body, "quota_set", "cores") != 7.0 || keysOf(obj(r.Body, "quota_set"))["id"] {
		t.Fatalf("update: %s", r.Raw)
	}
	e.do("PUT", "/v2.1/os-quota-sets/"+demoProject, adminToken, "", map[string]any{"quota_set": map[string]any{"instances": -2}}).want(t, 400)
	e.do("PUT", "/v2.1/os-quota-sets/"+demoProject, adminToken, "", map[string]any{"quota_set": map[string]any{"bogus": 1}}).want(t, 400)
	e.do("PUT", "/v2.1/os-quota-sets/"+demoProject, adminToken, "2.57", map[string]any{"quota_set": map[string]any{"injected_files": 1}}).want(t, 400)
	// User quotas stay within the project's.
	e.do("PUT", "/v2.1/os-quota-sets/"+demoProject+"?user_id="+demoUser, adminToken, "", map[string]any{"quota_set": map[string]any{"instances": 6}}).want(t, 400)
	e.do("PUT", "/v2.1/os-quota-sets/"+demoProject+"?user_id="+demoUser, adminToken, "", map[string]any{"quota_set": map[string]any{"instances": 3}}).want(t, 200)
	r = e.do("GET", "/v2.1/os-quota-sets/"+demoProject+"?user_id="+demoUser, adminToken, "", nil).want(t, 200)
	if obj(r.Body, "quota_set", "instances") != 3.0 {
		t.Fatalf("user quota: %s", r.Raw)
	}
	r = e.do("GET", "/v2.1/os-quota-sets/"+demoProject+"/detail", demoToken, "", nil).want(t, 200)
	if obj(r.Body, "quota_set", "instances", "limit") != 5.0 || obj(r.Body, "quota_set", "instances", "in_use") != 0.0 {
		t.Fatalf("detail: %s", r.Raw)
	}
	r = e.do("GET", "/v2.1/os-quota-sets/"+demoProject+"/defaults", demoToken, "", nil).want(t, 200)
	if obj(r.Body, "quota_set", "instances") != 10.0 {
		t.Fatalf("defaults: %s", r.Raw)
	}
	// Limits reflect the project's quota.
	r = e.do("GET", "/v2.1/limits", demoToken, "2.1", nil).want(t, 200)
	abs := obj(r.Body, "limits", "absolute")
	if obj(abs, "maxTotalInstances") != 5.0 || !keysOf(abs)["maxImageMeta"] || !keysOf(abs)["maxSecurityGroups"] {
		t.Fatalf("limits: %s", r.Raw)
	}
	r = e.do("GET", "/v2.1/limits", demoToken, "2.57", nil).want(t, 200)
	abs = obj(r.Body, "limits", "absolute")
	if keysOf(abs)["maxImageMeta"] || keysOf(abs)["maxPersonality"] || keysOf(abs)["maxSecurityGroups"] {
		t.Fatalf("2.57 limits: %s", r.Raw)
	}
	e.do("DELETE", "/v2.1/os-quota-sets/"+demoProject, adminToken, "", nil).want(t, 202)
	r = e.do("GET", "/v2.1/os-quota-sets/"+demoProject, demoToken, "", nil).want(t, 200)
	if obj(r.Body, "quota_set", "instances") != 10.0 {
		t.Fatalf("after delete: %s", r.Raw)
	}
	// Quota classes.
	r = e.do("PUT", "/v2.1/os-quota-class-sets/default", adminToken, "2.50", map[string]any{"quota_class_set": map[string]any{"instances": 20, "server_groups": 4}}).want(t, 200)
	if obj(r.Body, "quota_class_set", "instances") != 20.0 || keysOf(obj(r.Body, "quota_class_set"))["floating_ips"] {
		t.Fatalf("class update: %s", r.Raw)
	}
	r = e.do("GET", "/v2.1/os-quota-sets/"+demoProject, demoToken, "", nil).want(t, 200)
	if obj(r.Body, "quota_set", "instances") != 20.0 {
		t.Fatalf("class not applied: %s", r.Raw)
	}
	e.do("GET", "/v2.1/os-quota-class-sets/default", demoToken, "", nil).want(t, 403)
}
