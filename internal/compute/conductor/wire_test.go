package conductor

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/store"
)

// fill sets every field of v (a pointer to a struct) to a non-zero value,
// so that a field the JSON encoding drops or renames shows.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(1.5)
	}
}

// The agent sends rpc's messages and the conductor decodes them; the store's
// types are what the wire carried before rpc had its own. The same value
// must encode to the same JSON both ways, or an agent and a conductor of
// neighbouring commits would misread each other.
func TestWireMessagesEncodeAsTheStoreTypes(t *testing.T) {
	var sv rpc.Save
	fill(reflect.ValueOf(&sv).Elem())
	var mc rpc.MigrationChange
	fill(reflect.ValueOf(&mc).Elem())
	cases := []struct {
		name      string
		wire, db  any
		wantField string
	}{
		{"save", sv, storeSave(sv), `"release_quota"`},
		{"migration", mc, store.MigrationUpdate(mc), `"expect_status"`},
		{"events", sv.Start, storeEvents(sv.Start), `"request_id"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := json.Marshal(c.wire)
			if err != nil {
				t.Fatal(err)
			}
			d, err := json.Marshal(c.db)
			if err != nil {
				t.Fatal(err)
			}
			if string(w) != string(d) {
				t.Errorf("rpc encodes\n%s\nstore encodes\n%s", w, d)
			}
			if !strings.Contains(string(w), c.wantField) {
				t.Errorf("%s lacks %s: the value was not filled", w, c.wantField)
			}
		})
	}
	if storeEvents(nil) != nil {
		t.Error("no events became an empty, non-nil list")
	}
}

func TestProtocolMismatchRefused(t *testing.T) {
	for _, c := range []struct {
		protocol int
		ok       bool
	}{{0, rpc.Version == 1}, {rpc.Version, true}, {rpc.Version + 1, false}} {
		err := checkProtocol(rpc.ServiceReportArgs{Host: "h1", Binary: "nova-compute", Protocol: c.protocol})
		if (err == nil) != c.ok {
			t.Errorf("protocol %d: err %v, want ok=%v", c.protocol, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "h1") {
			t.Errorf("refusal %q does not name the host", err)
		}
	}
}
