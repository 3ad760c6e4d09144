package compute

// Flavor is a flavor as GET /flavors/{id} shows it.
type Flavor struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	VCPUs       int     `json:"vcpus"`
	RAM         int     `json:"ram"`
	Disk        int     `json:"disk"`
	Ephemeral   int     `json:"OS-FLV-EXT-DATA:ephemeral"`
	Swap        int     `json:"swap"`
	RxTxFactor  float64 `json:"rxtx_factor"`
	IsPublic    bool    `json:"os-flavor-access:is_public"`
	Disabled    bool    `json:"OS-FLV-DISABLED:disabled"`
	Description *string `json:"description"`
	// ExtraSpecs are shown to callers allowed to read them (2.61).
	ExtraSpecs map[string]string `json:"extra_specs,omitempty"`
	Links      []Link            `json:"links"`
}

// FlavorList is GET /flavors/detail.
type FlavorList struct {
	Flavors []Flavor `json:"flavors"`
	Links   []Link   `json:"flavors_links,omitempty"`
}

// FlavorAccess is one project allowed to use a private flavor.
type FlavorAccess struct {
	FlavorID string `json:"flavor_id"`
	TenantID string `json:"tenant_id"`
}

// Keypair is a key pair as GET /os-keypairs/{name} shows it.
type Keypair struct {
	Name        string  `json:"name"`
	PublicKey   string  `json:"public_key"`
	Fingerprint string  `json:"fingerprint"`
	Type        string  `json:"type"`
	UserID      string  `json:"user_id"`
	ID          int     `json:"id,omitempty"`
	CreatedAt   string  `json:"created_at,omitempty"`
	Deleted     bool    `json:"deleted"`
	DeletedAt   *string `json:"deleted_at"`
	UpdatedAt   *string `json:"updated_at"`
	// PrivateKey is returned once, when Nova generated the pair (before 2.92).
	PrivateKey string `json:"private_key,omitempty"`
}

// ServerGroup is a server group (2.64 shape: one policy and its rules).
type ServerGroup struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Policy    string         `json:"policy"`
	Rules     map[string]any `json:"rules"`
	Members   []string       `json:"members"`
	ProjectID string         `json:"project_id"`
	UserID    string         `json:"user_id"`
}

// Limits is GET /limits.
type Limits struct {
	Limits struct {
		Absolute map[string]int `json:"absolute"`
		Rate     []any          `json:"rate"`
	} `json:"limits"`
}

// QuotaDetail is one resource of GET /os-quota-sets/{project}/detail.
type QuotaDetail struct {
	InUse    int `json:"in_use"`
	Limit    int `json:"limit"`
	Reserved int `json:"reserved"`
}

// InstanceAction is one action on a server (os-instance-actions).
type InstanceAction struct {
	Action       string  `json:"action"`
	InstanceUUID string  `json:"instance_uuid"`
	RequestID    string  `json:"request_id"`
	UserID       string  `json:"user_id"`
	ProjectID    string  `json:"project_id"`
	StartTime    string  `json:"start_time"`
	UpdatedAt    string  `json:"updated_at"`
	Message      *string `json:"message"`
	// Events are in GET /servers/{id}/os-instance-actions/{request_id}.
	Events []InstanceActionEvent `json:"events,omitempty"`
}

// InstanceActionEvent is one phase of an action; Host, HostID and
// Traceback are shown by policy (admins).
type InstanceActionEvent struct {
	Event      string  `json:"event"`
	StartTime  string  `json:"start_time"`
	FinishTime *string `json:"finish_time"`
	// Result is Success or Error once finished, else null.
	Result    *string `json:"result"`
	Traceback *string `json:"traceback,omitempty"`
	Host      string  `json:"host,omitempty"`
	HostID    string  `json:"hostId,omitempty"`
	Details   *string `json:"details,omitempty"`
}

