package compute

import (
	"encoding/json"
	"errors"
)

// Server is a server as GET /servers/{id} and /servers/detail show it at
// MaxVersion. The OS-EXT-SRV-ATTR attributes and host_status are shown to
// admins only; Fault only in ERROR (and to admins with details).
type Server struct {
	ID          string               `json:"id"`
	Name        string               `json:"name"`
	Status      string               `json:"status"`
	TenantID    string               `json:"tenant_id"`
	UserID      string               `json:"user_id"`
	Metadata    map[string]string    `json:"metadata"`
	HostID      string               `json:"hostId"`
	Image       ImageRef             `json:"image"`
	Flavor      ServerFlavor         `json:"flavor"`
	Created     string               `json:"created"`
	Updated     string               `json:"updated"`
	Addresses   map[string][]Address `json:"addresses"`
	AccessIPv4  string               `json:"accessIPv4"`
	AccessIPv6  string               `json:"accessIPv6"`
	Links       []Link               `json:"links"`
	KeyName     *string              `json:"key_name"`
	ConfigDrive string               `json:"config_drive"`
	Progress    *int                 `json:"progress,omitempty"`
	Description *string              `json:"description"`
	Locked      bool                 `json:"locked"`
	// LockedReason is set while Locked (2.73).
	LockedReason *string  `json:"locked_reason"`
	Tags         []string `json:"tags"`
	// TrustedImageCertificates is null unless the server was created with
	// some (2.63).
	TrustedImageCertificates []string `json:"trusted_image_certificates"`
	// SecurityGroups is absent for a server with no ports.
	SecurityGroups  []SecurityGroupName `json:"security_groups,omitempty"`
	VolumesAttached []VolumeAttached    `json:"os-extended-volumes:volumes_attached"`
	// ServerGroups is in GET /servers/{id} only (2.71).
	ServerGroups []string `json:"server_groups,omitempty"`
	Fault        *Fault   `json:"fault,omitempty"`
	// HostStatus is UP, DOWN, MAINTENANCE, UNKNOWN or "" (2.16).
	HostStatus *string `json:"host_status,omitempty"`

	DiskConfig       string  `json:"OS-DCF:diskConfig"`
	AvailabilityZone string  `json:"OS-EXT-AZ:availability_zone"`
	PowerState       int     `json:"OS-EXT-STS:power_state"`
	TaskState        *string `json:"OS-EXT-STS:task_state"`
	VMState          string  `json:"OS-EXT-STS:vm_state"`
	LaunchedAt       *string `json:"OS-SRV-USG:launched_at"`
	TerminatedAt     *string `json:"OS-SRV-USG:terminated_at"`

	Host               *string `json:"OS-EXT-SRV-ATTR:host,omitempty"`
	HypervisorHostname *string `json:"OS-EXT-SRV-ATTR:hypervisor_hostname,omitempty"`
	InstanceName       *string `json:"OS-EXT-SRV-ATTR:instance_name,omitempty"`
	Hostname           *string `json:"OS-EXT-SRV-ATTR:hostname,omitempty"`
	KernelID           *string `json:"OS-EXT-SRV-ATTR:kernel_id,omitempty"`
	RamdiskID          *string `json:"OS-EXT-SRV-ATTR:ramdisk_id,omitempty"`
	LaunchIndex        *int    `json:"OS-EXT-SRV-ATTR:launch_index,omitempty"`
	ReservationID      *string `json:"OS-EXT-SRV-ATTR:reservation_id,omitempty"`
	RootDeviceName     *string `json:"OS-EXT-SRV-ATTR:root_device_name,omitempty"`
	UserData           *string `json:"OS-EXT-SRV-ATTR:user_data,omitempty"`
}

// ImageRef is a server's image: its id and links, or nothing (the JSON
// empty string) for a server booted from a volume.
type ImageRef struct {
	ID    string `json:"id"`
	Links []Link `json:"links"`
}

type imageRef ImageRef

// MarshalJSON renders an empty ImageRef as "".
func (i ImageRef) MarshalJSON() ([]byte, error) {
	if i.ID == "" {
		return []byte(`""`), nil
	}
	return json.Marshal(imageRef(i))
}

// UnmarshalJSON reads an object or "".
func (i *ImageRef) UnmarshalJSON(b []byte) error {
	if string(b) == `""` || string(b) == "null" {
		*i = ImageRef{}
		return nil
	}
	return json.Unmarshal(b, (*imageRef)(i))
}

// ServerFlavor is the flavor a server was created with (2.47: a copy, not
// a link).
type ServerFlavor struct {
	OriginalName string            `json:"original_name"`
	VCPUs        int               `json:"vcpus"`
	RAM          int               `json:"ram"`
	Disk         int               `json:"disk"`
	Ephemeral    int               `json:"ephemeral"`
	Swap         int               `json:"swap"`
	ExtraSpecs   map[string]string `json:"extra_specs,omitempty"`
}

// Address is one address of a server on a network.
type Address struct {
	Addr    string `json:"addr"`
	Version int    `json:"version"`
	// Type is "fixed" or "floating".
	Type string `json:"OS-EXT-IPS:type"`
	MAC  string `json:"OS-EXT-IPS-MAC:mac_addr"`
}

// SecurityGroupName names a security group of a server.
type SecurityGroupName struct {
	Name string `json:"name"`
}

// VolumeAttached is a volume attached to a server.
type VolumeAttached struct {
	ID                  string `json:"id"`
	DeleteOnTermination bool   `json:"delete_on_termination"`
}

// Fault is why a server is in ERROR.
type Fault struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Created string `json:"created"`
	// Details is the trace, shown to admins (and for non-500 faults).
	Details string `json:"details,omitempty"`
}

