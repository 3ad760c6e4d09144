package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
)

// TestEvacuateHost drives evacuateHost against a stand-in Nova: it lists
// the host's servers across projects, asks each to evacuate at 2.29
// (without onSharedStorage, which 2.14 removed), skips a server whose host
// only matches the filter as a pattern, reports Nova's refusal and fails
// when any server was not accepted.
func TestEvacuateHost(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "GET" && r.URL.Path == "/servers/detail":
			if r.URL.Query().Get("all_tenants") != "true" || r.URL.Query().Get("host") != "node1" {
				t.Errorf("list query %s", r.URL.RawQuery)
			}
			json.NewEncoder(w).Encode(map[string]any{"servers": []map[string]any{
				{"id": "s1", "name": "a", "OS-EXT-SRV-ATTR:host": "node1"},
				{"id": "s2", "name": "b", "OS-EXT-SRV-ATTR:host": "node1"},
				{"id": "s3", "name": "c", "OS-EXT-SRV-ATTR:host": "node10"},
			}})
		case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/action"):
			id := strings.Split(r.URL.Path, "/")[2]
			var body map[string]map[string]any
			json.NewDecoder(r.Body).Decode(&body)
			ev, ok := body["evacuate"]
			if !ok {
				t.Errorf("action body %v", body)
			}
			if _, ok := ev["onSharedStorage"]; ok {
				t.Errorf("onSharedStorage sent at 2.29: %v", ev)
			}
			if v := r.Header.Get("X-OpenStack-Nova-API-Version"); v != "2.29" {
				t.Errorf("microversion %q", v)
			}
			mu.Lock()
			asked[id] = ev["host"].(string)
			mu.Unlock()
			if id == "s2" {
				w.WriteHeader(409)
				w.Write([]byte(`{"conflictingRequest": {"code": 409, "message": "Compute service of node1 is still in use."}}`))
				return
			}
			w.WriteHeader(200)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	pc := &gophercloud.ProviderClient{HTTPClient: *srv.Client()}
	pc.SetToken("tok")
	c := &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: srv.URL + "/", Microversion: "2.29"}
	c.Type = "compute"
	var out bytes.Buffer
	err := evacuateHost(context.Background(), &out, c, "node1", "node2", 0)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 servers on node1 were not evacuated") {
		t.Fatalf("err = %v", err)
	}
	if len(asked) != 2 || asked["s1"] != "node2" || asked["s2"] != "node2" {
		t.Fatalf("evacuations asked %v, want s1 and s2 to node2 (s3 is on node10)", asked)
	}
	text := out.String()
	for _, want := range []string{"s1", "true", "s2", "false", "still in use"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "s3") {
		t.Errorf("output names s3, which is not on node1:\n%s", text)
	}
}
