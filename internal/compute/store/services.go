package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

const serviceCols = "id, uuid, host, svc_binary, topic, report_count, disabled, disabled_reason, forced_down, last_seen_up, version, created_at, updated_at"

func scanService(r scanner) (*objects.Service, error) {
	var s objects.Service
	var seen, c, u store.Time
	if err := r.Scan(&s.ID, &s.UUID, &s.Host, &s.Binary, &s.Topic, &s.ReportCount, &s.Disabled, &s.DisabledReason,
		&s.ForcedDown, &seen, &s.Version, &c, &u); err != nil {
		return nil, err
	}
	s.LastSeenUp, s.CreatedAt, s.UpdatedAt = seen.Time, c.Time, u.Time
	return &s, nil
}

// Heartbeat records that a service is alive, creating its record the first
// time (with the state given: a new compute service may start disabled).
func (s *Store) Heartbeat(ctx context.Context, host, binary, topic string, version int, enableNew bool) (*objects.Service, error) {
	now := store.TimeOf(s.now())
	var out *objects.Service
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE services SET report_count = report_count + 1, last_seen_up = ?, updated_at = ?, version = ? WHERE host = ? AND svc_binary = ?",
			now, now, version, host, binary)
		if err != nil {
			return wrap("heartbeat", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			reason := ""
			if !enableNew {
				reason = "AUTO: new compute service"
			}
			_, err := tx.Exec(ctx, `INSERT INTO services (uuid, host, svc_binary, topic, report_count, disabled, disabled_reason, last_seen_up, version, created_at, updated_at)
				VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)`, uuid.NewString(), host, binary, topic, !enableNew, reason, now, version, now, now)
			if err != nil && !store.IsUnique(err) {
				return wrap("create service", err)
			}
		}
		var err2 error
		out, err2 = scanService(tx.QueryRow(ctx, "SELECT "+serviceCols+" FROM services WHERE host = ? AND svc_binary = ?", host, binary))
		return err2
	})
	return out, err
}

// Services lists services, optionally of one host and/or binary.
func (s *Store) Services(ctx context.Context, host, binary string) ([]*objects.Service, error) {
	q := "SELECT " + serviceCols + " FROM services WHERE 1 = 1"
	var args []any
	if host != "" {
		q += " AND host = ?"
		args = append(args, host)
	}
	if binary != "" {
		q += " AND svc_binary = ?"
		args = append(args, binary)
	}
	out, err := store.All(ctx, s.db, scanService, q+" ORDER BY id", args...)
	if err != nil {
		return nil, wrap("list services", err)
	}
	return out, nil
}

// Service returns a service by id (a UUID, or the database id before 2.53).
func (s *Store) Service(ctx context.Context, id string) (*objects.Service, error) {
	sv, err := scanService(s.db.QueryRow(ctx, "SELECT "+serviceCols+" FROM services WHERE uuid = ? OR CAST(id AS CHAR(20)) = ?", id, id))
	if errNoRows(err) {
		return nil, fault.NotFound("Service %s could not be found.", id).WithType("ServiceNotFound")
	}
	return sv, wrap("get service", err)
}

// ServiceUpdate changes a service's administrative state.
type ServiceUpdate struct {
	Disabled       *bool
	DisabledReason *string
	ForcedDown     *bool
}

// UpdateService applies u to a service.
func (s *Store) UpdateService(ctx context.Context, id int64, u ServiceUpdate) (*objects.Service, error) {
	sets := "updated_at = ?"
	args := []any{store.TimeOf(s.now())}
	if u.Disabled != nil {
		sets += ", disabled = ?"
		args = append(args, *u.Disabled)
	}
	if u.DisabledReason != nil {
		sets += ", disabled_reason = ?"
		args = append(args, *u.DisabledReason)
	}
	if u.ForcedDown != nil {
		sets += ", forced_down = ?"
		args = append(args, *u.ForcedDown)
	}
	args = append(args, id)
	if _, err := s.db.Exec(ctx, "UPDATE services SET "+sets+" WHERE id = ?", args...); err != nil {
		return nil, wrap("update service", err)
	}
	return s.Service(ctx, fmt.Sprint(id))
}

// DeleteService removes a service and, for a compute service, its compute
// nodes (409 while instances are on the host, as Nova).
func (s *Store) DeleteService(ctx context.Context, sv *objects.Service) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if sv.Binary == "nova-compute" {
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM instances WHERE host = ? AND deleted = FALSE", sv.Host).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fault.Conflict("Unable to delete compute service that is hosting instances. Migrate or delete the instances first.").WithType("ServiceDeleteConflict")
			}
			if _, err := tx.Exec(ctx, "DELETE FROM compute_nodes WHERE host = ?", sv.Host); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "DELETE FROM aggregate_hosts WHERE host = ?", sv.Host); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, "DELETE FROM services WHERE id = ?", sv.ID)
		return err
	})
}

