package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tenku-cloud/tenku/api/volume"
	"github.com/tenku-cloud/tenku/internal/platform/bus"
	"github.com/tenku-cloud/tenku/internal/platform/logging"
	"github.com/tenku-cloud/tenku/internal/volume/backend"
	"github.com/tenku-cloud/tenku/internal/volume/rpc"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// Host is a backend as the scheduler sees it.
type Host struct {
	// Name is host@backend; pools are named Name#BackendName.
	Name             string
	AvailabilityZone string
	Stats            backend.Stats
	// AllocatedGB is the size of the volumes placed on it.
	AllocatedGB int64
}

// FreeGB is the space left for new volumes, keeping the reserved share.
func (h Host) FreeGB() float64 {
	reserved := h.Stats.TotalCapacityGB * float64(h.Stats.ReservedPercent) / 100
	ratio := h.Stats.MaxOverSubRatio
	if ratio < 1 || !h.Stats.ThinProvisioning {
		ratio = 1
	}
	return (h.Stats.TotalCapacityGB-reserved)*ratio - float64(h.AllocatedGB)
}

// Pool returns the pool name of a host, as volumes record it.
func (h Host) Pool() string {
	b := h.Stats.BackendName
	if b == "" {
		b = "pool"
	}
	return h.Name + "#" + b
}

// Request is what a volume needs.
type Request struct {
	Size             int
	AvailabilityZone string
	ExtraSpecs       map[string]string
	// Backend, when set, is the only pool (host@backend#pool) the volume
	// may go to: where the snapshot or volume it copies is kept.
	Backend string
}

// NoValidHost explains why no host was chosen.
type NoValidHost struct{ Reason string }

func (e *NoValidHost) Error() string { return "No valid backend was found. " + e.Reason }

// Select returns the best host for a request, or a *NoValidHost that says
// which filter removed how many hosts.
func Select(hosts []Host, req Request) (Host, error) {
	if len(hosts) == 0 {
		return Host{}, &NoValidHost{Reason: "No volume service is up."}
	}
	filters := []struct {
		name string
		ok   func(Host) bool
	}{
		{"AvailabilityZoneFilter", func(h Host) bool {
			return req.AvailabilityZone == "" || h.AvailabilityZone == req.AvailabilityZone
		}},
		{"CapacityFilter", func(h Host) bool { return h.FreeGB() >= float64(req.Size) }},
		{"CapabilitiesFilter", func(h Host) bool { return capable(h.Stats, req.ExtraSpecs) }},
	}
	cur := hosts
	if req.Backend != "" {
		cur = nil
		for _, h := range hosts {
			if h.Pool() == req.Backend {
				cur = append(cur, h)
			}
		}
		if len(cur) == 0 {
			return Host{}, &NoValidHost{Reason: fmt.Sprintf("The source's backend %s is not up.", req.Backend)}
		}
	}
	for _, f := range filters {
		var next []Host
		for _, h := range cur {
			if f.ok(h) {
				next = append(next, h)
			}
		}
		if len(next) == 0 {
			return Host{}, &NoValidHost{Reason: fmt.Sprintf("Filter %s returned 0 hosts (of %d).", f.name, len(cur))}
		}
		cur = next
	}
	sort.SliceStable(cur, func(i, j int) bool {
		if a, b := cur[i].FreeGB(), cur[j].FreeGB(); a != b {
			return a > b
		}
		return cur[i].Name < cur[j].Name
	})
	return cur[0], nil
}

// capable matches a type's extra specs against a backend's capabilities,
// as Cinder's CapabilitiesFilter: scoped keys of other filters are
// skipped, "<is> True" matches booleans, and keys the backend does not
// report do not match.
func capable(st backend.Stats, specs map[string]string) bool {
	var caps map[string]any
	b, _ := json.Marshal(st)
	json.Unmarshal(b, &caps)
	for k, want := range specs {
		if scope, key, ok := strings.Cut(k, ":"); ok {
			if scope != "capabilities" {
				continue
			}
			k = key
		}
		switch k {
		case "multiattach", "RESKEY", "replication_enabled":
			if k == "multiattach" && strings.EqualFold(want, "<is> True") && !st.Multiattach {
				return false
			}
			continue
		}
		have, ok := caps[k]
		if !ok {
			return false
		}
		hs := fmt.Sprint(have)
		switch {
		case strings.HasPrefix(want, "<is> "):
			if !strings.EqualFold(strings.TrimPrefix(want, "<is> "), hs) {
				return false
			}
		case strings.HasPrefix(want, "<in> "):
			if !strings.Contains(hs, strings.TrimPrefix(want, "<in> ")) {
				return false
			}
		case strings.HasPrefix(want, "<or> "):
			found := false
			for _, alt := range strings.Split(strings.TrimPrefix(want, "<or> "), "<or>") {
				if strings.TrimSpace(alt) == hs {
					found = true
				}
			}
			if !found {
				return false
			}
		default:
			if want != hs {
				return false
			}
		}
	}
	return true
}

