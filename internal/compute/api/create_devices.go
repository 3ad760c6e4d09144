package api

import (
	"context"
	"net"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/compute/clients"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
)

// parseNetworks resolves the "networks" of a create request into concrete
// networks and ports, as Nova's network API validates them.
func (a *API) parseNetworks(ctx context.Context, r *rest.Request, sd map[string]any, cr *createReq, project string) error {
	v, present := sd["networks"]
	if !present && r.Version.AtLeast(rest.V(2, 37)) {
		return badRequest("Invalid input for field/attribute networks. 'networks' is a required property")
	}
	if s, isStr := v.(string); isStr {
		if !r.Version.AtLeast(rest.V(2, 37)) || (s != "auto" && s != "none") {
			return badRequest("Invalid input for field/attribute networks. Value: %s. '%s' is not of type 'array'", s, s)
		}
		if s == "none" {
			cr.netMode = "none"
			return nil
		}
		cr.netMode = "auto"
		return a.autoNetwork(ctx, cr, project, true)
	}
	if !present {
		return a.autoNetwork(ctx, cr, project, false)
	}
	list, ok := v.([]any)
	if !ok {
		return badRequest("Bad networks format")
	}
	if len(list) > 0 {
		if err := r.Enforce(ctx, "os_compute_api:servers:create:attach_network", nil); err != nil {
			return err
		}
	}
	var ports []string
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return badRequest("Bad networks format")
		}
		for k := range m {
			if k != "uuid" && k != "port" && k != "fixed_ip" && !(k == "tag" && r.Version.AtLeast(rest.V(2, 32))) {
				return badRequest("Invalid input for field/attribute networks. Additional properties are not allowed ('%s' was unexpected)", k)
			}
		}
		req := objects.RequestedNetwork{}
		req.PortID, _ = str(m["port"])
		req.FixedIP, _ = str(m["fixed_ip"])
		req.Tag, _ = str(m["tag"])
		if req.FixedIP != "" && net.ParseIP(req.FixedIP) == nil {
			return badRequest("Invalid fixed IP address (%s)", req.FixedIP)
		}
		if req.PortID != "" {
			if slices.Contains(ports, req.PortID) {
				return badRequest("Port ID '%s' was specified twice: you cannot attach a port multiple times.", req.PortID)
			}
			if _, has := m["fixed_ip"]; has {
				return badRequest("Specified Fixed IP '%s' cannot be used with port '%s': the two cannot be specified together.", req.FixedIP, req.PortID)
			}
			ports = append(ports, req.PortID)
			p, err := a.d.Network.Port(ctx, req.PortID)
			if err != nil {
				if fault.IsNotFound(err) {
					return badRequest("Port id %s could not be found.", req.PortID)
				}
				return err
			}
			if p.DeviceID != "" {
				return fault.Conflict("Port %s is still in use.", req.PortID).WithType("PortInUse")
			}
			if cr.maxCount > 1 {
				return badRequest("Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.")
			}
			req.NetworkID = p.NetworkID
		} else {
			id, _ := str(m["uuid"])
			if _, present := m["uuid"]; !present {
				return badRequest("Bad network format: missing 'uuid'")
			}
			if _, err := uuid.Parse(id); err != nil {
				return badRequest("Bad networks format: network uuid is not in proper format (%s)", id)
			}
			nw, err := a.d.Network.Network(ctx, id)
			if err != nil {
				if fault.IsNotFound(err) {
					return badRequest("Network %s could not be found.", id)
				}
				return err
			}
			if nw.External && !nw.Shared && nw.ProjectID != project && !isAdmin(r) {
				return fault.Forbidden("It is not allowed to create an interface on external network %s", id).WithType("ExternalNetworkAttachForbidden")
			}
			if req.FixedIP != "" && cr.maxCount > 1 {
				return badRequest("max_count cannot be greater than 1 if an fixed_ip is specified.")
			}
			req.NetworkID = id
		}
		cr.networks = append(cr.networks, req)
	}
	return nil
}

