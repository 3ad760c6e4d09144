package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tenku-cloud/tenku/internal/compute/objects"
	"github.com/tenku-cloud/tenku/internal/compute/states"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/store"
)

const instanceCols = `id, uuid, project_id, user_id, display_name, display_description, hostname, image_ref,
	flavor, old_flavor, new_flavor, vm_state, task_state, power_state, host, node, launched_on, availability_zone,
	key_name, key_data, user_data, config_drive, metadata, system_metadata, network_info, security_groups, request_spec,
	access_ip_v4, access_ip_v6, locked_by, auto_disk_config, progress, reservation_id, launch_index, root_device_name,
	kernel_id, ramdisk_id, created_at, updated_at, launched_at, terminated_at, deleted_at, deleted`

type scanner = store.Row

func scanInstance(r scanner) (*objects.Instance, error) {
	var (
		i                          objects.Instance
		desc, keyData, userData    sql.NullString
		flavor                     store.JSON[objects.Flavor]
		oldFlavor, newFlavor       store.JSON[*objects.Flavor]
		meta, sysMeta              store.JSON[map[string]string]
		netInfo                    store.JSON[[]objects.VIF]
		secGroups                  store.JSON[[]string]
		spec                       store.JSON[*objects.RequestSpec]
		vm, task                   string
		power                      int
		created, updated, launched store.Time
		terminated, deletedAt      store.Time
	)
	err := r.Scan(&i.ID, &i.UUID, &i.ProjectID, &i.UserID, &i.DisplayName, &desc, &i.Hostname, &i.ImageRef,
		&flavor, &oldFlavor, &newFlavor, &vm, &task, &power, &i.Host, &i.Node, &i.LaunchedOn, &i.AvailabilityZone,
		&i.KeyName, &keyData, &userData, &i.ConfigDrive, &meta, &sysMeta, &netInfo, &secGroups, &spec,
		&i.AccessIPv4, &i.AccessIPv6, &i.LockedBy, &i.AutoDiskConfig, &i.Progress, &i.ReservationID, &i.LaunchIndex,
		&i.RootDeviceName, &i.KernelID, &i.RamdiskID, &created, &updated, &launched, &terminated, &deletedAt, &i.Deleted)
	if err != nil {
		return nil, err
	}
	if desc.Valid {
		d := desc.String
		i.Description = &d
	}
	i.KeyData, i.UserData = keyData.String, userData.String
	i.Flavor, i.OldFlavor, i.NewFlavor = flavor.V, oldFlavor.V, newFlavor.V
	i.VMState, i.TaskState, i.PowerState = states.VM(vm), states.Task(task), states.Power(power)
	i.Metadata, i.SystemMetadata = meta.V, sysMeta.V
	if i.Metadata == nil {
		i.Metadata = map[string]string{}
	}
	if i.SystemMetadata == nil {
		i.SystemMetadata = map[string]string{}
	}
	i.NetworkInfo, i.SecurityGroups, i.RequestSpec = netInfo.V, secGroups.V, spec.V
	i.CreatedAt, i.UpdatedAt, i.LaunchedAt = created.Time, updated.Time, launched.Time
	i.TerminatedAt, i.DeletedAt = terminated.Time, deletedAt.Time
	return &i, nil
}