// ServerList is GET /servers/detail.
type ServerList struct {
	Servers []Server `json:"servers"`
	Links   []Link   `json:"servers_links,omitempty"`
}

// ServerBody is GET /servers/{id} and PUT /servers/{id}.
type ServerBody struct {
	Server Server `json:"server"`
}

// CreateServerRequest is the body of POST /servers.
type CreateServerRequest struct {
	Server         CreateServer   `json:"server"`
	SchedulerHints map[string]any `json:"OS-SCH-HNT:scheduler_hints,omitempty"`
}

// CreateServer is what a new server is made of.
type CreateServer struct {
	Name                 string               `json:"name"`
	ImageRef             string               `json:"imageRef,omitempty"`
	FlavorRef            string               `json:"flavorRef"`
	Networks             *Networks            `json:"networks,omitempty"`
	KeyName              string               `json:"key_name,omitempty"`
	UserData             string               `json:"user_data,omitempty"`
	Metadata             map[string]string    `json:"metadata,omitempty"`
	SecurityGroups       []SecurityGroupName  `json:"security_groups,omitempty"`
	AvailabilityZone     string               `json:"availability_zone,omitempty"`
	MinCount             int                  `json:"min_count,omitempty"`
	MaxCount             int                  `json:"max_count,omitempty"`
	ReturnReservationID  bool                 `json:"return_reservation_id,omitempty"`
	BlockDeviceMappingV2 []BlockDeviceMapping `json:"block_device_mapping_v2,omitempty"`
	ConfigDrive          bool                 `json:"config_drive,omitempty"`
	AdminPass            string               `json:"adminPass,omitempty"`
	AccessIPv4           string               `json:"accessIPv4,omitempty"`
	AccessIPv6           string               `json:"accessIPv6,omitempty"`
	Description          *string              `json:"description,omitempty"`
	Tags                 []string             `json:"tags,omitempty"`
	Hostname             string               `json:"hostname,omitempty"`
	DiskConfig           string               `json:"OS-DCF:diskConfig,omitempty"`
	Host                 string               `json:"host,omitempty"`
	HypervisorHostname   string               `json:"hypervisor_hostname,omitempty"`
}

// Networks is the "networks" of a create request: "auto", "none" (2.37), or
// a list.
type Networks struct {
	Auto, None bool
	List       []NetworkRequest
}

// MarshalJSON renders "auto", "none" or the list.
func (n Networks) MarshalJSON() ([]byte, error) {
	switch {
	case n.Auto:
		return []byte(`"auto"`), nil
	case n.None:
		return []byte(`"none"`), nil
	}
	if n.List == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(n.List)
}

// UnmarshalJSON reads "auto", "none" or a list.
func (n *Networks) UnmarshalJSON(b []byte) error {
	*n = Networks{}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "auto":
			n.Auto = true
		case "none":
			n.None = true
		default:
			return errors.New(`networks must be "auto", "none" or a list`)
		}
		return nil
	}
	return json.Unmarshal(b, &n.List)
}

// NetworkRequest asks for a port on a network, an existing port, or an
// address.
type NetworkRequest struct {
	UUID    string `json:"uuid,omitempty"`
	Port    string `json:"port,omitempty"`
	FixedIP string `json:"fixed_ip,omitempty"`
	Tag     string `json:"tag,omitempty"`
}

// BlockDeviceMapping is one block_device_mapping_v2 entry.
type BlockDeviceMapping struct {
	BootIndex           *int   `json:"boot_index,omitempty"`
	UUID                string `json:"uuid,omitempty"`
	SourceType          string `json:"source_type"`
	DestinationType     string `json:"destination_type,omitempty"`
	VolumeSize          int    `json:"volume_size,omitempty"`
	DeleteOnTermination bool   `json:"delete_on_termination,omitempty"`
	GuestFormat         string `json:"guest_format,omitempty"`
	DeviceName          string `json:"device_name,omitempty"`
	DeviceType          string `json:"device_type,omitempty"`
	DiskBus             string `json:"disk_bus,omitempty"`
	Tag                 string `json:"tag,omitempty"`
	VolumeType          string `json:"volume_type,omitempty"`
}

// CreateServerResponse is the answer to POST /servers: the new server, or
// with return_reservation_id (or several servers asked for with it) the
// reservation.
type CreateServerResponse struct {
	Server        *CreatedServer `json:"server,omitempty"`
	ReservationID string         `json:"reservation_id,omitempty"`
}

// CreatedServer is the part of a new server POST /servers shows.
type CreatedServer struct {
	ID             string              `json:"id"`
	Links          []Link              `json:"links"`
	DiskConfig     string              `json:"OS-DCF:diskConfig"`
	SecurityGroups []SecurityGroupName `json:"security_groups,omitempty"`
	// AdminPass is absent when [api] enable_instance_password is off.
	AdminPass string `json:"adminPass,omitempty"`
}

// ErrorBody is the inside of a fault body: {"itemNotFound": {...}}, whose
// key names the fault (badRequest, itemNotFound, conflictingRequest,
// forbidden, overLimit, computeFault, ...).
type ErrorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Fault body keys, by status.
const (
	FaultBadRequest           = "badRequest"
	FaultUnauthorized         = "unauthorized"
	FaultForbidden            = "forbidden"
	FaultNotFound             = "itemNotFound"
	FaultMethodNotAllowed     = "badMethod"
	FaultNotAcceptable        = "notAcceptable"
	FaultConflict             = "conflictingRequest"
	FaultOverLimit            = "overLimit"
	FaultUnsupportedMediaType = "badMediaType"
	FaultNotImplemented       = "notImplemented"
	FaultUnavailable          = "serviceUnavailable"
	FaultCompute              = "computeFault"
)
