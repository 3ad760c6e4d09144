package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
	"github.com/tenku-cloud/tenku/internal/platform/rest"
	"github.com/tenku-cloud/tenku/internal/volume/store"
)

// qosRoutes are Cinder's qos-specs: named key/value sets for a consumer
// (front-end: the hypervisor applies them; back-end: the driver; both),
// associated with volume types. Associate and disassociate are GETs with
// vol_type_id in the query, as in Cinder.
func (a *API) qosRoutes() []rest.Route {
	p := "/v3/{project_id}/qos-specs"
	q := p + "/{qos_id}"
	return []rest.Route{
		{Method: "GET", Path: p, Policy: "volume_extension:qos_specs_manage:get_all", Handler: a.listQoS},
		{Method: "POST", Path: p, Policy: "volume_extension:qos_specs_manage:create", Handler: a.createQoS},
		{Method: "GET", Path: q, Policy: "volume_extension:qos_specs_manage:get", Handler: a.showQoS},
		{Method: "PUT", Path: q, Policy: "volume_extension:qos_specs_manage:update", Handler: a.updateQoS},
		{Method: "DELETE", Path: q, Status: http.StatusAccepted, Policy: "volume_extension:qos_specs_manage:delete", Handler: a.deleteQoS},
		{Method: "PUT", Path: q + "/delete_keys", Status: http.StatusAccepted, Policy: "volume_extension:qos_specs_manage:update", Handler: a.unsetQoSKeys},
		{Method: "GET", Path: q + "/associations", Policy: "volume_extension:qos_specs_manage:get_all", Handler: a.qosAssociations},
		{Method: "GET", Path: q + "/associate", Status: http.StatusAccepted, Policy: "volume_extension:qos_specs_manage:update", Handler: a.associateQoS},
		{Method: "GET", Path: q + "/disassociate", Status: http.StatusAccepted, Policy: "volume_extension:qos_specs_manage:update", Handler: a.disassociateQoS},
		{Method: "GET", Path: q + "/disassociate_all", Status: http.StatusAccepted, Policy: "volume_extension:qos_specs_manage:update", Handler: a.disassociateAllQoS},
	}
}

func qosNotFound(id string) error {
	return fault.NotFound("No such QoS spec %s.", id).WithType("QoSSpecsNotFound")
}

func qosRules() []policy.Rule {
	p, q := "/qos-specs", "/qos-specs/{qos_id}"
	return []policy.Rule{
		rule("volume_extension:qos_specs_manage:create", ruleAdminAPI, "Create QoS specs.", op("POST", p)),
		rule("volume_extension:qos_specs_manage:get", ruleAdminAPI, "Show QoS specs.", op("GET", q)),
		rule("volume_extension:qos_specs_manage:get_all", ruleAdminAPI, "List QoS specs and their associations.", op("GET", p), op("GET", q+"/associations")),
		rule("volume_extension:qos_specs_manage:update", ruleAdminAPI, "Set or unset QoS specs keys; associate or disassociate QoS specs.",
			op("PUT", q), op("PUT", q+"/delete_keys"), op("GET", q+"/associate"), op("GET", q+"/disassociate"), op("GET", q+"/disassociate_all")),
		rule("volume_extension:qos_specs_manage:delete", ruleAdminAPI, "Delete QoS specs.", op("DELETE", q)),
	}
}

var qosConsumers = []string{"front-end", "back-end", "both"}

func checkConsumer(c string) error {
	if !slices.Contains(qosConsumers, c) {
		return fault.BadRequest("Invalid qos specs: Valid consumer of QoS specs are: ['front-end', 'back-end', 'both']").WithType("InvalidQoSSpecs")
	}
	return nil
}

func (a *API) renderQoS(q *store.QoS) map[string]any {
	return map[string]any{"id": q.ID, "name": q.Name, "consumer": q.Consumer, "specs": q.Specs}
}

func (a *API) qosDetail(r *rest.Request, q *store.QoS) map[string]any {
	return map[string]any{"qos_specs": a.renderQoS(q), "links": a.links(r, r.Param("project_id"), "qos-specs", q.ID)}
}

// decodeQoSSpecs reads {"qos_specs": {...}} whose values are all strings
// of at most 255 characters and whose keys are 1 to 255 characters.
func decodeQoSSpecs(r *rest.Request) (map[string]string, error) {
	var b struct {
		QoS map[string]json.RawMessage `json:"qos_specs"`
	}
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	if b.QoS == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute qos_specs. 'qos_specs' is a required property")
	}
	out := map[string]string{}
	for k, raw := range b.QoS {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fault.BadRequest("Invalid input received: Value for key %q is not a string.", k)
		}
		if k == "" || len(k) > 255 || len(s) > 255 {
			return nil, fault.BadRequest("Invalid input received: Keys must be 1 to 255 characters and values at most 255.")
		}
		out[k] = s
	}
	return out, nil
}

