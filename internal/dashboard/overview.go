package dashboard

import (
	"context"
	"net/http"
)

// quota is one gauge of the overview: how much of a limit the project uses.
type quota struct {
	Label string
	Used  int64
	Limit int64 // negative: unlimited
	Unit  string
}

// Unlimited reports whether the quota has no limit.
func (q quota) Unlimited() bool { return q.Limit < 0 }

// Percent is the share used, 0..100.
func (q quota) Percent() int64 {
	if q.Limit <= 0 {
		if q.Limit == 0 && q.Used > 0 {
			return 100
		}
		return 0
	}
	p := q.Used * 100 / q.Limit
	return min(p, 100)
}

// Dash is the SVG stroke-dasharray of the gauge's arc (circumference 100).
func (q quota) Dash() string {
	p := q.Percent()
	return itoa(p) + " " + itoa(100-p)
}

// Level names the gauge's colour.
func (q quota) Level() string {
	switch p := q.Percent(); {
	case p >= 90:
		return "full"
	case p >= 70:
		return "high"
	}
	return "ok"
}

type overviewData struct {
	Quotas []quota
}

// overview shows the project's quota usage, gathered from Nova's limits,
// Neutron's quota details and (when the catalog has it) Cinder's limits in one
// parallel fan-out.
func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request) {
	d.page("overview", func(p *page) error {
		p.Title = "Overview"
		var (
			nova struct {
				Limits struct {
					Absolute map[string]int64 `json:"absolute"`
				} `json:"limits"`
			}
			neutron struct {
				Quota map[string]struct {
					Used     int64 `json:"used"`
					Limit    int64 `json:"limit"`
					Reserved int64 `json:"reserved"`
				} `json:"quota"`
			}
			cinder struct {
				Limits struct {
					Absolute map[string]int64 `json:"absolute"`
				} `json:"limits"`
			}
		)
		calls := []func(context.Context) error{
			func(ctx context.Context) error { return p.cl.get(ctx, "compute", "/limits", &nova) },
			func(ctx context.Context) error {
				return p.cl.get(ctx, "network", "/v2.0/quotas/"+p.s.ProjectID+"/details.json", &neutron)
			},
		}
		hasVolume := p.cl.has(serviceTypes["volume"]...)
		if hasVolume {
			calls = append(calls, func(ctx context.Context) error { return p.cl.get(ctx, "volume", "/limits", &cinder) })
		}
		errs := fanout(p.ctx, calls...)
		data := &overviewData{}
		if errs[0] == nil {
			a := nova.Limits.Absolute
			data.Quotas = append(data.Quotas,
				quota{Label: "Instances", Used: a["totalInstancesUsed"], Limit: a["maxTotalInstances"]},
				quota{Label: "VCPUs", Used: a["totalCoresUsed"], Limit: a["maxTotalCores"]},
				quota{Label: "RAM", Used: a["totalRAMUsed"], Limit: a["maxTotalRAMSize"], Unit: "MiB"},
			)
		}
		if errs[1] == nil {
			for _, k := range []struct{ key, label string }{
				{"floatingip", "Floating IPs"}, {"security_group", "Security Groups"}, {"network", "Networks"},
				{"port", "Ports"}, {"router", "Routers"},
			} {
				if q, ok := neutron.Quota[k.key]; ok {
					data.Quotas = append(data.Quotas, quota{Label: k.label, Used: q.Used, Limit: q.Limit})
				}
			}
		}
		if hasVolume && errs[2] == nil {
			a := cinder.Limits.Absolute
			data.Quotas = append(data.Quotas,
				quota{Label: "Volumes", Used: a["totalVolumesUsed"], Limit: a["maxTotalVolumes"]},
				quota{Label: "Volume Snapshots", Used: a["totalSnapshotsUsed"], Limit: a["maxTotalSnapshots"]},
				quota{Label: "Volume Storage", Used: a["totalGigabytesUsed"], Limit: a["maxTotalVolumeGigabytes"], Unit: "GiB"},
			)
		}
		for _, e := range errs {
			if statusOf(e) == http.StatusUnauthorized {
				return e
			}
			p.fail(e)
		}
		p.Data = data
		return nil
	})(w, r)
}
