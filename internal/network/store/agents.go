package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	netapi "github.com/tenku-cloud/tenku/api/network"
	pstore "github.com/tenku-cloud/tenku/internal/platform/store"
)

// Agent is an agent row; Alive is computed by the caller from Heartbeat.
type Agent struct {
	netapi.Agent
	Heartbeat time.Time
}

const agentCols = `id, agent_type, binary_name, topic, host, admin_state_up, availability_zone, configurations,
	resource_versions, description, created_at, started_at, heartbeat_at`

var agentFilters = map[string]column{
	"id": {"id"}, "agent_type": {"agent_type"}, "binary": {"binary_name"}, "topic": {"topic"}, "host": {"host"},
	"admin_state_up": {"admin_state_up"}, "availability_zone": {"availability_zone"}, "description": {"description"},
}

func scanAgent(sc interface{ Scan(...any) error }) (*Agent, error) {
	var a Agent
	var az, desc sql.NullString
	var confs, versions string
	var created, started, beat pstore.Time
	if err := sc.Scan(&a.ID, &a.AgentType, &a.Binary, &a.Topic, &a.Host, &a.AdminStateUp, &az, &confs, &versions, &desc,
		&created, &started, &beat); err != nil {
		return nil, err
	}
	a.AvailabilityZone, a.Description = strPtr(az), strPtr(desc)
	a.Configurations = decodeMap(confs)
	a.ResourceVersions = decodeMap(versions)
	a.CreatedAt = created.UTC().Format("2006-01-02 15:04:05")
	a.StartedAt = started.UTC().Format("2006-01-02 15:04:05")
	a.HeartbeatTimestamp = beat.UTC().Format("2006-01-02 15:04:05")
	a.Heartbeat = beat.Time
	return &a, nil
}

// AgentReport is what an agent says in a heartbeat.
type AgentReport struct {
	AgentType, Binary, Topic, Host string
	AvailabilityZone               *string
	Configurations                 map[string]any
	ResourceVersions               map[string]any
	// Start is true on the first report after the agent started.
	Start bool
}

// ReportAgent records a heartbeat, creating the agent on its first one. It
// returns the agent's id and whether it was new.
func (q Q) ReportAgent(ctx context.Context, id string, r AgentReport) (string, bool, error) {
	now := pstore.TimeOf(Now())
	var cur string
	err := q.q.QueryRow(ctx, "SELECT id FROM agents WHERE agent_type = ? AND host = ?"+q.forUpdate(), r.AgentType, r.Host).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = q.q.Exec(ctx, "INSERT INTO agents ("+agentCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			id, r.AgentType, r.Binary, r.Topic, r.Host, true, nullStr(r.AvailabilityZone), jsonText(orEmptyMap(r.Configurations)),
			jsonText(orEmptyMap(r.ResourceVersions)), nil, now, now, now)
		return id, true, err
	}
	if err != nil {
		return "", false, err
	}
	stmt := "UPDATE agents SET binary_name = ?, topic = ?, availability_zone = ?, configurations = ?, resource_versions = ?, heartbeat_at = ?"
	args := []any{r.Binary, r.Topic, nullStr(r.AvailabilityZone), jsonText(orEmptyMap(r.Configurations)), jsonText(orEmptyMap(r.ResourceVersions)), now}
	if r.Start {
		stmt += ", started_at = ?"
		args = append(args, now)
	}
	_, err = q.q.Exec(ctx, stmt+" WHERE id = ?", append(args, cur)...)
	return cur, false, err
}