// autoNetwork picks the network of a request that names none: the only
// network the project can use, as Nova does ("auto" in 2.37+, and no
// networks before). Several are ambiguous; none means no NIC (before 2.37)
// or an error (auto, as tenku has no get-me-a-network topology).
func (a *API) autoNetwork(ctx context.Context, cr *createReq, project string, auto bool) error {
	if a.d.Network == nil {
		return nil
	}
	nets, err := a.d.Network.Networks(ctx, clients.NetFilter{ProjectID: project})
	if err != nil {
		return err
	}
	var usable []clients.Net
	for _, n := range nets {
		if !n.External || n.ProjectID == project {
			usable = append(usable, n)
		}
	}
	switch {
	case len(usable) == 1:
		cr.networks = []objects.RequestedNetwork{{NetworkID: usable[0].ID}}
	case len(usable) > 1:
		// Prefer the project's own network over shared ones, as most clouds mean.
		var own []clients.Net
		for _, n := range usable {
			if n.ProjectID == project {
				own = append(own, n)
			}
		}
		if len(own) == 1 {
			cr.networks = []objects.RequestedNetwork{{NetworkID: own[0].ID}}
			return nil
		}
		return fault.Conflict("Multiple possible networks found, use a Network ID to be more specific.").WithType("NetworkAmbiguous")
	case auto:
		return fault.BadRequest("Unable to automatically allocate a network for project %s", project).WithType("UnableToAutoAllocateNetwork")
	}
	return nil
}

// parseBDMs reads block_device_mapping_v2: image and blank local disks; a
// volume needs the block storage service, which tenku's compute does not
// attach yet.
func (a *API) parseBDMs(sd map[string]any, cr *createReq) error {
	if _, ok := sd["block_device_mapping"]; ok {
		if _, ok2 := sd["block_device_mapping_v2"]; ok2 {
			return badRequest("Using different block_device_mapping syntaxes is not allowed in the same request.")
		}
		return badRequest("Block device mapping to volumes is not supported by this cloud.")
	}
	list, ok := sd["block_device_mapping_v2"].([]any)
	if !ok {
		if _, present := sd["block_device_mapping_v2"]; present {
			return badRequest("Invalid input for field/attribute block_device_mapping_v2. It is not of type 'array'")
		}
		return nil
	}
	local := 0
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return badRequest("Block Device Mapping is Invalid: bad format")
		}
		b := objects.BDM{UUID: uuid.NewString()}
		b.SourceType, _ = str(m["source_type"])
		b.DestinationType, _ = str(m["destination_type"])
		b.DeviceName, _ = str(m["device_name"])
		b.GuestFormat, _ = str(m["guest_format"])
		b.DiskBus, _ = str(m["disk_bus"])
		b.DeviceType, _ = str(m["device_type"])
		b.Tag, _ = str(m["tag"])
		id, _ := str(m["uuid"])
		if v, ok := m["boot_index"]; ok && v != nil {
			n, err := intParam("boot_index", v, -1, 0x7FFFFFFF)
			if err != nil {
				return err
			}
			b.BootIndex = &n
		}
		if v, ok := m["volume_size"]; ok && v != nil {
			n, err := intParam("volume_size", v, 1, 0x7FFFFFFF)
			if err != nil {
				return err
			}
			b.VolumeSize = &n
		}
		if v, ok := m["delete_on_termination"]; ok {
			d, _ := boolParam("delete_on_termination", v)
			b.DeleteOnTermination = d
		}
		if b.DestinationType == "" {
			b.DestinationType = "volume"
		}
		switch {
		case b.SourceType == "image" && b.DestinationType == "local":
			b.ImageID = id
			if b.BootIndex == nil || *b.BootIndex != 0 {
				return badRequest("Block Device Mapping is Invalid: Mapping image to local is not supported.")
			}
			local++
		case b.SourceType == "blank" && b.DestinationType == "local":
			if b.BootIndex != nil && *b.BootIndex == 0 {
				return badRequest("Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.")
			}
			if b.GuestFormat == "swap" && b.VolumeSize != nil && *b.VolumeSize*1024 > cr.flavor.Swap {
				return badRequest("Block Device Mapping is Invalid: Swap drive requested is larger than instance type allows.")
			}
			if b.GuestFormat != "swap" && b.VolumeSize != nil && *b.VolumeSize > cr.flavor.EphemeralGB {
				return badRequest("Block Device Mapping is Invalid: Ephemeral disks requested are larger than the instance type allows. If no size is given in one block device mapping, flavor ephemeral size will be used.")
			}
			local++
		case b.DestinationType == "volume":
			if err := volumeBDM(&b, id); err != nil {
				return err
			}
			if b.IsRoot() {
				cr.bootFromVolume = true
			}
		default:
			return badRequest("Block Device Mapping is Invalid: source_type %q with destination_type %q is not valid.", b.SourceType, b.DestinationType)
		}
		cr.bdms = append(cr.bdms, b)
	}
	if m := a.cfg.Default.MaxLocalBlockDevices; m >= 0 && local > m {
		return badRequest("Block Device Mapping is Invalid: You specified more local devices than the limit allows")
	}
	return nil
}