const nodeCols = `id, uuid, host, hypervisor_hostname, hypervisor_type, hypervisor_version, host_ip, vcpus, vcpus_used,
	memory_mb, memory_mb_used, local_gb, local_gb_used, running_vms, reserved_host_cpus, reserved_host_memory_mb,
	reserved_host_disk_gb, cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio, cpu_info, generation,
	created_at, updated_at`

func scanNode(r scanner) (*objects.ComputeNode, error) {
	var n objects.ComputeNode
	var cpuInfo sql.NullString
	var c, u store.Time
	if err := r.Scan(&n.ID, &n.UUID, &n.Host, &n.HypervisorHostname, &n.HypervisorType, &n.HypervisorVersion, &n.HostIP,
		&n.VCPUs, &n.VCPUsUsed, &n.MemoryMB, &n.MemoryMBUsed, &n.LocalGB, &n.LocalGBUsed, &n.RunningVMs,
		&n.ReservedHostCPUs, &n.ReservedHostMemoryMB, &n.ReservedHostDiskGB, &n.CPUAllocationRatio, &n.RAMAllocationRatio,
		&n.DiskAllocationRatio, &cpuInfo, &n.Generation, &c, &u); err != nil {
		return nil, err
	}
	n.CPUInfo, n.CreatedAt, n.UpdatedAt = cpuInfo.String, c.Time, u.Time
	return &n, nil
}

