package plugin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	netapi "github.com/tenku-cloud/tenku/api/network"
	"github.com/tenku-cloud/tenku/internal/network/notify"
	"github.com/tenku-cloud/tenku/internal/network/rpc"
	nstore "github.com/tenku-cloud/tenku/internal/network/store"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// IDRange is an inclusive range of VLAN ids or VNIs.
type IDRange struct{ Min, Max int }

// Config is what the plugin needs of neutron.conf.
type Config struct {
	// BaseMAC is the prefix of generated MAC addresses; its bytes that are
	// zero are randomised ("fa:16:3e:00:00:00").
	BaseMAC string
	// DHCPAgentsPerNetwork is how many DHCP agents serve each network.
	DHCPAgentsPerNetwork int
	// GlobalPhysnetMTU is the MTU of the physical networks; PathMTU, when
	// set, bounds tunnelled networks.
	GlobalPhysnetMTU int
	PathMTU          int
	// TypeDrivers are the network types allowed; TenantNetworkTypes, in
	// order, those project networks get.
	TypeDrivers        []string
	TenantNetworkTypes []string
	// FlatNetworks are the physical networks flat networks may use ("*": any).
	FlatNetworks []string
	// VLANRanges are the physical networks VLAN networks may use, with the
	// ranges project networks are allocated from (none: provider only).
	VLANRanges map[string][]IDRange
	// VNIRanges are the VXLAN ids project networks are allocated from.
	VNIRanges []IDRange
	// Quotas are the default limits per resource (-1: unlimited).
	Quotas map[string]int
	// Limits from neutron.conf's [DEFAULT].
	MaxDNSNameservers      int
	MaxSubnetHostRoutes    int
	MaxAllowedAddressPairs int
	MaxRoutes              int
	// AgentDownTime is how long after its last heartbeat an agent is dead.
	AgentDownTime time.Duration
	// DefaultAvailabilityZone is reported for agents that name none.
	DefaultAvailabilityZone string
	// DNSDomain is the domain of DHCP host names.
	DNSDomain string
	// EnableSNATByDefault is the enable_snat of new gateways.
	EnableSNATByDefault bool
	// NotifyNovaOnPortStatusChanges sends network-vif-plugged/unplugged;
	// NotifyNovaOnPortDataChanges sends network-changed and vif-deleted.
	NotifyNovaOnPortStatusChanges bool
	NotifyNovaOnPortDataChanges   bool
	// NetworkAutoSchedule and RouterAutoSchedule place networks and routers
	// on agents without an admin asking.
	NetworkAutoSchedule bool
	RouterAutoSchedule  bool
	// EnableIsolatedMetadata asks DHCP to route 169.254.169.254 on networks
	// without a router.
	EnableIsolatedMetadata bool
}

// DefaultConfig returns Neutron's defaults with devstack's ML2 settings.
func DefaultConfig() Config {
	return Config{
		BaseMAC: "fa:16:3e:00:00:00", DHCPAgentsPerNetwork: 1, GlobalPhysnetMTU: 1500,
		TypeDrivers: []string{"local", "flat", "vlan", "vxlan"}, TenantNetworkTypes: []string{"vxlan"},
		FlatNetworks: []string{"*"}, VLANRanges: map[string][]IDRange{}, VNIRanges: []IDRange{{1, 1000}},
		Quotas:            DefaultQuotas(),
		MaxDNSNameservers: 5, MaxSubnetHostRoutes: 20, MaxAllowedAddressPairs: 10, MaxRoutes: 30,
		AgentDownTime: 75 * time.Second, DefaultAvailabilityZone: "nova", DNSDomain: "openstacklocal",
		EnableSNATByDefault: true, NotifyNovaOnPortStatusChanges: true, NotifyNovaOnPortDataChanges: true,
		NetworkAutoSchedule: true, RouterAutoSchedule: true, EnableIsolatedMetadata: true,
	}
}

// QuotaResources are the resources with quotas, as Neutron names them.
var QuotaResources = []string{"floatingip", "network", "port", "rbac_policy", "router", "security_group",
	"security_group_rule", "subnet", "subnetpool"}

// DefaultQuotas returns Neutron's default limits.
func DefaultQuotas() map[string]int {
	return map[string]int{"floatingip": 50, "network": 100, "port": 500, "rbac_policy": 10, "router": 10,
		"security_group": 10, "security_group_rule": 100, "subnet": 100, "subnetpool": -1}
}

// Plugin is the networking core.
type Plugin struct {
	cfg  Config
	st   *nstore.Store
	bus  *bus.Bus
	nova notify.Notifier
	log  *slog.Logger

	rngMu sync.Mutex
	rng   *mrand.Rand

	baseMAC net.HardwareAddr

	dirtyOnce sync.Once
	d         *dirtySet

	// defaults remembers projects known to have their default security
	// group (project → group id), to spare hot paths a query.
	defaults sync.Map

	// tunSeen is the tunnel address each host's L2 agent last reported,
	// tunPushed the peers last pushed (nil: none yet, or the push failed).
	tunMu     sync.Mutex
	tunSeen   map[string]string
	tunPushed []rpc.TunnelPeer
}

// Deps are the plugin's collaborators. Bus may be nil (no agents are told
// anything); Nova may be nil (notify.Discard).
type Deps struct {
	Store *nstore.Store
	Bus   *bus.Bus
	Nova  notify.Notifier
	Log   *slog.Logger
}

