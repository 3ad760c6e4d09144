package clients

import (
	"context"
	"io"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/compute/objects"
)

// Images is what the compute service needs from Glance.
type Images interface {
	// Get returns an image's metadata (a 404 fault ImageNotFound when the
	// caller cannot see it).
	Get(ctx context.Context, id string) (*objects.ImageMeta, error)
	// List lists the images the caller can see (the compute API's image
	// proxy).
	List(ctx context.Context, f ImageFilter) ([]*objects.ImageMeta, error)
	// Download streams an image's data.
	Download(ctx context.Context, id string) (io.ReadCloser, error)
	// Create registers a new, queued image (a snapshot) owned by the caller.
	Create(ctx context.Context, c ImageCreate) (*objects.ImageMeta, error)
	// Upload stores an image's data.
	Upload(ctx context.Context, id string, data io.Reader, size int64) error
	// Update sets or removes (nil value) image properties.
	Update(ctx context.Context, id string, props map[string]*string) (*objects.ImageMeta, error)
	// Delete removes an image.
	Delete(ctx context.Context, id string) error
}

// ImageFilter selects images.
type ImageFilter struct {
	Name   string
	Status string
	Limit  int
	Marker string
}

// ImageCreate describes a new image.
type ImageCreate struct {
	Name            string
	DiskFormat      string
	ContainerFormat string
	MinDisk         int
	MinRAM          int
	Visibility      string
	Properties      map[string]string
}

// Network is what the compute service needs from Neutron.
type Network interface {
	// Network returns a network (404 NetworkNotFound).
	Network(ctx context.Context, id string) (*Net, error)
	// Networks lists networks the caller can use: its own and shared ones
	// when ProjectID is set, or those with IDs.
	Networks(ctx context.Context, f NetFilter) ([]Net, error)
	// Port returns a port (404 PortNotFound).
	Port(ctx context.Context, id string) (*Port, error)
	// Ports lists ports, by device (instance) id.
	Ports(ctx context.Context, deviceID string) ([]Port, error)
	// CreatePort creates a port for an instance, as the user.
	CreatePort(ctx context.Context, c PortCreate) (*Port, error)
	// BindPort binds a port to a host and instance, as the service user
	// (binding:host_id is an admin attribute).
	BindPort(ctx context.Context, id string, b PortBinding) (*Port, error)
	// UpdatePortFixedIPs sets a port's fixed IPs (an entry with only a
	// subnet gets a new address from it), as the service user.
	UpdatePortFixedIPs(ctx context.Context, id string, ips []FixedIP) (*Port, error)
	// UnbindPort clears device and binding of a port the user brought.
	UnbindPort(ctx context.Context, id string) error
	// DeletePort deletes a port (a missing port is not an error).
	DeletePort(ctx context.Context, id string) error
	// Subnet returns a subnet.
	Subnet(ctx context.Context, id string) (*Subnet, error)
	// FloatingIPs lists the floating IPs associated with ports.
	FloatingIPs(ctx context.Context, portIDs []string) ([]FloatingIP, error)
	// SecurityGroups resolves names or ids of the caller's security groups.
	SecurityGroups(ctx context.Context, projectID string, namesOrIDs []string) ([]SecurityGroup, error)
	// SetPortSecurityGroups replaces a port's security groups.
	SetPortSecurityGroups(ctx context.Context, portID string, groupIDs []string) error

	// The deprecated proxies of the compute API (os-security-groups,
	// os-floating-ips) call these with the caller's token.
	Proxy
}