// ReportNode creates or updates a compute node with what its agent reports
// (totals, reservations, ratios, hypervisor facts); the used amounts are
// recomputed from the allocations, which only claims change, and the
// running_vms from the instances on the node.
func (s *Store) ReportNode(ctx context.Context, n *objects.ComputeNode) (*objects.ComputeNode, error) {
	now := store.TimeOf(s.now())
	var out *objects.ComputeNode
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE compute_nodes SET hypervisor_type = ?, hypervisor_version = ?, host_ip = ?, vcpus = ?,
			memory_mb = ?, local_gb = ?, reserved_host_cpus = ?, reserved_host_memory_mb = ?, reserved_host_disk_gb = ?,
			cpu_allocation_ratio = ?, ram_allocation_ratio = ?, disk_allocation_ratio = ?, cpu_info = ?, updated_at = ?
			WHERE host = ? AND hypervisor_hostname = ?`,
			n.HypervisorType, n.HypervisorVersion, n.HostIP, n.VCPUs, n.MemoryMB, n.LocalGB, n.ReservedHostCPUs,
			n.ReservedHostMemoryMB, n.ReservedHostDiskGB, n.CPUAllocationRatio, n.RAMAllocationRatio, n.DiskAllocationRatio,
			n.CPUInfo, now, n.Host, n.HypervisorHostname)
		if err != nil {
			return wrap("update compute node", err)
		}
		if c, _ := res.RowsAffected(); c == 0 {
			id := n.UUID
			if id == "" {
				id = uuid.NewString()
			}
			_, err := tx.Exec(ctx, `INSERT INTO compute_nodes (uuid, host, hypervisor_hostname, hypervisor_type, hypervisor_version,
				host_ip, vcpus, memory_mb, local_gb, reserved_host_cpus, reserved_host_memory_mb, reserved_host_disk_gb,
				cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio, cpu_info, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				id, n.Host, n.HypervisorHostname, n.HypervisorType, n.HypervisorVersion, n.HostIP, n.VCPUs, n.MemoryMB,
				n.LocalGB, n.ReservedHostCPUs, n.ReservedHostMemoryMB, n.ReservedHostDiskGB, n.CPUAllocationRatio,
				n.RAMAllocationRatio, n.DiskAllocationRatio, n.CPUInfo, now, now)
			if err != nil {
				return wrap("create compute node", err)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE compute_nodes SET
			vcpus_used = (SELECT COALESCE(SUM(a.vcpus), 0) FROM allocations a WHERE a.node_uuid = compute_nodes.uuid),
			memory_mb_used = (SELECT COALESCE(SUM(a.memory_mb), 0) FROM allocations a WHERE a.node_uuid = compute_nodes.uuid),
			local_gb_used = (SELECT COALESCE(SUM(a.disk_gb), 0) FROM allocations a WHERE a.node_uuid = compute_nodes.uuid),
			running_vms = (SELECT COUNT(*) FROM instances i WHERE i.host = compute_nodes.host AND i.node = compute_nodes.hypervisor_hostname AND i.deleted = FALSE)
			WHERE host = ? AND hypervisor_hostname = ?`, n.Host, n.HypervisorHostname)
		if err != nil {
			return wrap("recount compute node", err)
		}
		out, err = scanNode(tx.QueryRow(ctx, "SELECT "+nodeCols+" FROM compute_nodes WHERE host = ? AND hypervisor_hostname = ?", n.Host, n.HypervisorHostname))
		return err
	})
	return out, err
}

// Nodes lists compute nodes, optionally of one host.
func (s *Store) Nodes(ctx context.Context, host string) ([]*objects.ComputeNode, error) {
	q := "SELECT " + nodeCols + " FROM compute_nodes"
	var args []any
	if host != "" {
		q += " WHERE host = ?"
		args = append(args, host)
	}
	out, err := store.All(ctx, s.db, scanNode, q+" ORDER BY id", args...)
	if err != nil {
		return nil, wrap("list compute nodes", err)
	}
	return out, nil
}

// Node returns a compute node by UUID or database id.
func (s *Store) Node(ctx context.Context, id string) (*objects.ComputeNode, error) {
	n, err := scanNode(s.db.QueryRow(ctx, "SELECT "+nodeCols+" FROM compute_nodes WHERE uuid = ? OR CAST(id AS CHAR(20)) = ?", id, id))
	if errNoRows(err) {
		return nil, fault.NotFound("Hypervisor with ID %s could not be found.", id).WithType("ComputeHostNotFound")
	}
	return n, wrap("get compute node", err)
}

// Claim is a consumer's request for resources on a node.
type Claim struct {
	Consumer  string `json:"consumer"`
	ProjectID string `json:"project_id"`
	NodeUUID  string `json:"node_uuid"`
	VCPUs     int    `json:"vcpus"`
	MemoryMB  int    `json:"memory_mb"`
	DiskGB    int    `json:"disk_gb"`
}

// ErrClaimFailed says the node no longer has room: someone else claimed
// first. The conductor tries an alternate or reschedules.
var ErrClaimFailed = fault.Conflict("the compute node no longer has the resources").WithType("ClaimFailed")

// Claim takes resources from a node with a conditional increment: it
// succeeds only while used + wanted stays within (total - reserved) * ratio
// for each resource, so concurrent claims never overcommit a node.
func (s *Store) Claim(ctx context.Context, c Claim) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error { return s.claim(ctx, tx, c) })
}

func (s *Store) claim(ctx context.Context, tx *store.Tx, c Claim) error {
	err := store.CAS(ctx, tx, `UPDATE compute_nodes SET vcpus_used = vcpus_used + ?, memory_mb_used = memory_mb_used + ?,
		local_gb_used = local_gb_used + ?, generation = generation + 1
		WHERE uuid = ?
		AND (? = 0 OR vcpus_used + ? <= (vcpus - reserved_host_cpus) * cpu_allocation_ratio)
		AND (? = 0 OR memory_mb_used + ? <= (memory_mb - reserved_host_memory_mb) * ram_allocation_ratio)
		AND (? = 0 OR local_gb_used + ? <= (local_gb - reserved_host_disk_gb) * disk_allocation_ratio)`,
		c.VCPUs, c.MemoryMB, c.DiskGB, c.NodeUUID, c.VCPUs, c.VCPUs, c.MemoryMB, c.MemoryMB, c.DiskGB, c.DiskGB)
	if errors.Is(err, store.ErrConflict) {
		return ErrClaimFailed
	}
	if err != nil {
		return wrap("claim", err)
	}
	up := tx.D().Upsert("allocations", []string{"consumer_id", "node_uuid", "project_id", "vcpus", "memory_mb", "disk_gb", "created_at"},
		[]string{"consumer_id", "node_uuid"}, []string{"vcpus", "memory_mb", "disk_gb"})
	// An existing allocation of the consumer on the node is replaced; give
	// back what it held first.
	var old Claim
	err = tx.QueryRow(ctx, "SELECT vcpus, memory_mb, disk_gb FROM allocations WHERE consumer_id = ? AND node_uuid = ?", c.Consumer, c.NodeUUID).
		Scan(&old.VCPUs, &old.MemoryMB, &old.DiskGB)
	if err == nil {
		if _, err := tx.Exec(ctx, "UPDATE compute_nodes SET vcpus_used = vcpus_used - ?, memory_mb_used = memory_mb_used - ?, local_gb_used = local_gb_used - ? WHERE uuid = ?",
			old.VCPUs, old.MemoryMB, old.DiskGB, c.NodeUUID); err != nil {
			return err
		}
	} else if !errNoRows(err) {
		return err
	}
	_, err = tx.Exec(ctx, up, c.Consumer, c.NodeUUID, c.ProjectID, c.VCPUs, c.MemoryMB, c.DiskGB, store.TimeOf(s.now()))
	return wrap("record allocation", err)
}

// ClaimInstance claims resources for an instance and assigns it to the node's
// host in one transaction, if the instance is still waiting to be scheduled
// (task_state expect). It is the scheduling CAS; the events of start and
// finish are recorded with it.
func (s *Store) ClaimInstance(ctx context.Context, c Claim, host, node string, expect Expect, start, finish []EventRef) (*objects.Instance, error) {
	var out *objects.Instance
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		if err := s.claim(ctx, tx, c); err != nil {
			return err
		}
		var err error
		out, err = s.save(ctx, tx, Save{UUID: c.Consumer, Update: Update{Host: &host, Node: &node, LaunchedOn: &host}, Expect: expect, Start: start, Finish: finish})
		return err
	})
	return out, err
}

// Allocations returns what a consumer holds, by node.
func (s *Store) Allocations(ctx context.Context, consumer string) ([]Claim, error) {
	out, err := store.All(ctx, s.db, scanClaim, "SELECT "+claimCols+" FROM allocations WHERE consumer_id = ?", consumer)
	return out, wrap("list allocations", err)
}

const claimCols = "consumer_id, project_id, node_uuid, vcpus, memory_mb, disk_gb"

func scanClaim(r store.Row) (Claim, error) {
	var c Claim
	err := r.Scan(&c.Consumer, &c.ProjectID, &c.NodeUUID, &c.VCPUs, &c.MemoryMB, &c.DiskGB)
	return c, err
}

// FreeAllocations gives back everything a consumer holds.
func (s *Store) FreeAllocations(ctx context.Context, consumer string) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error { return s.freeAllocations(ctx, tx, consumer) })
}

func (s *Store) freeAllocations(ctx context.Context, tx *store.Tx, consumer string) error {
	held, err := store.All(ctx, tx, scanClaim, "SELECT "+claimCols+" FROM allocations WHERE consumer_id = ?"+forUpdate(tx), consumer)
	if err != nil {
		return wrap("read allocations", err)
	}
	for _, c := range held {
		if _, err := tx.Exec(ctx, `UPDATE compute_nodes SET vcpus_used = CASE WHEN vcpus_used > ? THEN vcpus_used - ? ELSE 0 END,
			memory_mb_used = CASE WHEN memory_mb_used > ? THEN memory_mb_used - ? ELSE 0 END,
			local_gb_used = CASE WHEN local_gb_used > ? THEN local_gb_used - ? ELSE 0 END, generation = generation + 1 WHERE uuid = ?`,
			c.VCPUs, c.VCPUs, c.MemoryMB, c.MemoryMB, c.DiskGB, c.DiskGB, c.NodeUUID); err != nil {
			return wrap("free allocation", err)
		}
	}
	_, err = tx.Exec(ctx, "DELETE FROM allocations WHERE consumer_id = ?", consumer)
	return err
}

// FreeAllocationsOn gives back what a consumer holds on one node.
func (s *Store) FreeAllocationsOn(ctx context.Context, consumer, nodeUUID string) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		var c Claim
		err := tx.QueryRow(ctx, "SELECT vcpus, memory_mb, disk_gb FROM allocations WHERE consumer_id = ? AND node_uuid = ?", consumer, nodeUUID).Scan(&c.VCPUs, &c.MemoryMB, &c.DiskGB)
		if errNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE compute_nodes SET vcpus_used = vcpus_used - ?, memory_mb_used = memory_mb_used - ?, local_gb_used = local_gb_used - ? WHERE uuid = ?",
			c.VCPUs, c.MemoryMB, c.DiskGB, nodeUUID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM allocations WHERE consumer_id = ? AND node_uuid = ?", consumer, nodeUUID)
		return err
	})
}

// MoveAllocations hands what one consumer holds to another (a resize keeps the
// source side under the migration's id, as Nova does with placement).
func (s *Store) MoveAllocations(ctx context.Context, from, to string) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM allocations WHERE consumer_id = ? AND node_uuid IN (SELECT node_uuid FROM (SELECT node_uuid FROM allocations WHERE consumer_id = ?) x)", to, from); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "UPDATE allocations SET consumer_id = ? WHERE consumer_id = ?", to, from)
		return err
	})
}

// AllocationsOnNode lists the consumers on a node.
func (s *Store) AllocationsOnNode(ctx context.Context, nodeUUID string) ([]Claim, error) {
	out, err := store.All(ctx, s.db, scanClaim, "SELECT "+claimCols+" FROM allocations WHERE node_uuid = ?", nodeUUID)
	return out, wrap("list node allocations", err)
}

// NodeAge reports when a node last reported.
func NodeAge(n *objects.ComputeNode, now time.Time) time.Duration { return now.Sub(n.UpdatedAt) }