// Scheduler serves placement requests on the bus.
type Scheduler struct {
	db       *store.DB
	bus      *bus.Bus
	log      *slog.Logger
	downTime time.Duration
	mu       sync.Mutex
	sub      *bus.Subscription
}

// New returns a scheduler.
func New(db *store.DB, b *bus.Bus, log *slog.Logger, serviceDownTime time.Duration) *Scheduler {
	return &Scheduler{db: db, bus: b, log: log, downTime: serviceDownTime}
}

// Hosts returns the volume services that are up, enabled and not frozen.
func (s *Scheduler) Hosts(ctx context.Context) ([]Host, error) {
	rows, err := s.db.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	var out []Host
	for _, r := range rows {
		if r.Binary != rpc.Binary || r.Disabled || r.Frozen || time.Since(r.UpdatedAt) > s.downTime {
			continue
		}
		h := Host{Name: r.Host, AvailabilityZone: r.AvailabilityZone}
		if err := json.Unmarshal(r.Capabilities, &h.Stats); err != nil {
			s.log.WarnContext(ctx, "unreadable capabilities", "host", r.Host, "err", err)
			continue
		}
		if h.AllocatedGB, err = s.db.HostAllocated(ctx, r.Host); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// Start subscribes to the scheduler's subject.
func (s *Scheduler) Start(ctx context.Context) error {
	sub, err := s.bus.Serve(ctx, rpc.SchedulerSubject, bus.ServeOptions{Queue: rpc.SchedulerQueue}, map[string]bus.Handler{
		rpc.CreateVolume: func(ctx context.Context, raw json.RawMessage) (any, error) {
			args, err := bus.Decode[rpc.CreateArgs](raw)
			if err != nil {
				return nil, err
			}
			s.schedule(ctx, args)
			return nil, nil
		},
	})
	s.sub = sub
	return err
}

// Stop unsubscribes.
func (s *Scheduler) Stop() {
	if s.sub != nil {
		s.sub.Stop()
	}
}

func (s *Scheduler) schedule(ctx context.Context, args rpc.CreateArgs) {
	fail := func(reason string, noBackend bool) {
		st := volume.StatusError
		v, err := s.db.UpdateVolume(ctx, args.VolumeID, []volume.Status{volume.StatusCreating}, store.Change{Status: &st, ErrorReason: &reason})
		if err != nil {
			s.log.WarnContext(ctx, "volume error not recorded", "volume", args.VolumeID, "err", err)
		} else {
			// A user message, as Cinder's scheduler leaves one
			// (schedule allocate volume: no backend, or unknown error).
			detail := "001"
			if noBackend {
				detail = "003"
			}
			m := &store.Message{ProjectID: v.ProjectID, RequestID: logging.RequestID(ctx), ResourceType: "VOLUME", ResourceUUID: v.ID,
				EventID: store.EventID("VOLUME", "001", detail), DetailID: detail}
			if err := s.db.CreateMessage(ctx, m); err != nil {
				s.log.WarnContext(ctx, "user message not recorded", "volume", v.ID, "err", err)
			}
		}
		s.log.WarnContext(ctx, "volume not scheduled", "volume", args.VolumeID, "reason", reason)
	}
	s.mu.Lock()
	hosts, err := s.Hosts(ctx)
	if err != nil {
		s.mu.Unlock()
		fail(fmt.Sprintf("scheduler: %v", err), false)
		return
	}
	h, err := Select(hosts, Request{Size: args.Size, AvailabilityZone: args.AvailabilityZone, ExtraSpecs: args.ExtraSpecs, Backend: args.SourceHost})
	if err != nil {
		s.mu.Unlock()
		var nvh *NoValidHost
		fail(err.Error(), errors.As(err, &nvh))
		return
	}
	pool := h.Pool()
	_, err = s.db.UpdateVolume(ctx, args.VolumeID, []volume.Status{volume.StatusCreating}, store.Change{Host: &pool})
	s.mu.Unlock()
	if err != nil {
		s.log.WarnContext(ctx, "volume left creating before it was placed", "volume", args.VolumeID, "err", err)
		return
	}
	args.Host = pool
	if err := s.bus.Send(ctx, rpc.VolumeSubject(h.Name), rpc.CreateVolume, args); err != nil {
		fail(fmt.Sprintf("could not reach the volume service %s: %v", h.Name, err), false)
	}
}