// Proxy is the security group and floating IP management the compute API's
// deprecated proxies hand to Neutron.
type Proxy interface {
	// ListSecurityGroups lists security groups with their rules, of a
	// project ("" for every group the caller sees).
	ListSecurityGroups(ctx context.Context, projectID string) ([]SecurityGroup, error)
	// SecurityGroup returns a group with its rules (404 SecurityGroupNotFound).
	SecurityGroup(ctx context.Context, id string) (*SecurityGroup, error)
	CreateSecurityGroup(ctx context.Context, name, description string) (*SecurityGroup, error)
	UpdateSecurityGroup(ctx context.Context, id, name, description string) (*SecurityGroup, error)
	DeleteSecurityGroup(ctx context.Context, id string) error
	// SecurityGroupRule returns a rule (404 when missing).
	SecurityGroupRule(ctx context.Context, id string) (*SecurityGroupRule, error)
	CreateSecurityGroupRule(ctx context.Context, r SecurityGroupRule) (*SecurityGroupRule, error)
	DeleteSecurityGroupRule(ctx context.Context, id string) error

	// ListFloatingIPs lists floating IPs by project ("" for all the caller
	// sees) and address ("" for any).
	ListFloatingIPs(ctx context.Context, projectID, address string) ([]FloatingIP, error)
	// FloatingIP returns a floating IP (404 when missing).
	FloatingIP(ctx context.Context, id string) (*FloatingIP, error)
	// CreateFloatingIP allocates a floating IP on an external network.
	CreateFloatingIP(ctx context.Context, networkID string) (*FloatingIP, error)
	// AssociateFloatingIP points a floating IP at a port's fixed address, or
	// disassociates it when portID is empty.
	AssociateFloatingIP(ctx context.Context, id, portID, fixedIP string) (*FloatingIP, error)
	DeleteFloatingIP(ctx context.Context, id string) error
	// ExternalNetworks lists the networks floating IPs come from (pools).
	ExternalNetworks(ctx context.Context) ([]Net, error)
}

// Net is a Neutron network.
type Net struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Status    string   `json:"status"`
	Shared    bool     `json:"shared"`
	External  bool     `json:"router:external"`
	ProjectID string   `json:"project_id"`
	MTU       int      `json:"mtu"`
	Subnets   []string `json:"subnets"`
}

// NetFilter selects networks.
type NetFilter struct {
	// ProjectID lists the project's networks and shared ones.
	ProjectID string
	// IDs lists these networks.
	IDs []string
}

// Port is a Neutron port.
type Port struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	NetworkID      string    `json:"network_id"`
	ProjectID      string    `json:"project_id"`
	MACAddress     string    `json:"mac_address"`
	FixedIPs       []FixedIP `json:"fixed_ips"`
	DeviceID       string    `json:"device_id"`
	DeviceOwner    string    `json:"device_owner"`
	Status         string    `json:"status"`
	AdminStateUp   bool      `json:"admin_state_up"`
	SecurityGroups []string  `json:"security_groups"`
	// PortSecurity is port_security_enabled (nil: the extension is off).
	PortSecurity      *bool          `json:"port_security_enabled,omitempty"`
	BindingHostID     string         `json:"binding:host_id"`
	BindingVIFType    string         `json:"binding:vif_type"`
	BindingVNICType   string         `json:"binding:vnic_type"`
	BindingVIFDetails map[string]any `json:"binding:vif_details"`
	Tags              []string       `json:"tags"`
}

// FixedIP is an address of a port.
type FixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address,omitempty"`
}

// PortCreate describes a port to create for an instance.
type PortCreate struct {
	NetworkID      string
	ProjectID      string
	FixedIPs       []FixedIP
	SecurityGroups []string
	DeviceID       string
	DeviceOwner    string
	Name           string
}

// PortBinding binds a port.
type PortBinding struct {
	HostID      string
	DeviceID    string
	DeviceOwner string
}

// Subnet is a Neutron subnet.
type Subnet struct {
	ID         string `json:"id"`
	NetworkID  string `json:"network_id"`
	CIDR       string `json:"cidr"`
	GatewayIP  string `json:"gateway_ip"`
	IPVersion  int    `json:"ip_version"`
	EnableDHCP bool   `json:"enable_dhcp"`
	// DNSNameservers are the subnet's resolvers.
	DNSNameservers []string `json:"dns_nameservers"`
}