func (a *API) createQoS(ctx context.Context, r *rest.Request) (any, error) {
	specs, err := decodeQoSSpecs(r)
	if err != nil {
		return nil, err
	}
	name, ok := specs["name"]
	if !ok {
		return nil, fault.BadRequest("Invalid input for field/attribute qos_specs. 'name' is a required property")
	}
	if name = strings.TrimSpace(name); name == "" {
		return nil, fault.BadRequest("Invalid input for field/attribute name. The name must be 1 to 255 characters, not only spaces.")
	}
	delete(specs, "name")
	consumer := "back-end"
	if c, ok := specs["consumer"]; ok {
		if err := checkConsumer(c); err != nil {
			return nil, err
		}
		consumer = c
		delete(specs, "consumer")
	}
	q := &store.QoS{Name: name, Consumer: consumer, Specs: specs}
	if err := a.db.CreateQoS(ctx, q); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, fault.Conflict("QoS Specs %s already exists.", name).WithType("QoSSpecsExists")
		}
		return nil, err
	}
	return a.qosDetail(r, q), nil
}

func (a *API) getQoS(ctx context.Context, id string) (*store.QoS, error) {
	q, err := a.db.GetQoS(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, qosNotFound(id)
	}
	return q, err
}

func (a *API) showQoS(ctx context.Context, r *rest.Request) (any, error) {
	q, err := a.getQoS(ctx, r.Param("qos_id"))
	if err != nil {
		return nil, err
	}
	return a.qosDetail(r, q), nil
}

var qosSortKeys = map[string]string{"id": "id", "name": "name", "consumer": "consumer", "created_at": "created_at"}

// listQoS lists every QoS specs record (newest first unless sorted), with
// limit and marker.
func (a *API) listQoS(ctx context.Context, r *rest.Request) (any, error) {
	keys, err := parseSort(r.HTTP.URL.Query(), qosSortKeys)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		keys = []store.SortKey{{Key: "created_at", Desc: true}}
	}
	page, err := r.Page(a.opt.MaxLimit, a.opt.MaxLimit)
	if err != nil {
		return nil, err
	}
	all, err := a.db.ListQoS(ctx)
	if err != nil {
		return nil, err
	}
	field := func(q *store.QoS, k string) string {
		switch k {
		case "id":
			return q.ID
		case "name":
			return q.Name
		case "consumer":
			return q.Consumer
		}
		return ""
	}
	slices.SortStableFunc(all, func(x, y *store.QoS) int {
		for _, k := range keys {
			c := cmp.Compare(field(x, k.Key), field(y, k.Key))
			if k.Key == "created_at" {
				c = x.CreatedAt.Compare(y.CreatedAt)
			}
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(x.ID, y.ID)
	})
	items, _, err := rest.PageOf(all, page, func(q *store.QoS) string { return q.ID })
	if err != nil {
		return nil, qosNotFound(page.Marker)
	}
	out := make([]map[string]any, 0, len(items))
	for _, q := range items {
		out = append(out, a.renderQoS(q))
	}
	return map[string]any{"qos_specs": out}, nil
}

// updateQoS sets keys (and the consumer); the answer is what was set.
func (a *API) updateQoS(ctx context.Context, r *rest.Request) (any, error) {
	specs, err := decodeQoSSpecs(r)
	if err != nil {
		return nil, err
	}
	echo := map[string]string{}
	for k, v := range specs {
		echo[k] = v
	}
	var consumer *string
	if c, ok := specs["consumer"]; ok {
		if err := checkConsumer(c); err != nil {
			return nil, err
		}
		consumer = &c
		delete(specs, "consumer")
	}
	id := r.Param("qos_id")
	if _, err := a.db.UpdateQoS(ctx, id, consumer, specs, nil); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, qosNotFound(id)
		}
		return nil, err
	}
	return map[string]any{"qos_specs": echo}, nil
}

func (a *API) unsetQoSKeys(ctx context.Context, r *rest.Request) (any, error) {
	var b struct {
		Keys *[]string `json:"keys"`
	}
	if err := r.Decode(&b); err != nil {
		return nil, err
	}
	if b.Keys == nil {
		return nil, fault.BadRequest("Invalid input for field/attribute keys. 'keys' is a required property")
	}
	for i, k := range *b.Keys {
		if k == "" || len(k) > 255 || slices.Contains((*b.Keys)[:i], k) {
			return nil, fault.BadRequest("Invalid input for field/attribute keys. Keys must be unique and 1 to 255 characters.")
		}
	}
	id := r.Param("qos_id")
	var mk *store.MissingKeyError
	switch _, err := a.db.UpdateQoS(ctx, id, nil, nil, *b.Keys); {
	case errors.Is(err, store.ErrNotFound):
		return nil, qosNotFound(id)
	case errors.As(err, &mk):
		return nil, fault.NotFound("QoS spec %s has no spec with key %s.", id, mk.Key).WithType("QoSSpecsKeyNotFound")
	case err != nil:
		return nil, err
	}
	return nil, nil
}