// New returns a plugin.
func New(cfg Config, d Deps) (*Plugin, error) {
	mac, err := net.ParseMAC(cfg.BaseMAC)
	if err != nil || len(mac) != 6 {
		return nil, fmt.Errorf("base_mac %q is not a MAC address", cfg.BaseMAC)
	}
	if d.Nova == nil {
		d.Nova = notify.Discard{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Quotas == nil {
		cfg.Quotas = DefaultQuotas()
	}
	var seed [16]byte
	rand.Read(seed[:])
	s1 := uint64(seed[0]) | uint64(seed[1])<<8 | uint64(seed[2])<<16 | uint64(seed[3])<<24 | uint64(seed[4])<<32 | uint64(seed[5])<<40 | uint64(seed[6])<<48 | uint64(seed[7])<<56
	s2 := uint64(seed[8]) | uint64(seed[9])<<8 | uint64(seed[10])<<16 | uint64(seed[11])<<24 | uint64(seed[12])<<32 | uint64(seed[13])<<40 | uint64(seed[14])<<48 | uint64(seed[15])<<56
	return &Plugin{cfg: cfg, st: d.Store, bus: d.Bus, nova: d.Nova, log: d.Log, rng: mrand.New(mrand.NewPCG(s1, s2)), baseMAC: mac}, nil
}

// Config returns the plugin's configuration.
func (p *Plugin) Config() Config { return p.cfg }

// Store returns the plugin's store (for reads the API makes directly).
func (p *Plugin) Store() *nstore.Store { return p.st }

// Caller is who asks: the plugin's few rules that depend on it (admins may
// delete default groups, attach other projects' ports, ...).
type Caller struct {
	ProjectID string
	Admin     bool
}

func newID() string { return uuid.NewString() }

func (p *Plugin) randUint64(n uint64) uint64 {
	p.rngMu.Lock()
	defer p.rngMu.Unlock()
	return p.rng.Uint64N(n)
}

func (p *Plugin) rand() *mrand.Rand {
	p.rngMu.Lock()
	defer p.rngMu.Unlock()
	return mrand.New(mrand.NewPCG(p.rng.Uint64(), p.rng.Uint64()))
}

// newMAC returns a random MAC address with the configured prefix: the bytes
// of base_mac that are zero are random, as Neutron does.
func (p *Plugin) newMAC() string {
	b := make([]byte, 6)
	copy(b, p.baseMAC)
	r := p.randUint64(1 << 48)
	for i := 3; i < 6; i++ {
		if p.baseMAC[i] == 0 {
			b[i] = byte(r >> (8 * i))
		}
	}
	return net.HardwareAddr(b).String()
}

// checkRevision applies If-Match: revision_number=N.
func checkRevision(ifMatch *int64, current int64) error {
	if ifMatch != nil && *ifMatch != current {
		return RevisionConflict(*ifMatch, current)
	}
	return nil
}

// notFoundAs maps the store's missing-row error to a resource's 404.
func notFoundAs(err error, f *fault.Error) error {
	if nstore.IsNotFound(err) {
		return f
	}
	return err
}

// casConflict maps a lost compare-and-swap to Neutron's wording.
func casConflict(err error) error {
	if err == pstore.ErrConflict {
		return conflict("Conflict", "The resource was changed by another request; please retry.")
	}
	return err
}

// checkQuota refuses one more resource for a project beyond its limit. In
// the creating transaction q it first takes the project's quota lock, so
// that concurrent creations count one after the other and never overshoot.
func (p *Plugin) checkQuota(ctx context.Context, q nstore.Q, project, resource string, count func(context.Context, string) (int, error)) error {
	limit, err := p.quotaLimit(ctx, q, project, resource)
	if err != nil || limit < 0 {
		return err
	}
	if q.InTx() {
		if err := q.LockQuota(ctx, project); err != nil {
			return err
		}
	}
	used, err := count(ctx, project)
	if err != nil {
		return err
	}
	if used+1 > limit {
		return OverQuota(resource)
	}
	return nil
}

func (p *Plugin) quotaLimit(ctx context.Context, q nstore.Q, project, resource string) (int, error) {
	limits, err := q.QuotaLimits(ctx, project)
	if err != nil {
		return 0, err
	}
	if l, ok := limits[resource]; ok {
		return l, nil
	}
	if l, ok := p.cfg.Quotas[resource]; ok {
		return l, nil
	}
	return -1, nil
}

func isNetworkOwned(owner string) bool {
	return strings.HasPrefix(owner, netapi.DeviceOwnerNetworkPrefix)
}

func isComputeOwned(owner string) bool {
	return strings.HasPrefix(owner, netapi.DeviceOwnerComputePrefix)
}

func strp(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func fault503(msg string) *fault.Error { return fault.Unavailable("%s", msg) }

// tx runs fn in a transaction, again when it lost a race on a unique key.
func (p *Plugin) tx(ctx context.Context, fn func(q nstore.Q) error) error {
	for attempt := 0; ; attempt++ {
		err := p.st.Tx(ctx, fn)
		var r *retryable
		if errors.As(err, &r) && attempt < 10 {
			continue
		}
		return unwrapRetry(err)
	}
}
