package dashboard

import (
	"net/url"
	"strconv"
	"strings"
)

// launchExtras adds the wizard's further options to a server's create
// body, as Horizon's launch dialog sends them: the description, the
// availability zone, the server group (a scheduler hint) and the boot
// source: the image itself, a root volume Nova makes of the image ("Create
// New Volume") or an existing bootable volume (source "Volume", Horizon's
// "Select Boot Source"), both as block_device_mapping_v2 and deleted with
// the instance when asked; a server booted from a volume sends no imageRef.
// The hints go beside "server" in the request body.
func launchExtras(f url.Values, srv map[string]any) (hints map[string]any, err error) {
	if v := strings.TrimSpace(f.Get("description")); v != "" {
		srv["description"] = v
	}
	if z := f.Get("availability_zone"); z != "" {
		srv["availability_zone"] = z
	}
	if g := f.Get("server_group"); g != "" {
		hints = map[string]any{"group": g}
	}
	switch f.Get("source_type") {
	case "", "image":
	case "volume":
		v := f.Get("volume")
		if v == "" {
			return nil, badRequest("Choose a volume to boot from.")
		}
		delete(srv, "imageRef")
		srv["block_device_mapping_v2"] = []map[string]any{{
			"boot_index": 0, "uuid": v, "source_type": "volume", "destination_type": "volume",
			"delete_on_termination": f.Get("delete_on_termination") != "",
		}}
		return hints, nil
	default:
		return nil, badRequest("The boot source must be an image or a volume.")
	}
	if f.Get("new_volume") == "" {
		return hints, nil
	}
	size, err := strconv.Atoi(f.Get("volume_size"))
	if err != nil || size < 1 {
		return nil, badRequest("The volume size must be a whole number of GiB, at least 1.")
	}
	srv["block_device_mapping_v2"] = []map[string]any{{
		"boot_index": 0, "uuid": srv["imageRef"], "source_type": "image", "destination_type": "volume",
		"volume_size": size, "delete_on_termination": f.Get("delete_on_termination") != "",
	}}
	srv["imageRef"] = ""
	return hints, nil
}