func (a *API) deleteQoS(ctx context.Context, r *rest.Request) (any, error) {
	force := false
	if s := r.HTTP.URL.Query().Get("force"); s != "" {
		b, ok := truthy(s)
		if !ok {
			return nil, fault.BadRequest("Invalid value '%s' for force.", s)
		}
		force = b
	}
	id := r.Param("qos_id")
	switch err := a.db.DeleteQoS(ctx, id, force); {
	case errors.Is(err, store.ErrNotFound):
		return nil, qosNotFound(id)
	case errors.Is(err, store.ErrAssociated):
		return nil, fault.BadRequest("Qos specs still in use.").WithType("QoSSpecsInUse")
	case err != nil:
		return nil, err
	}
	return nil, nil
}

func (a *API) qosAssociations(ctx context.Context, r *rest.Request) (any, error) {
	id := r.Param("qos_id")
	if _, err := a.getQoS(ctx, id); err != nil {
		return nil, err
	}
	ts, err := a.db.QoSTypes(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		out = append(out, map[string]any{"association_type": "volume_type", "name": t.Name, "id": t.ID})
	}
	return map[string]any{"qos_associations": out}, nil
}

// qosTarget loads the QoS specs and the vol_type_id of an (dis)associate.
func (a *API) qosTarget(ctx context.Context, r *rest.Request) (*store.QoS, *store.Type, error) {
	typeID := r.HTTP.URL.Query().Get("vol_type_id")
	if typeID == "" {
		return nil, nil, fault.BadRequest("Volume Type id must not be None.")
	}
	q, err := a.getQoS(ctx, r.Param("qos_id"))
	if err != nil {
		return nil, nil, err
	}
	t, err := a.db.GetType(ctx, typeID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, typeNotFound(typeID)
	}
	return q, t, err
}

func (a *API) associateQoS(ctx context.Context, r *rest.Request) (any, error) {
	q, t, err := a.qosTarget(ctx, r)
	if err != nil {
		return nil, err
	}
	switch err := a.db.AssociateQoS(ctx, q.ID, t.ID); {
	case errors.Is(err, store.ErrAssociated):
		cur, _ := a.db.GetType(ctx, t.ID)
		other := ""
		if cur != nil {
			other = cur.QoSSpecsID
		}
		return nil, fault.BadRequest("Invalid volume type: Type %s is already associated with another qos specs: %s", t.ID, other).WithType("InvalidVolumeType")
	case errors.Is(err, store.ErrNotFound):
		return nil, typeNotFound(t.ID)
	case err != nil:
		return nil, err
	}
	return nil, nil
}

func (a *API) disassociateQoS(ctx context.Context, r *rest.Request) (any, error) {
	q, t, err := a.qosTarget(ctx, r)
	if err != nil {
		return nil, err
	}
	return nil, a.db.DisassociateQoS(ctx, q.ID, t.ID)
}

func (a *API) disassociateAllQoS(ctx context.Context, r *rest.Request) (any, error) {
	q, err := a.getQoS(ctx, r.Param("qos_id"))
	if err != nil {
		return nil, err
	}
	return nil, a.db.DisassociateQoS(ctx, q.ID, "")
}

// qosTuneKeys are the front-end limits that may be given per GiB of the
// volume (<key>_per_gb, floored by <key>_per_gb_min, capped by <key>_max).
var qosTuneKeys = []string{"read_iops_sec", "read_bytes_sec", "write_iops_sec", "write_bytes_sec", "total_iops_sec", "total_bytes_sec"}

// frontEndQoS is the qos_specs of a volume's connection_info: its type's
// QoS specs when the hypervisor is to apply them (consumer front-end or
// both), with the per-GiB limits worked out for the volume's size; nil
// otherwise.
func (a *API) frontEndQoS(ctx context.Context, v *store.Volume) map[string]any {
	t, err := a.db.GetTypeAny(ctx, v.TypeID)
	if err != nil || t.QoSSpecsID == "" {
		return nil
	}
	q, err := a.db.GetQoS(ctx, t.QoSSpecsID)
	if err != nil || q.Consumer == "back-end" {
		return nil
	}
	out := map[string]any{}
	for k, val := range q.Specs {
		out[k] = val
	}
	num := func(k string) (int64, bool) {
		s, ok := out[k].(string)
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	for _, k := range qosTuneKeys {
		per, ok := num(k + "_per_gb")
		if !ok {
			continue
		}
		val := per * int64(v.Size)
		if lo, ok := num(k + "_per_gb_min"); ok && lo > val {
			val = lo
		}
		if hi, ok := num(k + "_max"); ok && hi < val {
			val = hi
		}
		delete(out, k+"_per_gb")
		delete(out, k+"_per_gb_min")
		delete(out, k+"_max")
		out[k] = val
	}
	return out
}