func nullText(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// NewInstance is an instance to create with what comes with it.
type NewInstance struct {
	Instance *objects.Instance
	Tags     []string
	BDMs     []objects.BDM
	GroupID  int64
}

// CreateInstances inserts instances, their tags, block device mappings,
// group memberships and a "create" action for each, after reserving quota:
// all in one transaction, so that concurrent requests never exceed a limit.
// It fills in each instance's database id.
func (s *Store) CreateInstances(ctx context.Context, insts []NewInstance, quota *Reservation, action ActionStart) error {
	if err := s.prepareUsage(ctx, quota); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		if quota != nil {
			if err := s.reserve(ctx, tx, quota); err != nil {
				return err
			}
		}
		for _, n := range insts {
			if err := s.insertInstance(ctx, tx, n.Instance); err != nil {
				return err
			}
			for _, t := range n.Tags {
				if _, err := tx.Exec(ctx, "INSERT INTO instance_tags (instance_uuid, tag) VALUES (?, ?)", n.Instance.UUID, t); err != nil && !store.IsUnique(err) {
					return wrap("insert tag", err)
				}
			}
			for i := range n.BDMs {
				b := n.BDMs[i]
				b.InstanceUUID = n.Instance.UUID
				if err := insertBDM(ctx, tx, &b, s.now()); err != nil {
					return err
				}
			}
			if n.GroupID != 0 {
				if _, err := tx.Exec(ctx, "INSERT INTO instance_group_member (group_id, instance_uuid) VALUES (?, ?)", n.GroupID, n.Instance.UUID); err != nil {
					return wrap("insert group member", err)
				}
			}
			a := action
			a.InstanceUUID = n.Instance.UUID
			if _, err := s.startAction(ctx, tx, a); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) insertInstance(ctx context.Context, tx *store.Tx, i *objects.Instance) error {
	now := s.now()
	if i.CreatedAt.IsZero() {
		i.CreatedAt = now
	}
	i.UpdatedAt = i.CreatedAt
	if i.Metadata == nil {
		i.Metadata = map[string]string{}
	}
	if i.SystemMetadata == nil {
		i.SystemMetadata = map[string]string{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO instances (uuid, project_id, user_id, display_name, display_description, hostname,
		image_ref, flavor_id, flavor, vm_state, task_state, power_state, host, node, availability_zone, key_name, key_data,
		user_data, config_drive, metadata, system_metadata, network_info, security_groups, request_spec, access_ip_v4,
		access_ip_v6, auto_disk_config, reservation_id, launch_index, vcpus, memory_mb, root_gb, ephemeral_gb,
		created_at, updated_at, deleted)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE)`,
		i.UUID, i.ProjectID, i.UserID, i.DisplayName, nullText(i.Description), i.Hostname,
		i.ImageRef, i.Flavor.FlavorID, store.JSONOf(i.Flavor), string(i.VMState), string(i.TaskState), int(i.PowerState),
		i.Host, i.Node, i.AvailabilityZone, i.KeyName, i.KeyData,
		i.UserData, i.ConfigDrive, store.JSONOf(i.Metadata), store.JSONOf(i.SystemMetadata), store.JSONOf(i.NetworkInfo),
		store.JSONOf(i.SecurityGroups), store.JSONOf(i.RequestSpec), i.AccessIPv4,
		i.AccessIPv6, i.AutoDiskConfig, i.ReservationID, i.LaunchIndex, i.Flavor.VCPUs, i.Flavor.MemoryMB, i.Flavor.RootGB,
		i.Flavor.EphemeralGB, store.TimeOf(i.CreatedAt), store.TimeOf(i.UpdatedAt))
	if err != nil {
		if store.IsUnique(err) {
			return fault.Conflict("Instance %s already exists.", i.UUID)
		}
		return wrap("insert instance", err)
	}
	return tx.QueryRow(ctx, "SELECT id FROM instances WHERE uuid = ?", i.UUID).Scan(&i.ID)
}

// GetOptions say what to load with an instance.
type GetOptions struct {
	// ReadDeleted finds deleted instances too.
	ReadDeleted bool
	// Tags and Fault load those.
	Tags  bool
	Fault bool
}

// Instance returns an instance by UUID (404 when missing or deleted).
func (s *Store) Instance(ctx context.Context, uuid string, o GetOptions) (*objects.Instance, error) {
	return s.instance(ctx, s.db, uuid, o)
}

func (s *Store) instance(ctx context.Context, q store.Querier, uuid string, o GetOptions) (*objects.Instance, error) {
	query := "SELECT " + instanceCols + " FROM instances WHERE uuid = ?"
	if !o.ReadDeleted {
		query += " AND deleted = FALSE"
	}
	i, err := scanInstance(q.QueryRow(ctx, query, uuid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, instanceNotFound(uuid)
	}
	if err != nil {
		return nil, wrap("get instance", err)
	}
	if o.Tags {
		tags, err := s.tagsOf(ctx, q, []string{uuid})
		if err != nil {
			return nil, err
		}
		i.Tags = tags[uuid]
		if i.Tags == nil {
			i.Tags = []string{}
		}
	}
	if o.Fault {
		faults, err := s.faultsOf(ctx, q, []string{uuid})
		if err != nil {
			return nil, err
		}
		i.Fault = faults[uuid]
	}
	return i, nil
}

// InstanceUsage is the quota usage of n instances of a flavor.
func InstanceUsage(f *objects.Flavor, n int) map[string]int {
	return map[string]int{"instances": n, "cores": n * f.VCPUs, "ram": n * f.MemoryMB}
}

// InstanceHosts returns the host of each listed live instance.
func (s *Store) InstanceHosts(ctx context.Context, uuids []string) (map[string]string, error) {
	out := map[string]string{}
	err := eachIn(ctx, s.db, uuids, func(in string) string {
		return "SELECT uuid, host FROM instances WHERE deleted = FALSE AND uuid IN " + in
	}, func(r store.Row) error {
		var id, host string
		err := r.Scan(&id, &host)
		out[id] = host
		return err
	})
	if err != nil {
		return nil, wrap("list instance hosts", err)
	}
	return out, nil
}

// HostLoad is what the scheduler counts per compute node: instances, I/O
// heavy ones and instances per project.
type HostLoad struct {
	Host, Node string
	Instances  int
	IOOps      int
	ByProject  map[string]int
}

// HostLoads counts live instances per node.
func (s *Store) HostLoads(ctx context.Context, ioop func(vm, task string) bool) (map[objects.HostNode]*HostLoad, error) {
	out := map[objects.HostNode]*HostLoad{}
	err := store.Each(ctx, s.db, func(r store.Row) error {
		var host, node, project, vm, task string
		var n int
		if err := r.Scan(&host, &node, &project, &vm, &task, &n); err != nil {
			return err
		}
		k := objects.HostNode{Host: host, Node: node}
		l := out[k]
		if l == nil {
			l = &HostLoad{Host: host, Node: node, ByProject: map[string]int{}}
			out[k] = l
		}
		l.Instances += n
		l.ByProject[project] += n
		if ioop(vm, task) {
			l.IOOps += n
		}
		return nil
	}, `SELECT host, node, project_id, vm_state, task_state, COUNT(*) FROM instances
		WHERE deleted = FALSE AND host <> '' GROUP BY host, node, project_id, vm_state, task_state`)
	if err != nil {
		return nil, wrap("count instances", err)
	}
	return out, nil
}