// volumeBDM reads a mapping to a Cinder volume: an existing volume, or one
// the build creates from an image, a snapshot or nothing (which needs a
// size).
func volumeBDM(b *objects.BDM, id string) error {
	switch b.SourceType {
	case "volume", "image", "snapshot":
		if id == "" {
			return badRequest("Block Device Mapping is Invalid: a mapping of source_type %s needs the uuid of its source.", b.SourceType)
		}
		if _, err := uuid.Parse(id); err != nil {
			return badRequest("Block Device Mapping is Invalid: %s is not a valid uuid.", id)
		}
	case "blank":
	default:
		return badRequest("Block Device Mapping is Invalid: source_type %q with destination_type %q is not valid.", b.SourceType, b.DestinationType)
	}
	switch b.SourceType {
	case "volume":
		b.VolumeID = id
	case "image":
		b.ImageID = id
	case "snapshot":
		b.SnapshotID = id
	}
	if (b.SourceType == "image" || b.SourceType == "blank") && (b.VolumeSize == nil || *b.VolumeSize == 0) {
		return badRequest("Block Device Mapping is Invalid: Images with destination_type 'volume' need to have a non-zero size specified")
	}
	return nil
}

// checkVolumeBDMs checks, with the caller's token, the volumes a server's
// mappings name (they exist and are available) and the images its new
// volumes are made from; the root's image (or the root volume's image
// metadata) becomes the request's image, whose properties the host boots
// with.
func (a *API) checkVolumeBDMs(ctx context.Context, cr *createReq) error {
	for i := range cr.bdms {
		b := &cr.bdms[i]
		if !b.IsVolume() {
			continue
		}
		if a.d.Volumes == nil {
			return badRequest("Block Device Mapping is Invalid: this cloud has no block storage service.")
		}
		switch b.SourceType {
		case "volume":
			v, err := a.d.Volumes.Get(ctx, b.VolumeID)
			if fault.IsNotFound(err) {
				return badRequest("Block Device Mapping is Invalid: failed to get volume %s.", b.VolumeID)
			}
			if err != nil {
				return err
			}
			if v.Status != volume.StatusAvailable {
				return fault.BadRequest("Invalid volume: volume %s status must be available, but current status is: %s", v.ID, v.Status).WithType("InvalidVolume")
			}
			if b.IsRoot() && v.Bootable == "false" {
				return badRequest("Block Device %s is not bootable.", v.ID)
			}
			if b.IsRoot() && len(v.ImageMetadata) > 0 {
				cr.rootImage = volumeImageMeta(v.ImageMetadata)
			}
		case "image":
			img, err := a.d.Images.Get(ctx, b.ImageID)
			if fault.IsNotFound(err) {
				return badRequest("Block Device Mapping is Invalid: failed to get image %s.", b.ImageID)
			}
			if err != nil {
				return err
			}
			if img.Status != "active" {
				return badRequest("Image %s is not active.", img.ID)
			}
			if b.VolumeSize != nil && int64(*b.VolumeSize)<<30 < max(img.Size, img.VirtualSize) {
				return badRequest("Block Device Mapping is Invalid: the volume (%d GiB) is smaller than image %s.", *b.VolumeSize, img.ID)
			}
			if b.IsRoot() {
				if img.MinRAM > cr.flavor.MemoryMB {
					return badRequest("Flavor's memory is too small for requested image.")
				}
				cr.rootImage = img
			}
		}
	}
	return nil
}

// volumeImageMeta is the image a volume was made from, as Cinder's
// volume_image_metadata describes it: the standard fields and, as
// properties, the rest.
func volumeImageMeta(m map[string]string) *objects.ImageMeta {
	im := &objects.ImageMeta{ID: m["image_id"], Name: m["image_name"], Status: "active", DiskFormat: m["disk_format"],
		ContainerFormat: m["container_format"], Properties: map[string]string{}}
	im.MinDisk, _ = strconv.Atoi(m["min_disk"])
	im.MinRAM, _ = strconv.Atoi(m["min_ram"])
	for k, v := range m {
		switch k {
		case "image_id", "image_name", "disk_format", "container_format", "min_disk", "min_ram", "size", "checksum":
		default:
			im.Properties[k] = v
		}
	}
	return im
}

// checkVolumeCount refuses an existing volume for more than one server.
func checkVolumeCount(cr *createReq) error {
	if cr.maxCount <= 1 {
		return nil
	}
	for _, b := range cr.bdms {
		if b.IsVolume() && b.SourceType == "volume" {
			return badRequest("Cannot attach one or more volumes to multiple instances")
		}
	}
	return nil
}
