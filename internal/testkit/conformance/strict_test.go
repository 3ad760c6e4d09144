package conformance_test

import (
	"strings"
	"testing"
)

// Requests OpenStack refuses are refused the same way (issue 13 §4): a
// project id in a Nova URL that is not the token's (400), an XML body (415),
// a well-formed microversion above the maximum however many digits (406),
// and Neutron's agents listed by a non-admin (200 with none, as Neutron
// filters the list by its get_agent rule; tempest's
// test_list_agents_non_admin asserts exactly that).
func TestStricterRequests(t *testing.T) {
	c := startCloud(t, nil)
	demo := c.Token(t, "demo", "demo")
	demoID, adminID := projectID(t, c, "demo"), projectID(t, c, "admin")
	nova := strings.TrimSuffix(strings.TrimSuffix(c.URLs["nova"], "/"), "/v2.1")
	neutron := strings.TrimSuffix(strings.TrimSuffix(c.URLs["neutron"], "/"), "/v2.0")

	code, out := rawRequest(t, "GET", nova+"/v2.1/"+adminID+"/servers", demo, "")
	want := "Malformed request URL: URL's project_id '" + adminID + "' doesn't match Context's project_id '" + demoID + "'"
	if code != 400 || !strings.Contains(out, want) {
		t.Errorf("another project's URL: %d %s, want 400 %q", code, out, want)
	}
	if code, out := rawRequest(t, "POST", nova+"/v2.1/"+adminID+"/os-keypairs", demo, `{"keypair":{"name":"k"}}`); code != 400 {
		t.Errorf("create under another project's URL: %d %s, want 400", code, out)
	}
	if code, out := rawRequest(t, "GET", nova+"/v2.1/"+demoID+"/servers", demo, ""); code != 200 {
		t.Errorf("own project's URL: %d %s", code, out)
	}
	if code, out := rawRequest(t, "POST", nova+"/v2.1/os-keypairs", demo, `<keypair name="k"/>`, "Content-Type", "application/xml"); code != 415 {
		t.Errorf("an XML body: %d %s, want 415", code, out)
	}
	for _, v := range []string{"9.99", "2.100000000000000000000", "100000000000000000000.1"} {
		if code, out := rawRequest(t, "GET", nova+"/v2.1/servers", demo, "", "OpenStack-API-Version", "compute "+v); code != 406 {
			t.Errorf("microversion %s: %d %s, want 406", v, code, out)
		}
	}
	if code, out := rawRequest(t, "GET", nova+"/v2.1/servers", demo, "", "OpenStack-API-Version", "compute 2.x"); code != 400 {
		t.Errorf("malformed microversion: %d %s, want 400", code, out)
	}
	if code, out := rawRequest(t, "GET", neutron+"/v2.0/agents", demo, ""); code != 200 || strings.TrimSpace(out) != `{"agents":[]}` {
		t.Errorf("agents as a member: %d %s, want 200 {\"agents\":[]}", code, out)
	}
	if code, out := rawRequest(t, "GET", neutron+"/v2.0/agents", c.Token(t, "admin", "admin"), ""); code != 200 {
		t.Errorf("agents as admin: %d %s", code, out)
	}
}