// Agent reads one agent.
func (q Q) Agent(ctx context.Context, id string) (*Agent, error) {
	a, err := scanAgent(q.q.QueryRow(ctx, "SELECT "+agentCols+" FROM agents WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return a, err
}

// Agents lists agents.
func (q Q) Agents(ctx context.Context, filters []Filter) ([]*Agent, error) {
	var w where
	if err := applyFilters(&w, "agents", "agents.id", agentFilters, filters); err != nil {
		return nil, err
	}
	return pstore.All(ctx, q.q, scanAgent, "SELECT "+agentCols+" FROM agents"+w.sql()+" ORDER BY host, agent_type", w.args...)
}

// UpdateAgent writes admin_state_up and description.
func (q Q) UpdateAgent(ctx context.Context, id string, adminUp bool, desc *string) error {
	n, err := rowsAffected(q.q.Exec(ctx, "UPDATE agents SET admin_state_up = ?, description = ? WHERE id = ?", adminUp, nullStr(desc), id))
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// DeleteAgent removes an agent and its bindings.
func (q Q) DeleteAgent(ctx context.Context, id string) error {
	for _, stmt := range []string{"DELETE FROM network_dhcp_agents WHERE agent_id = ?", "DELETE FROM router_l3_agents WHERE agent_id = ?"} {
		if _, err := q.q.Exec(ctx, stmt, id); err != nil {
			return err
		}
	}
	n, err := rowsAffected(q.q.Exec(ctx, "DELETE FROM agents WHERE id = ?", id))
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// BindNetworkDHCP schedules a network on a DHCP agent; false when it already was.
func (q Q) BindNetworkDHCP(ctx context.Context, networkID, agentID string) (bool, error) {
	n, err := rowsAffected(q.q.Exec(ctx, q.d.InsertIgnore("network_dhcp_agents", []string{"network_id", "agent_id"}), networkID, agentID))
	return n > 0, err
}

// UnbindNetworkDHCP removes a network from a DHCP agent; false when it was not there.
func (q Q) UnbindNetworkDHCP(ctx context.Context, networkID, agentID string) (bool, error) {
	n, err := rowsAffected(q.q.Exec(ctx, "DELETE FROM network_dhcp_agents WHERE network_id = ? AND agent_id = ?", networkID, agentID))
	return n > 0, err
}

// NetworkDHCPAgents returns the agents hosting a network's DHCP.
func (q Q) NetworkDHCPAgents(ctx context.Context, networkID string) ([]*Agent, error) {
	return q.agentsWhere(ctx, "id IN (SELECT agent_id FROM network_dhcp_agents WHERE network_id = ?)", networkID)
}

// DHCPAgentNetworks returns the networks a DHCP agent hosts.
func (q Q) DHCPAgentNetworks(ctx context.Context, agentID string) ([]string, error) {
	return q.ids(ctx, "SELECT network_id FROM network_dhcp_agents WHERE agent_id = ?", agentID)
}

// BindRouterL3 schedules a router on an L3 agent.
func (q Q) BindRouterL3(ctx context.Context, routerID, agentID string) (bool, error) {
	n, err := rowsAffected(q.q.Exec(ctx, q.d.InsertIgnore("router_l3_agents", []string{"router_id", "agent_id"}), routerID, agentID))
	return n > 0, err
}

// UnbindRouterL3 removes a router from an L3 agent.
func (q Q) UnbindRouterL3(ctx context.Context, routerID, agentID string) (bool, error) {
	n, err := rowsAffected(q.q.Exec(ctx, "DELETE FROM router_l3_agents WHERE router_id = ? AND agent_id = ?", routerID, agentID))
	return n > 0, err
}

// RouterL3Agents returns the agents hosting a router.
func (q Q) RouterL3Agents(ctx context.Context, routerID string) ([]*Agent, error) {
	return q.agentsWhere(ctx, "id IN (SELECT agent_id FROM router_l3_agents WHERE router_id = ?)", routerID)
}

// L3AgentRouters returns the routers an L3 agent hosts.
func (q Q) L3AgentRouters(ctx context.Context, agentID string) ([]string, error) {
	return q.ids(ctx, "SELECT router_id FROM router_l3_agents WHERE agent_id = ?", agentID)
}

func (q Q) agentsWhere(ctx context.Context, cond string, args ...any) ([]*Agent, error) {
	return pstore.All(ctx, q.q, scanAgent, "SELECT "+agentCols+" FROM agents WHERE "+cond+" ORDER BY host", args...)
}

func (q Q) ids(ctx context.Context, stmt string, args ...any) ([]string, error) {
	return pstore.All(ctx, q.q, pstore.Column[string], stmt, args...)
}
