package stack

import (
	"strings"
	"testing"
)

func TestParseLocalConf(t *testing.T) {
	lc := ParseLocalConf(strings.NewReader(`
[[post-config|$NOVA_CONF]]
[DEFAULT]
ADMIN_PASSWORD=ignored
[[local|localrc]]
ADMIN_PASSWORD=secret
export SERVICE_PASSWORD="svc pass"
DATABASE_PASSWORD='db' 
RABBIT_PASSWORD=rabbit # a comment
disable_service n-net
enable_service neutron q-svc q-agt
not a line
`))
	if lc.Vars["ADMIN_PASSWORD"] != "secret" || lc.Vars["SERVICE_PASSWORD"] != "svc pass" || lc.Vars["DATABASE_PASSWORD"] != "db" || lc.Vars["RABBIT_PASSWORD"] != "rabbit" {
		t.Fatalf("vars %v", lc.Vars)
	}
	if strings.Join(lc.Enable, ",") != "neutron,q-svc,q-agt" || strings.Join(lc.Disable, ",") != "n-net" {
		t.Fatalf("enable %v disable %v", lc.Enable, lc.Disable)
	}
	if len(lc.Problems) != 1 {
		t.Fatalf("problems %v", lc.Problems)
	}
	plain := ParseLocalConf(strings.NewReader("ADMIN_PASSWORD=x\ndisable_service horizon\n"))
	if plain.Vars["ADMIN_PASSWORD"] != "x" || plain.Disable[0] != "horizon" {
		t.Fatalf("localrc: %+v", plain)
	}
}
