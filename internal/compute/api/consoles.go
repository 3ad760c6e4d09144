package api

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// POST /servers/{id}/remote-consoles (2.6+), the one call that replaced
// the os-get*Console actions: the body's protocol and type are checked as
// Nova's schema checks them (mks and webmks from 2.8), a type that does not
// belong to its protocol is Nova's ConsoleTypeInvalid, and since tenku runs
// no console proxy (no serial, VNC, SPICE, RDP or MKS proxy service) every
// valid request gets Nova's answer for a console type that is not enabled,
// 400 ConsoleTypeUnavailable, after the server is found and the policy
// allows it.
func (a *API) consoleRoutes() []rest.Route {
	return []rest.Route{
		{Method: "POST", Path: "/v2.1/servers/{server_id}/remote-consoles", Handler: a.createRemoteConsole, Min: rest.V(2, 6)},
	}
}

// consoleTypes are each protocol's console types.
var consoleTypes = map[string][]string{
	"vnc": {"novnc", "xvpvnc"}, "spice": {"spice-html5"}, "rdp": {"rdp-html5"}, "serial": {"serial"}, "mks": {"webmks"},
}

func (a *API) createRemoteConsole(ctx context.Context, r *rest.Request) (any, error) {
	var body map[string]json.RawMessage
	if err := r.Decode(&body); err != nil {
		return nil, err
	}
	raw, ok := body["remote_console"]
	for k := range body {
		if k != "remote_console" {
			return nil, fault.BadRequest("Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	if !ok {
		return nil, fault.BadRequest("Invalid input for field/attribute remote_console. 'remote_console' is a required property")
	}
	var rc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rc); err != nil {
		return nil, fault.BadRequest("Invalid input for field/attribute remote_console. Value: %s. %s is not of type 'object'", raw, raw)
	}
	mks := r.Version.AtLeast(rest.V(2, 8))
	field := func(name string, valid func(string) bool) (string, error) {
		v, ok := rc[name]
		if !ok {
			return "", fault.BadRequest("Invalid input for field/attribute remote_console. '%s' is a required property", name)
		}
		var s string
		if json.Unmarshal(v, &s) != nil || !valid(s) {
			return "", fault.BadRequest("Invalid input for field/attribute %s. Value: %s. %s is not one of the allowed values", name, v, v)
		}
		return s, nil
	}
	for k := range rc {
		if k != "protocol" && k != "type" {
			return nil, fault.BadRequest("Invalid input for field/attribute remote_console. Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	protocol, err := field("protocol", func(s string) bool { _, ok := consoleTypes[s]; return ok && (s != "mks" || mks) })
	if err != nil {
		return nil, err
	}
	kind, err := field("type", func(s string) bool {
		for p, ts := range consoleTypes {
			if slices.Contains(ts, s) && (p != "mks" || mks) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	inst, err := a.getInstance(ctx, r, r.Param("server_id"), store.GetOptions{})
	if err != nil {
		return nil, err
	}
	if err := a.enforceFor(ctx, r, "os_compute_api:os-remote-consoles", inst); err != nil {
		return nil, err
	}
	if !slices.Contains(consoleTypes[protocol], kind) {
		return nil, fault.BadRequest("Invalid console type %s", kind).WithType("ConsoleTypeInvalid")
	}
	return nil, fault.BadRequest("Unavailable console type %s.", kind).WithType("ConsoleTypeUnavailable")
}
