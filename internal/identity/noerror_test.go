package identity

import (
	"strings"
	"testing"
)

// TestNoServerErrors sends odd bodies and ids to every route, as an admin and
// as a member: whatever the answer, it is never a 500.
func TestNoServerErrors(t *testing.T) {
	c := newCloud(t, nil, testConfig())
	admin := c.login("admin", adminPW, adminScope())
	system := c.login("admin", adminPW, `,"scope":{"system":{"all":true}}`)
	member := c.login("demo", demoPW, "")
	demoID := mustUser(t, c, "demo")
	bodies := []string{``, `{}`, `[]`, `null`, `"x"`, `{"x":1}`,
		`{"%s":null}`, `{"%s":[]}`, `{"%s":{}}`, `{"%s":{"name":1}}`, `{"%s":{"name":"n","enabled":"x"}}`,
		`{"%s":{"name":"n","domain_id":"nope","parent_id":"nope","project_id":"nope","user_id":"nope","service_id":"nope"}}`,
		`{"%s":{"name":"n","roles":[{"id":"nope"}],"expires_at":"soon","remaining_uses":1.0,"trustor_user_id":"` + demoID + `","trustee_user_id":"` + demoID + `","impersonation":false}}`,
		`{"%s":[{"service_id":"nope","resource_name":"r","default_limit":1.0}]}`,
		`{"%s":{"identity":{"driver":"x"},"ldap":{"nope":1}}}`,
		`{"%s":{"type":"ec2","blob":"{}","user_id":"u","project_id":"p"}}`,
	}
	n := 0
	defer func() { t.Logf("%d requests", n) }()
	ids := []string{"nope", demoID, "default", strings.Repeat("x", 300), "%00"}
	for _, tables := range c.svc.routes() {
		for _, rt := range tables {
			if rt.Public && rt.Method == "GET" {
				continue
			}
			key := memberKey(rt.Path)
			for _, id := range ids {
				path := fillParams(rt.Path, id)
				for _, tok := range []string{admin, system, member} {
					for _, b := range bodies {
						if rt.Method == "GET" || rt.Method == "DELETE" {
							if b != "" {
								continue
							}
						}
						body := strings.ReplaceAll(b, "%s", key)
						st, _, out := c.call(rt.Method, path, tok, body)
						n++
						if st >= 500 {
							t.Fatalf("%s %s %q: %d %v", rt.Method, path, body, st, out)
						}
					}
				}
			}
		}
	}
}

// fillParams puts id in every {param} of a route path.
func fillParams(path, id string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			b.WriteString(path)
			return b.String()
		}
		j := strings.IndexByte(path[i:], '}')
		b.WriteString(path[:i])
		b.WriteString(id)
		path = path[i+j+1:]
	}
}

// memberKey guesses the body's top-level member from the path.
func memberKey(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if strings.HasPrefix(s, "{") || s == "v3" || strings.HasPrefix(s, "OS-") {
			continue
		}
		switch s {
		case "policies":
			return "policy"
		case "registered_limits", "limits":
			return s
		case "config":
			return "config"
		case "password":
			return "user"
		case "tags":
			return "tags"
		}
		if strings.HasSuffix(s, "ies") {
			return strings.TrimSuffix(s, "ies") + "y"
		}
		return strings.TrimSuffix(s, "s")
	}
	return "x"
}