// FloatingIP is a Neutron floating IP.
type FloatingIP struct {
	ID                string `json:"id"`
	FloatingIPAddress string `json:"floating_ip_address"`
	FixedIPAddress    string `json:"fixed_ip_address"`
	PortID            string `json:"port_id"`
	FloatingNetworkID string `json:"floating_network_id"`
	ProjectID         string `json:"project_id"`
	Status            string `json:"status"`
	// PortDeviceID is the device (instance) of the port, when associated.
	PortDeviceID string `json:"-"`
}

// SecurityGroup is a Neutron security group.
type SecurityGroup struct {
	ID          string              `json:"id"`
	Name        string              `json:"name"`
	Description string              `json:"description"`
	ProjectID   string              `json:"project_id"`
	Rules       []SecurityGroupRule `json:"security_group_rules"`
}

// SecurityGroupRule is a Neutron security group rule; empty strings and nil
// ports are Neutron's nulls.
type SecurityGroupRule struct {
	ID              string `json:"id,omitempty"`
	SecurityGroupID string `json:"security_group_id"`
	Direction       string `json:"direction"`
	EtherType       string `json:"ethertype"`
	Protocol        string `json:"protocol,omitempty"`
	PortRangeMin    *int   `json:"port_range_min,omitempty"`
	PortRangeMax    *int   `json:"port_range_max,omitempty"`
	RemoteIPPrefix  string `json:"remote_ip_prefix,omitempty"`
	RemoteGroupID   string `json:"remote_group_id,omitempty"`
}

// Volumes is what the compute service needs from Cinder: a volume's state and
// the legacy attach steps Nova's cinder.API takes (reserve,
// initialize_connection, attach; begin_detaching, terminate_connection,
// detach; unreserve and roll_detaching to go back).
type Volumes interface {
	// Get returns a volume (404 VolumeNotFound when the caller cannot see it).
	Get(ctx context.Context, id string) (*volume.Volume, error)
	// Reserve moves an available volume to attaching.
	Reserve(ctx context.Context, id string) error
	// Unreserve undoes Reserve.
	Unreserve(ctx context.Context, id string) error
	// InitializeConnection returns how a host with the connector reaches
	// the volume ({"driver_volume_type": ..., "data": {...}}).
	InitializeConnection(ctx context.Context, id string, connector map[string]any) (*Connection, error)
	// TerminateConnection tells the backend the host is done with it.
	TerminateConnection(ctx context.Context, id string, connector map[string]any) error
	// Attach records the volume attached to an instance at a mountpoint.
	Attach(ctx context.Context, id, instanceUUID, mountpoint string) error
	// BeginDetaching moves an in-use volume to detaching.
	BeginDetaching(ctx context.Context, id string) error
	// RollDetaching undoes BeginDetaching.
	RollDetaching(ctx context.Context, id string) error
	// MigrateVolumeCompletion ends a swap from volume id to newID (failed:
	// the copy did not happen) and returns the volume id to keep.
	MigrateVolumeCompletion(ctx context.Context, id, newID string, failed bool) (string, error)
	// Detach removes an attachment ("" for the volume's only one).
	Detach(ctx context.Context, id, attachmentID string) error
	// Delete deletes a volume (a server's delete_on_termination one).
	Delete(ctx context.Context, id string) error
	// Create asks for a new volume (blank, from an image or from a
	// snapshot) and returns it as Cinder first answers, creating.
	Create(ctx context.Context, v VolumeCreate) (*volume.Volume, error)
}

// VolumeCreate is a volume a build asks Cinder for (a block device mapping
// of source image, blank or snapshot to destination volume).
type VolumeCreate struct {
	Size             int    `json:"size"`
	Name             string `json:"name,omitempty"`
	ImageRef         string `json:"imageRef,omitempty"`
	SnapshotID       string `json:"snapshot_id,omitempty"`
	VolumeType       string `json:"volume_type,omitempty"`
	AvailabilityZone string `json:"availability_zone,omitempty"`
}

// Connection is a volume's connection_info.
type Connection struct {
	DriverVolumeType string         `json:"driver_volume_type"`
	Data             map[string]any `json:"data"`
}
