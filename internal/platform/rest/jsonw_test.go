package rest

import (
	"encoding/json"
	"reflect"
	"testing"
)

type encInner struct {
	NetworkID string   `json:"network_id"`
	SNAT      bool     `json:"enable_snat"`
	IPs       []string `json:"external_fixed_ips"`
}

type encBase struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Subnets []string       `json:"subnets"`
	Seg     *int           `json:"provider:segmentation_id"`
	MTU     int            `json:"mtu"`
	Details map[string]any `json:"binding:vif_details"`
	GW      *encInner      `json:"external_gateway_info"`
	Any     any            `json:"profile"`
}

type encRow struct {
	encBase
	Private string
	Skip    string `json:"-"`
}

func TestEncoderMatchesEncodingJSON(t *testing.T) {
	seg := 7
	vals := []any{
		encBase{ID: "n\"1\\\n\x01", Name: "ünï <&> \u2028", Subnets: []string{"a", "b"}, Seg: &seg, MTU: 1450,
			Details: map[string]any{"port_filter": true}, GW: &encInner{NetworkID: "x", SNAT: true, IPs: []string{}}},
		encBase{},
	}
	for _, v := range vals {
		rv := reflect.ValueOf(v)
		got := EncoderFor(rv.Type()).Append(nil, rv, nil, nil)
		var a, b map[string]any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("invalid JSON %s: %v", got, err)
		}
		want, _ := json.Marshal(v)
		_ = json.Unmarshal(want, &b)
		// nil slices are [] here, null in encoding/json; maps likewise.
		for k, bv := range b {
			if bv == nil {
				if l, ok := a[k].([]any); ok && len(l) == 0 {
					continue
				}
				if m, ok := a[k].(map[string]any); ok && len(m) == 0 {
					continue
				}
			}
			if !reflect.DeepEqual(a[k], bv) {
				t.Errorf("%s = %#v, want %#v", k, a[k], bv)
			}
		}
		if len(a) != len(b) {
			t.Errorf("%d keys, want %d: %s", len(a), len(b), got)
		}
	}
	// Embedded structs flatten; untagged and "-" fields stay private.
	r := encRow{encBase: encBase{ID: "r", GW: &encInner{NetworkID: "x", SNAT: true, IPs: []string{}}}, Private: "p", Skip: "s"}
	rv := reflect.ValueOf(r)
	got := EncoderFor(rv.Type()).Append(nil, rv, Fields{"id": true, "external_gateway_info": true}, nil)
	if string(got) != `{"id":"r","external_gateway_info":{"network_id":"x","enable_snat":true,"external_fixed_ips":[]}}` {
		t.Fatalf("fields: %s", got)
	}
	got = EncoderFor(rv.Type()).Append(nil, rv, Fields{"id": true, "name": true}, []string{"name"})
	if string(got) != `{"id":"r"}` {
		t.Fatalf("hidden: %s", got)
	}
	if v, ok := EncoderFor(rv.Type()).FieldValue(rv, "id"); !ok || v.String() != "r" {
		t.Fatalf("FieldValue(id) = %v, %v", v, ok)
	}
	if _, ok := EncoderFor(rv.Type()).FieldValue(rv, "Private"); ok {
		t.Fatal("FieldValue found an untagged field")
	}
}

func TestAppendString(t *testing.T) {
	for in, want := range map[string]string{
		"plain":          `"plain"`,
		"q\"b\\":         `"q\"b\\"`,
		"\n\r\t\b\f":     `"\n\r\t\b\f"`,
		"\x00\x1f":       `"\u0000\u001f"`,
		"日本\u2028\u2029": `"日本\u2028\u2029"`,
		"bad\xffutf8":    `"bad\ufffdutf8"`,
	} {
		if got := string(AppendString(nil, in)); got != want {
			t.Errorf("AppendString(%q) = %s, want %s", in, got, want)
		}
	}
}

// FuzzAppendString: the output is valid JSON that decodes to the input
// as encoding/json's output does (invalid UTF-8 replaced the same way).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00\u2028", "\xff\xfe", "日本語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: invalid JSON: %v", s, out, err)
		}
		var viaStd string
		raw, _ := json.Marshal(s)
		_ = json.Unmarshal(raw, &viaStd)
		if back != viaStd {
			t.Fatalf("AppendString(%q) decodes to %q, encoding/json's to %q", s, back, viaStd)
		}
	})
}
