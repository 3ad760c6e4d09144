package identity

import (
	"testing"
	"time"
)

func TestApplicationCredentialsAndTrusts(t *testing.T) {
	c := newCloud(t, nil, testConfig())
	demoID := mustUser(t, c, "demo")
	demo := c.login("demo", demoPW, "")
	st, _, body := c.call("POST", "/v3/users/"+demoID+"/application_credentials", demo,
		`{"application_credential":{"name":"ci","access_rules":[{"service":"compute","path":"/v2.1/servers","method":"GET"}]}}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, body)
	}
	ac := body["application_credential"].(map[string]any)
	secret, id := ac["secret"].(string), ac["id"].(string)
	if secret == "" || len(ac["roles"].([]any)) != 2 { // member and the reader it implies
		t.Fatalf("app cred: %v", ac)
	}
	login := `{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":"` + id + `","secret":"` + secret + `"}}}}`
	st, h, body := c.call("POST", "/v3/auth/tokens", "", login)
	if st != 201 {
		t.Fatalf("app cred login: %d %v", st, body)
	}
	tok := body["token"].(map[string]any)
	if tok["application_credential"] == nil || tok["project"] == nil {
		t.Fatalf("app cred token: %v", tok)
	}
	acTok := h.Get("X-Subject-Token")
	// Only a service that enforces access rules may validate such a token.
	if st, _, _ := c.call("GET", "/v3/auth/tokens", demo, "", "X-Subject-Token", acTok); st != 404 {
		t.Fatalf("access-rule token validated for a service that does not enforce rules: %d", st)
	}
	if st, _, _ := c.call("GET", "/v3/auth/tokens", demo, "", "X-Subject-Token", acTok, "OpenStack-Identity-Access-Rules", "1.0"); st != 200 {
		t.Fatalf("access-rule token refused to a service that enforces rules: %d", st)
	}
	// A restricted app cred cannot make more app creds.
	if st, _, _ := c.call("POST", "/v3/users/"+demoID+"/application_credentials", acTok, `{"application_credential":{"name":"more"}}`); st != 403 {
		t.Fatalf("restricted app cred made another: %d", st)
	}
	// Wrong secret, scope request: 401.
	if st, _, _ := c.call("POST", "/v3/auth/tokens", "", `{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":"`+id+`","secret":"nope"}}}}`); st != 401 {
		t.Fatalf("wrong secret: %d", st)
	}
	// The access rule is listed and cannot go while in use.
	st, _, body = c.call("GET", "/v3/users/"+demoID+"/access_rules", demo, "")
	rules := body["access_rules"].([]any)
	if st != 200 || len(rules) != 1 {
		t.Fatalf("access rules: %d %v", st, body)
	}
	arID := rules[0].(map[string]any)["id"].(string)
	if st, _, _ := c.call("DELETE", "/v3/users/"+demoID+"/access_rules/"+arID, demo, ""); st != 403 {
		t.Fatalf("rule in use deleted: %d", st)
	}
	// Deleting the app cred kills its tokens.
	if st, _, _ := c.call("DELETE", "/v3/users/"+demoID+"/application_credentials/"+id, demo, ""); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st, _, _ := c.call("GET", "/v3/auth/catalog", acTok, ""); st != 401 {
		t.Fatalf("token of a deleted app cred: %d", st)
	}
	if st, _, _ := c.call("DELETE", "/v3/users/"+demoID+"/access_rules/"+arID, demo, ""); st != 204 {
		t.Fatalf("unused rule: %d", st)
	}

	// Trusts: admin (trustor) delegates member on demo to demo (trustee).
	admin := c.login("admin", adminPW, adminScope())
	adminID := mustUser(t, c, "admin")
	sn, _ := c.svc.snapshot(t.Context())
	var demoProject string
	for _, p := range sn.projects {
		if p.Name == "demo" {
			demoProject = p.ID
		}
	}
	exp := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	st, _, body = c.call("POST", "/v3/OS-TRUST/trusts", admin, `{"trust":{"trustor_user_id":"`+adminID+`","trustee_user_id":"`+demoID+`","project_id":"`+demoProject+`","impersonation":true,"roles":[{"name":"member"}],"expires_at":"`+exp+`"}}`)
	if st != 201 {
		t.Fatalf("trust: %d %v", st, body)
	}
	tr := body["trust"].(map[string]any)
	if tr["expires_at"] != exp[:19]+".000000Z" {
		t.Errorf("trust expiry rendered %v", tr["expires_at"])
	}
	trustID := tr["id"].(string)
	demo = c.login("demo", demoPW, "")
	st, _, body = c.call("POST", "/v3/auth/tokens", "", `{"auth":{"identity":{"methods":["token"],"token":{"id":"`+demo+`"}},"scope":{"OS-TRUST:trust":{"id":"`+trustID+`"}}}}`)
	if st != 201 {
		t.Fatalf("a token exchanged for a trust-scoped one (allow_rescope_scoped_token): %d %v", st, body)
	}
	st, h, body = c.call("POST", "/v3/auth/tokens", "", `{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"`+demoID+`","password":"`+demoPW+`"}}},"scope":{"OS-TRUST:trust":{"id":"`+trustID+`"}}}}`)
	if st != 201 {
		t.Fatalf("trust token: %d %v", st, body)
	}
	tt := body["token"].(map[string]any)
	if tt["OS-TRUST:trust"] == nil || tt["user"].(map[string]any)["id"] != adminID {
		t.Fatalf("impersonating trust token: %v", tt)
	}
	trustTok := h.Get("X-Subject-Token")
	// A trust-scoped token cannot be used to make another token.
	if st, _, _ := c.call("POST", "/v3/auth/tokens", "", `{"auth":{"identity":{"methods":["token"],"token":{"id":"`+trustTok+`"}}}}`); st != 403 {
		t.Fatalf("token from a trust-scoped token: %d", st)
	}
	if st, _, _ := c.call("DELETE", "/v3/OS-TRUST/trusts/"+trustID, admin, ""); st != 204 {
		t.Fatalf("delete trust: %d", st)
	}
	if st, _, _ := c.call("GET", "/v3/auth/tokens", admin, "", "X-Subject-Token", trustTok); st != 404 {
		t.Fatalf("trust token outlived the trust: %d", st)
	}
}