// ExternalEvent is one entry of POST /os-server-external-events; the
// response echoes each with Code and Status filled.
type ExternalEvent struct {
	Name       string `json:"name"`
	ServerUUID string `json:"server_uuid"`
	Tag        string `json:"tag,omitempty"`
	// Status is completed (the default), failed or in-progress.
	Status string `json:"status,omitempty"`
	Code   int    `json:"code,omitempty"`
}

// Service is a compute service record (os-services, 2.53: UUID ids).
type Service struct {
	ID             string  `json:"id"`
	Binary         string  `json:"binary"`
	Host           string  `json:"host"`
	Zone           string  `json:"zone"`
	Status         string  `json:"status"`
	State          string  `json:"state"`
	UpdatedAt      *string `json:"updated_at"`
	DisabledReason *string `json:"disabled_reason"`
	ForcedDown     bool    `json:"forced_down"`
}

// Hypervisor is a compute node (os-hypervisors/detail, 2.88 shape: the
// resource figures moved to placement; the uptime joined).
type Hypervisor struct {
	ID                 string            `json:"id"`
	HypervisorHostname string            `json:"hypervisor_hostname"`
	HypervisorType     string            `json:"hypervisor_type"`
	HypervisorVersion  int               `json:"hypervisor_version"`
	HostIP             string            `json:"host_ip"`
	State              string            `json:"state"`
	Status             string            `json:"status"`
	Uptime             *string           `json:"uptime"`
	Service            HypervisorService `json:"service"`
	// Servers is listed with ?with_servers=true.
	Servers []HypervisorServer `json:"servers,omitempty"`
}

// HypervisorService is the service of a hypervisor.
type HypervisorService struct {
	ID             string  `json:"id"`
	Host           string  `json:"host"`
	DisabledReason *string `json:"disabled_reason"`
}

// HypervisorServer is a server on a hypervisor.
type HypervisorServer struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

// Aggregate is a host aggregate.
type Aggregate struct {
	ID               int               `json:"id"`
	UUID             string            `json:"uuid"`
	Name             string            `json:"name"`
	AvailabilityZone *string           `json:"availability_zone"`
	Hosts            []string          `json:"hosts"`
	Metadata         map[string]string `json:"metadata"`
	CreatedAt        string            `json:"created_at"`
	UpdatedAt        *string           `json:"updated_at"`
	Deleted          bool              `json:"deleted"`
	DeletedAt        *string           `json:"deleted_at"`
}

// AvailabilityZone is one zone of os-availability-zone (Hosts only in
// /detail, for admins).
type AvailabilityZone struct {
	ZoneName  string `json:"zoneName"`
	ZoneState struct {
		Available bool `json:"available"`
	} `json:"zoneState"`
	Hosts map[string]map[string]AZService `json:"hosts"`
}

// AZService is a service of a host in a zone.
type AZService struct {
	Active    bool    `json:"active"`
	Available bool    `json:"available"`
	UpdatedAt *string `json:"updated_at"`
}

// Migration is a migration as os-migrations lists it (2.80 shape).
type Migration struct {
	ID                int     `json:"id"`
	UUID              string  `json:"uuid"`
	InstanceUUID      string  `json:"instance_uuid"`
	MigrationType     string  `json:"migration_type"`
	Status            string  `json:"status"`
	SourceCompute     string  `json:"source_compute"`
	SourceNode        string  `json:"source_node"`
	DestCompute       string  `json:"dest_compute"`
	DestNode          string  `json:"dest_node"`
	DestHost          string  `json:"dest_host"`
	OldInstanceTypeID int     `json:"old_instance_type_id"`
	NewInstanceTypeID int     `json:"new_instance_type_id"`
	CreatedAt         string  `json:"created_at"`
	UpdatedAt         *string `json:"updated_at"`
	ProjectID         string  `json:"project_id"`
	UserID            string  `json:"user_id"`
	Links             []Link  `json:"links,omitempty"`
}
